"""People's sign-in to the HQ console, at rest in `console_logins` and `console_sessions`
(eventstore/sql/migrations/011_console_sign_in.sql), beside the principals it signs in.

A password is kept only as its argon2id hash. Wrong passwords in a row lock the login
for a while, doubling with each further miss. A session is a random secret in the
person's cookie, stored only as its sha256 (as a bearer token is): it ends when signed
out, after an idle spell, at its absolute end, or when its password is set anew.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from eventstore.database import Reader as Db
from eventstore.principals import HQ_ROLES, Principal, PrincipalError, Role

# Who may sign in to the console: HQ's people. An agent has its own (future) app, and a
# regulator takes exports.
CONSOLE_ROLES = HQ_ROLES
MIN_PASSWORD = 10
_hasher = PasswordHasher()  # argon2id with the library's (RFC 9106) parameters
# Checked when the username is unknown, so that such a miss takes as long as a wrong
# password and does not tell which usernames exist.
_NOBODY = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise PrincipalError(f"a password has at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def _matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True, slots=True)
class Lockout:
    after: int  # misses in a row before the first wait
    seconds: float  # the first wait, doubled with each further miss
    max_seconds: float

    def until(self, misses: int, now: datetime) -> datetime | None:
        if misses < self.after:
            return None
        wait = min(self.seconds * 2 ** (misses - self.after), self.max_seconds)
        return now + timedelta(seconds=wait)


@dataclass(frozen=True, slots=True)
class SignIn:
    """What a sign-in came to: a principal, or why not (`locked_until` while locked)."""

    principal: Principal | None
    locked_until: datetime | None = None


async def set_password(db: Db, principal: Principal, username: str, password: str) -> None:
    """Give `principal` a console login, or set its password anew (an admin's reset):
    its misses are forgiven and every session it had ends."""
    if principal.role not in CONSOLE_ROLES:
        raise PrincipalError(f"the {principal.role.value} role does not sign in to the console")
    digest = await asyncio.to_thread(hash_password, password)
    taken = await db.fetchval(
        "SELECT principal FROM console_logins WHERE tenant = $1 AND username = $2",
        principal.tenant, username,
    )
    if taken is not None and taken != principal.principal:
        raise PrincipalError(f"the username {username} is taken")
    await db.execute(
        "INSERT INTO console_logins (tenant, principal, username, password_hash)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (tenant, principal) DO UPDATE SET"
        " username = $3, password_hash = $4, misses = 0, locked_until = NULL,"
        " changed_at = now()",
        principal.tenant, principal.principal, username, digest,
    )
    await db.execute(
        "UPDATE console_sessions SET ended_at = now()"
        " WHERE tenant = $1 AND principal = $2 AND ended_at IS NULL",
        principal.tenant, principal.principal,
    )


async def sign_in(db: Db, tenant: str, username: str, password: str, lockout: Lockout
                  ) -> SignIn:
    row = await db.fetchrow(
        "SELECT l.principal, l.password_hash, l.misses, l.locked_until, p.name, p.role"
        " FROM console_logins l JOIN principals p"
        " ON p.tenant = l.tenant AND p.principal = l.principal"
        " WHERE l.tenant = $1 AND l.username = $2",
        tenant, username,
    )
    now = datetime.now(UTC)
    if row is None:
        await asyncio.to_thread(_matches, _NOBODY, password)
        return SignIn(None)
    if row["locked_until"] is not None and row["locked_until"] > now:
        return SignIn(None, row["locked_until"])
    if not await asyncio.to_thread(_matches, row["password_hash"], password):
        misses = row["misses"] + 1
        until = lockout.until(misses, now)
        await db.execute(
            "UPDATE console_logins SET misses = $3, locked_until = $4"
            " WHERE tenant = $1 AND principal = $2",
            tenant, row["principal"], misses, until,
        )
        return SignIn(None, until)
    if row["misses"]:
        await db.execute(
            "UPDATE console_logins SET misses = 0, locked_until = NULL"
            " WHERE tenant = $1 AND principal = $2", tenant, row["principal"],
        )
    role = Role(row["role"])
    if role not in CONSOLE_ROLES:  # a login given before its role left the console
        return SignIn(None)
    return SignIn(Principal(tenant, row["principal"], row["name"], role))


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


async def open_session(db: Db, principal: Principal, lifetime: timedelta) -> str:
    """A new session's secret (for the cookie only: never stored or logged)."""
    secret = secrets.token_urlsafe(32)
    await db.execute(
        "INSERT INTO console_sessions (tenant, session_hash, principal, expires_at)"
        " VALUES ($1, $2, $3, now() + $4::interval)",
        principal.tenant, _digest(secret), principal.principal, lifetime,
    )
    return secret


async def session_principal(db: Db, tenant: str, secret: str, idle: timedelta
                            ) -> Principal | None:
    """Who holds this live session (and it was seen now), or None: unknown, ended,
    idle longer than `idle`, or past its absolute end."""
    row = await db.fetchrow(
        "UPDATE console_sessions s SET seen_at = now() FROM principals p"
        " WHERE s.tenant = $1 AND s.session_hash = $2 AND s.ended_at IS NULL"
        " AND s.expires_at > now() AND s.seen_at > now() - $3::interval"
        " AND p.tenant = s.tenant AND p.principal = s.principal"
        " RETURNING p.principal, p.name, p.role",
        tenant, _digest(secret), idle,
    )
    if row is None or Role(row["role"]) not in CONSOLE_ROLES:
        return None
    return Principal(tenant, row["principal"], row["name"], Role(row["role"]))


async def end_session(db: Db, tenant: str, secret: str) -> None:
    await db.execute(
        "UPDATE console_sessions SET ended_at = now()"
        " WHERE tenant = $1 AND session_hash = $2 AND ended_at IS NULL",
        tenant, _digest(secret),
    )


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    principal: Principal
    username: str
    locked_until: datetime | None


async def console_users(db: Db, tenant: str) -> list[ConsoleUser]:
    """Who may sign in to the console (a login whose role may not is nobody's)."""
    rows = await db.fetch(
        "SELECT p.principal, p.name, p.role, l.username, l.locked_until"
        " FROM console_logins l JOIN principals p"
        " ON p.tenant = l.tenant AND p.principal = l.principal"
        " WHERE l.tenant = $1 AND p.role = ANY($2::text[]) ORDER BY l.username",
        tenant, [role.value for role in CONSOLE_ROLES],
    )
    return [ConsoleUser(Principal(tenant, r["principal"], r["name"], Role(r["role"])),
                        r["username"], r["locked_until"]) for r in rows]


async def login_principal(db: Db, tenant: str, username: str) -> Principal | None:
    row = await db.fetchrow(
        "SELECT p.principal, p.name, p.role FROM console_logins l JOIN principals p"
        " ON p.tenant = l.tenant AND p.principal = l.principal"
        " WHERE l.tenant = $1 AND l.username = $2",
        tenant, username,
    )
    return None if row is None else Principal(tenant, row["principal"], row["name"],
                                              Role(row["role"]))
