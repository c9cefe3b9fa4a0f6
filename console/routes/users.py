"""Console users (HQ's people): every HQ role sees who may sign in; an admin creates
them and sets their passwords anew. The CLI does the same (`weiledger users`)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Form
from fastapi.responses import HTMLResponse

from console.i18n import N_
from console.pages import Admin, Reader, Visit, render
from console.routes import page_router
from eventstore.principals import PrincipalError, Role, create_principal, lock_principals
from eventstore.sign_in import (
    CONSOLE_ROLES,
    MIN_PASSWORD,
    console_users,
    login_principal,
    set_password,
)

router = page_router()
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")  # as console_logins checks it


async def users_page(visit: Visit, status: int = 200, **values: object) -> HTMLResponse:
    users = await console_users(visit.services.pool, visit.services.tenant)
    return render(visit, "users.html", status, users=users, roles=CONSOLE_ROLES,
                  min_password=MIN_PASSWORD, **values)


def refusal(username: str, password: str) -> str | None:
    if not USERNAME.match(username):
        return N_("A username is 2 to 64 lower-case letters, digits, dots, dashes or"
                  " underscores.")
    if len(password) < MIN_PASSWORD:
        return N_("A password has at least %(count)s characters.")
    return None


@router.get("/console/users")
async def users(visit: Reader) -> HTMLResponse:
    return await users_page(visit)


@router.post("/console/users")
async def create_user(
    visit: Admin,
    username: Annotated[str, Form(max_length=64)],
    name: Annotated[str, Form(min_length=1, max_length=100)],
    role: Annotated[Role, Form()],
    password: Annotated[str, Form(max_length=200)],
) -> HTMLResponse:
    services = visit.services
    username = username.strip().lower()
    wrong = refusal(username, password)
    if wrong is None and role not in CONSOLE_ROLES:
        wrong = N_("That role does not sign in to the console.")
    if wrong is None and await login_principal(services.pool, services.tenant, username):
        wrong = N_("That username is taken.")
    if wrong is not None:
        return await users_page(visit, 422, error=visit._(wrong, count=MIN_PASSWORD))
    async with services.pool.acquire() as conn, conn.transaction():
        await lock_principals(conn, services.tenant)
        principal = await create_principal(conn, services.tenant, role, name.strip())
        await set_password(conn, principal, username, password)
    return await users_page(visit, done=visit._("Created %(username)s.", username=username))


@router.post("/console/users/{username}/password")
async def reset_password(
    visit: Admin, username: str, password: Annotated[str, Form(max_length=200)],
) -> HTMLResponse:
    services = visit.services
    principal = await login_principal(services.pool, services.tenant, username)
    if principal is None:
        return await users_page(visit, 404, error=visit._("No such user."))
    wrong = refusal(username, password)
    if wrong is not None:
        return await users_page(visit, 422, error=visit._(wrong, count=MIN_PASSWORD))
    try:
        await set_password(services.pool, principal, username, password)
    except PrincipalError as error:  # its role left the console meanwhile
        return await users_page(visit, 422, error=str(error))
    return await users_page(visit, done=visit._("Password of %(username)s set.",
                                                username=username))
