"""Every console route (the table of tests/api/test_authorisation.py), called in
process with a session of every role: an admitted role is served, any other HQ role is
refused (403) on the server, and nobody signed in, an agent or a regulator (whose
sessions open nothing, however made) is sent to sign in. An htmx request is told where
to sign in with HX-Redirect, and a partial comes without the layout."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from console.pages import SESSION_COOKIE
from eventstore.principals import Role, create_principal
from eventstore.sign_in import open_session, set_password
from tests.api.conftest import Api, running_api
from tests.api.test_authorisation import ALLOWED, CONSOLE

ORIGIN = {"Origin": "http://api"}


@pytest.fixture
async def api(database_url: str, tenant: str) -> AsyncIterator[Api]:
    async with running_api(database_url, tenant) as found:
        yield found


async def session_of(api: Api, role: Role, username: str | None = None) -> str:
    pool = api.app.state.services.pool
    principal = await create_principal(pool, api.tenant, role, f"test {role.value}",
                                       "A1" if role is Role.AGENT else None)
    if role in (Role.ADMIN, Role.OPERATIONS, Role.COMPLIANCE, Role.AUDITOR):
        await set_password(pool, principal, username or f"u-{role.value}-{id(principal)}",
                           "a long password")
    return await open_session(pool, principal, timedelta(hours=1))


async def csrf(client: httpx.AsyncClient) -> str:
    """The CSRF token of the client's cookie (the sign-in page sets both)."""
    page = await client.get("/console/sign-in")
    found = re.search(r'name="csrftoken" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


async def call(client: httpx.AsyncClient, name: str, token: str,
               headers: dict[str, str] | None = None) -> httpx.Response:
    method, path = name.split()
    url = path.replace("{username}", "u-admin").replace("{agent}", "A1").replace(
        "{position}", "1")
    if method == "GET":
        return await client.get(url, headers=headers)
    return await client.post(url, headers={**ORIGIN, **(headers or {})},
                             data={"csrftoken": token, "password": "another long one"})


@pytest.mark.parametrize("role", [*Role, None])
async def test_each_role_reaches_exactly_its_console_pages(api: Api, role: Role | None
                                                           ) -> None:
    await session_of(api, Role.ADMIN, "u-admin")  # whose password the reset route sets
    client = api.client
    if role is not None:
        client.cookies.set(SESSION_COOKIE, await session_of(api, role))
    token = await csrf(client)
    signed_in = role in (Role.ADMIN, Role.OPERATIONS, Role.COMPLIANCE, Role.AUDITOR)
    # signing out last: it ends the session
    for name in sorted(CONSOLE, key=lambda name: (name == "POST /console/sign-out", name)):
        answer = await call(client, name, token)
        if not signed_in:
            assert answer.status_code == 303, (name, role, answer.status_code)
            assert answer.headers["location"].startswith("/console/sign-in?then=")
        elif role is not None and role.value in ALLOWED[name]:
            # 404: an agent's or an event's page, of a brand that has none yet
            assert answer.status_code in (200, 303, 404, 422), (name, role, answer.status_code)
            assert "?then=" not in answer.headers.get("location", ""), (name, role)
        else:
            assert answer.status_code == 403, (name, role, answer.status_code)


async def test_htmx_gets_a_partial_and_is_told_where_to_sign_in(api: Api) -> None:
    client = api.client
    hx = {"HX-Request": "true"}
    answer = await client.get("/console/overview/chain", headers=hx)
    assert answer.status_code == 401
    assert answer.headers["HX-Redirect"] == "/console/sign-in?then=/console/overview/chain"
    client.cookies.set(SESSION_COOKIE, await session_of(api, Role.AUDITOR))
    answer = await client.get("/console/overview/chain", headers=hx)
    assert answer.status_code == 200
    assert answer.text.lstrip().startswith('<div class="tile" id="chain"')
    assert "<html" not in answer.text and "链头位置" in answer.text


async def test_over_https_the_cookies_are_secure(api: Api) -> None:
    principal = await create_principal(api.app.state.services.pool, api.tenant,
                                       Role.OPERATIONS, "over https")
    await set_password(api.app.state.services.pool, principal, "secure-one", "a long password")
    transport = httpx.ASGITransport(app=api.app)
    async with httpx.AsyncClient(transport=transport, base_url="https://api") as client:
        token = await csrf(client)
        assert [c.secure for c in client.cookies.jar if c.name == "wl_csrf"] == [True]
        answer = await client.post("/console/sign-in", headers={"Origin": "https://api"},
                                   data={"csrftoken": token, "username": "secure-one",
                                         "password": "a long password"})
        assert answer.status_code == 303
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=")
        assert all(part in cookie for part in ("HttpOnly", "Secure", "SameSite=strict",
                                               "Path=/console"))
