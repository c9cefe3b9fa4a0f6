"""The store's side of signing in (eventstore/sign_in.py) on PostgreSQL: the back-off,
who may hold a login, and what setting a password anew does to locks and sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from eventstore.principals import PrincipalError, Role, create_principal
from eventstore.sign_in import (
    Lockout,
    console_users,
    open_session,
    session_principal,
    set_password,
    sign_in,
)

LOCKOUT = Lockout(after=3, seconds=30, max_seconds=100)
IDLE = timedelta(minutes=30)


def test_the_wait_doubles_with_each_further_miss_up_to_its_ceiling() -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    waits = [LOCKOUT.until(misses, now) for misses in range(1, 7)]
    assert waits[:2] == [None, None]
    assert [(w - now).total_seconds() for w in waits[2:] if w] == [30, 60, 100, 100]


@pytest.mark.parametrize("role", [Role.AGENT, Role.REGULATOR])
async def test_only_hq_people_get_a_console_login(pool: asyncpg.Pool, tenant: str,
                                                  role: Role) -> None:
    principal = await create_principal(pool, tenant, role, "not HQ",
                                       "A1" if role is Role.AGENT else None)
    with pytest.raises(PrincipalError, match="does not sign in"):
        await set_password(pool, principal, "someone", "a long password")
    assert await console_users(pool, tenant) == []


async def test_a_short_password_and_a_taken_username_are_refused(pool: asyncpg.Pool,
                                                                 tenant: str) -> None:
    one = await create_principal(pool, tenant, Role.OPERATIONS, "one")
    two = await create_principal(pool, tenant, Role.OPERATIONS, "two")
    with pytest.raises(PrincipalError, match="at least 10"):
        await set_password(pool, one, "one", "short")
    await set_password(pool, one, "one", "a long password")
    with pytest.raises(PrincipalError, match="taken"):
        await set_password(pool, two, "one", "a long password")


async def test_a_new_password_lifts_the_lock_and_ends_every_session(pool: asyncpg.Pool,
                                                                    tenant: str) -> None:
    admin = await create_principal(pool, tenant, Role.ADMIN, "admin")
    await set_password(pool, admin, "boss", "the first password")
    session = await open_session(pool, admin, timedelta(hours=1))
    assert await session_principal(pool, tenant, session, IDLE) == admin
    for _miss in range(3):
        await sign_in(pool, tenant, "boss", "wrong", LOCKOUT)
    locked = await sign_in(pool, tenant, "boss", "the first password", LOCKOUT)
    assert locked.principal is None and locked.locked_until is not None
    await set_password(pool, admin, "boss", "the second password")
    assert await session_principal(pool, tenant, session, IDLE) is None
    assert (await sign_in(pool, tenant, "boss", "the second password", LOCKOUT)
            ).principal == admin
    assert (await sign_in(pool, tenant, "boss", "the first password", LOCKOUT)
            ).principal is None


async def test_a_session_is_its_brands_alone(pool: asyncpg.Pool, tenant: str) -> None:
    admin = await create_principal(pool, tenant, Role.ADMIN, "admin")
    session = await open_session(pool, admin, timedelta(hours=1))
    assert await session_principal(pool, f"{tenant}-other", session, IDLE) is None
    assert await session_principal(pool, tenant, session + "x", IDLE) is None
