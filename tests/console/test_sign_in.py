"""Signing in to the console in a real browser: the right password, a wrong one, the
lockout, signing out, sessions that end by themselves, CSRF and Origin, an agent, an
auditor who may look but not act, the language, and /docs offline."""

from __future__ import annotations

import asyncpg
import pytest
from playwright.async_api import Page

from eventstore.principals import Role, create_principal
from eventstore.sign_in import hash_password
from tests.console.conftest import (
    ServedConsole,
    requests_of,
    screenshots,
    sign_in,
    submit,
)

# Each drives Chromium against a `weiledger serve` subprocess.
pytestmark = pytest.mark.slow


async def field_token(page: Page) -> str:
    token = await page.get_attribute("input[name=csrftoken]", "value")
    assert token
    return token


async def test_sign_in_lands_on_the_page_asked_for_and_sign_out_ends_the_session(
    page: Page, console: ServedConsole,
) -> None:
    username, password = await console.user("operations", "王运营")
    await page.goto(f"{console.url}/console/users")
    assert page.url.startswith(f"{console.url}/console/sign-in?then=/console/users")
    assert await page.inner_text("h1") == "登录"
    await screenshots(page, "sign-in")
    await sign_in(page, console, username, password, then="/console/users")
    assert page.url == f"{console.url}/console/users"
    assert await page.inner_text("h1") == "用户"
    assert "王运营 · 运营" in await page.inner_text("header .user")
    assert await page.evaluate("typeof htmx + ' ' + typeof echarts") == "object undefined"
    cookie = next(c for c in await page.context.cookies() if c["name"] == "wl_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    await submit(page, "text=退出")
    assert page.url == f"{console.url}/console/sign-in"
    await page.goto(f"{console.url}/console/")
    assert "/console/sign-in" in page.url  # the session is over on the server


async def test_a_wrong_password_signs_nobody_in(page: Page, console: ServedConsole) -> None:
    username, _ = await console.user("compliance")
    await sign_in(page, console, username, "not the password")
    assert await page.inner_text("[role=alert]") == "用户名或密码错误。"
    await screenshots(page, "sign-in-wrong-password")
    assert not [c for c in await page.context.cookies() if c["name"] == "wl_session"]
    await sign_in(page, console, "nobody-at-all", "not the password")
    assert await page.inner_text("[role=alert]") == "用户名或密码错误。"  # the same words


async def test_five_wrong_passwords_lock_the_login_even_against_the_right_one(
    page: Page, console: ServedConsole,
) -> None:
    username, password = await console.user("auditor")
    for _miss in range(4):
        await sign_in(page, console, username, "wrong")
        assert await page.inner_text("[role=alert]") == "用户名或密码错误。"
    await sign_in(page, console, username, "wrong")
    assert "密码错误次数过多" in await page.inner_text("[role=alert]")
    await sign_in(page, console, username, password)
    assert "密码错误次数过多" in await page.inner_text("[role=alert]")
    assert "/console/sign-in" in page.url


@pytest.mark.parametrize("ending", ["idle", "absolute"])
async def test_a_session_ends_by_itself(page: Page, console: ServedConsole,
                                        database_url: str, ending: str) -> None:
    """Idle longer than WEILEDGER_SESSION_IDLE_MINUTES (30), or past its absolute end
    (WEILEDGER_SESSION_MAX_HOURS): the next page asks to sign in again."""
    username, password = await console.user("admin")
    await sign_in(page, console, username, password)
    assert await page.inner_text("h1") == "总览"
    change = ("seen_at = now() - interval '31 minutes'" if ending == "idle"
              else "expires_at = now() - interval '1 second'")
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            f"UPDATE console_sessions s SET {change} FROM console_logins l"
            " WHERE l.tenant = s.tenant AND l.principal = s.principal AND l.username = $1",
            username)
    finally:
        await conn.close()
    await page.goto(f"{console.url}/console/")
    assert "/console/sign-in" in page.url


async def test_a_post_without_its_csrf_token_or_from_elsewhere_is_refused(
    page: Page, console: ServedConsole,
) -> None:
    username, password = await console.user("admin")
    await sign_in(page, console, username, password, then="/console/users")
    token = await field_token(page)
    new = {"username": "", "name": "新人", "role": "operations", "password": "long enough pw"}
    own = {"Origin": console.url}
    cases = [
        ({**new, "username": "no-token"}, own, 403),
        ({**new, "username": "bad-token", "csrftoken": token[:-2] + "xx"}, own, 403),
        ({**new, "username": "elsewhere", "csrftoken": token}, {"Origin": "http://evil.example"},
         403),
        ({**new, "username": "no-origin", "csrftoken": token}, {}, 403),
        ({**new, "username": "with-token", "csrftoken": token}, own, 200),
    ]
    for form, headers, status in cases:
        answer = await page.request.post(f"{console.url}/console/users", form=form,
                                         headers=headers, max_redirects=0)
        assert answer.status == status, (form["username"], answer.status, await answer.text())
        if status == 403:
            assert (await answer.text()).startswith("已拒绝："), await answer.text()
    # htmx sends the token itself (base.html's hx-headers), as a page's actions will
    await page.goto(f"{console.url}/console/users")
    await page.evaluate("""htmx.ajax('POST', '/console/users', {target: 'main', swap:
        'innerHTML', values: {username: 'by-htmx', name: 'htmx', role: 'auditor',
        password: 'long enough pw'}})""")
    await page.wait_for_selector("text=已创建 by-htmx。")
    await page.goto(f"{console.url}/console/users")
    listed = await page.inner_text("table.grid tbody")
    assert "with-token" in listed and "by-htmx" in listed
    assert not any(name in listed for name in ("no-token", "bad-token", "elsewhere",
                                               "no-origin"))


