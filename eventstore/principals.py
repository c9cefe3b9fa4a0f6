"""Principals and their bearer tokens, at rest in tables `principals` and `api_tokens`
(eventstore/sql/migrations), beside the key vault: the API and the CLI ask here.

A token is `wl_` + 32 random bytes (url-safe base64), shown once when issued and stored
only as sha256 of itself: a high-entropy secret needs no slow password hash, and the
table alone never lets anyone call the API. Tokens expire and can be revoked.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from config.settings import TOKEN_MAX_DAYS
from eventstore.database import Conn
from eventstore.database import Reader as Db


class Role(StrEnum):
    ADMIN = "admin"  # HQ admin: every command and read
    OPERATIONS = "operations"  # HQ operations: agents, stock, sales, settlement
    COMPLIANCE = "compliance"  # compliance officer: policy, alerts, disputes, erasure
    AUDITOR = "auditor"  # reads everything HQ reads, changes nothing
    REGULATOR = "regulator"  # exports only
    AGENT = "agent"  # itself, its stock and sales, its statements, its downline's summary


# HQ's people: they read the whole brand (api/deps.py) and sign in to the console
# (eventstore/sign_in.py).
HQ_ROLES = (Role.ADMIN, Role.OPERATIONS, Role.COMPLIANCE, Role.AUDITOR)


@dataclass(frozen=True, slots=True)
class Principal:
    tenant: str
    principal: str
    name: str
    role: Role
    agent: str | None = None

    @property
    def actor(self) -> str:
        """How events name who said so: role and principal id (never a secret)."""
        return f"{self.role.value}:{self.principal}"


@dataclass(frozen=True, slots=True)
class Issued:
    principal: Principal
    token: str  # the secret: print once, never store or log
    expires_at: datetime


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class PrincipalError(ValueError):
    pass


async def create_principal(
    db: Db,
    tenant: str,
    role: Role,
    name: str,
    agent: str | None = None,
) -> Principal:
    if (role is Role.AGENT) != (agent is not None):
        raise PrincipalError("an agent principal needs --agent, and only it")
    if agent is not None:
        row = await db.fetchrow(
            "SELECT principal, name FROM principals WHERE tenant = $1 AND agent = $2",
            tenant, agent,
        )
        if row is not None:
            return Principal(tenant, row["principal"], row["name"], role, agent)
    principal = Principal(tenant, f"p-{secrets.token_hex(8)}", name, role, agent)
    await db.execute(
        "INSERT INTO principals (tenant, principal, name, role, agent) VALUES ($1, $2, $3, $4, $5)",
        tenant, principal.principal, name, role.value, agent,
    )
    return principal


async def issue_token(
    db: Db, principal: Principal, days: float = TOKEN_MAX_DAYS, *,
    max_days: float = TOKEN_MAX_DAYS,
) -> Issued:
    """A new token of `principal` that expires in `days` (above 0, at most `max_days`)."""
    if not 0 < days <= max_days:  # NaN too
        raise PrincipalError(f"a token lives more than 0 and at most {max_days:g} days,"
                             f" not {days:g}")
    token = "wl_" + secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + timedelta(days=days)
    await db.execute(
        "INSERT INTO api_tokens (tenant, token_hash, principal, label, expires_at)"
        " VALUES ($1, $2, $3, $4, $5)",
        principal.tenant, token_hash(token), principal.principal, token[:9], expires,
    )
    return Issued(principal, token, expires)


async def has_admin(db: Db, tenant: str) -> bool:
    found = await db.fetchval(
        "SELECT 1 FROM principals WHERE tenant = $1 AND role = 'admin' LIMIT 1", tenant
    )
    return found is not None


async def revoke(db: Db, tenant: str, principal: str) -> int:
    """Revoke every live token of a principal; how many were revoked."""
    status = await db.execute(
        "UPDATE api_tokens SET revoked_at = now()"
        " WHERE tenant = $1 AND principal = $2 AND revoked_at IS NULL",
        tenant, principal,
    )
    return int(status.split()[-1])


async def list_principals(db: Db, tenant: str) -> list[Principal]:
    rows = await db.fetch(
        "SELECT principal, name, role, agent FROM principals WHERE tenant = $1"
        " ORDER BY created_at, principal",
        tenant,
    )
    return [Principal(tenant, r["principal"], r["name"], Role(r["role"]), r["agent"])
            for r in rows]


async def principal_of(db: Db, tenant: str, digest: bytes) -> Principal | None:
    """Whose live (unexpired, unrevoked) token has this `token_hash`."""
    row = await db.fetchrow(
        "SELECT p.principal, p.name, p.role, p.agent FROM api_tokens t"
        " JOIN principals p ON p.tenant = t.tenant AND p.principal = t.principal"
        " WHERE t.tenant = $1 AND t.token_hash = $2 AND t.revoked_at IS NULL"
        " AND t.expires_at > now()",
        tenant, digest,
    )
    return None if row is None else Principal(
        tenant, row["principal"], row["name"], Role(row["role"]), row["agent"]
    )


async def lock_principals(conn: Conn, tenant: str) -> None:
    """Hold the tenant's principals until `conn`'s transaction ends, so that two first
    admins created at once cannot both find none."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('principals:' || $1))", tenant)