async def test_an_agent_is_refused_at_sign_in(page: Page, console: ServedConsole,
                                               database_url: str) -> None:
    """Even with a console login written straight into the table (the store refuses to
    give an agent one), an agent signs nobody in."""
    principal = await create_principal(console.pool, console.tenant, Role.AGENT, "代理 A9",
                                       "A9")
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "INSERT INTO console_logins (tenant, principal, username, password_hash)"
            " VALUES ($1, $2, 'agent-a9', $3)",
            console.tenant, principal.principal, hash_password("agent's password"))
    finally:
        await conn.close()
    await sign_in(page, console, "agent-a9", "agent's password")
    assert await page.inner_text("[role=alert]") == "用户名或密码错误。"
    assert not [c for c in await page.context.cookies() if c["name"] == "wl_session"]


async def test_an_auditor_sees_no_action_and_is_refused_when_it_acts_anyway(
    page: Page, console: ServedConsole,
) -> None:
    admin, _ = await console.user("admin")
    username, password = await console.user("auditor", "审计员")
    await sign_in(page, console, username, password, then="/console/users")
    assert await page.inner_text("h1") == "用户"
    assert admin in await page.inner_text("table.grid tbody")
    assert await page.locator("main button").count() == 0
    assert await page.locator("main form").count() == 0
    await screenshots(page, "users-auditor")
    token = await page.get_attribute("header input[name=csrftoken]", "value")
    assert token
    own = {"Origin": console.url}
    created = await page.request.post(
        f"{console.url}/console/users", headers=own, max_redirects=0,
        form={"csrftoken": token, "username": "by-auditor", "name": "x", "role": "admin",
              "password": "long enough pw"})
    assert created.status == 403
    assert "审计" in await created.text()
    reset = await page.request.post(
        f"{console.url}/console/users/{admin}/password", headers=own, max_redirects=0,
        form={"csrftoken": token, "password": "taken over, pw"})
    assert reset.status == 403
    await page.goto(f"{console.url}/console/users")
    assert "by-auditor" not in await page.inner_text("table.grid tbody")


async def test_an_admin_creates_a_user_and_resets_a_password_from_the_users_page(
    page: Page, console: ServedConsole, browser,
) -> None:
    admin, password = await console.user("admin")
    await sign_in(page, console, admin, password, then="/console/users")
    await page.fill("section.card input[name=username]", "zhang.san")
    await page.fill("section.card input[name=name]", "张三")
    await page.select_option("section.card select[name=role]", "compliance")
    await page.fill("section.card input[name=password]", "first password")
    await submit(page, "text=创建用户")
    assert await page.inner_text("[role=status]") == "已创建 zhang.san。"
    assert "张三" in await page.inner_text("table.grid tbody")
    await screenshots(page, "users-admin")
    row = page.locator("tr", has_text="zhang.san")
    await row.locator("input[name=password]").fill("second password")
    async with page.expect_navigation():
        await row.locator("button").click()
    assert await page.inner_text("[role=status]") == "已重设 zhang.san 的密码。"
    other = await browser.new_context()
    try:
        fresh = await other.new_page()
        await sign_in(fresh, console, "zhang.san", "first password")
        assert await fresh.inner_text("[role=alert]") == "用户名或密码错误。"
        await sign_in(fresh, console, "zhang.san", "second password")
        assert await fresh.inner_text("h1") == "总览"
    finally:
        await other.close()


async def test_the_language_is_switched_and_remembered(page: Page, console: ServedConsole
                                                       ) -> None:
    await page.goto(f"{console.url}/console/sign-in")
    assert await page.get_attribute("html", "lang") == "zh-CN"
    await submit(page, "button[value=en]")
    assert await page.inner_text("h1") == "Sign in"
    await page.goto(f"{console.url}/console/sign-in")
    assert await page.inner_text("h1") == "Sign in"
    assert await page.get_attribute("html", "lang") == "en"
    await screenshots(page, "sign-in-en")


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_the_api_docs_render_from_the_service_alone(page: Page, console: ServedConsole,
                                                          path: str) -> None:
    await page.goto(f"{console.url}{path}")
    title = ".swagger-ui .info .title" if path == "/docs" else "h1"
    await page.wait_for_selector(title, timeout=30_000)
    assert "weiledger" in await page.inner_text(title)
    await page.wait_for_load_state("networkidle")
    made = requests_of(page).made
    assert any(url.endswith(".js") for url in made)  # its script came, from the service
    assert requests_of(page).elsewhere == []
    await screenshots(page, path.strip("/"), full_page=False)  # every operation: too long
