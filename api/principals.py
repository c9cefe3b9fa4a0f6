"""Principals and their bearer tokens, at rest in tables `principals` and `api_tokens`.

A token is `wl_` + 32 random bytes (url-safe base64), shown once when issued and stored
only as sha256 of itself: a high-entropy secret needs no slow password hash, and the
table alone never lets anyone call the API. Tokens expire and can be revoked.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import asyncpg
from asyncpg.pool import PoolConnectionProxy

Db = asyncpg.Pool | asyncpg.Connection | PoolConnectionProxy


class Role(StrEnum):
    ADMIN = "admin"  # HQ admin: every command and read
    OPERATIONS = "operations"  # HQ operations: agents, stock, sales, settlement
    COMPLIANCE = "compliance"  # compliance officer: policy, alerts, disputes, erasure
    AUDITOR = "auditor"  # reads everything HQ reads, changes nothing
    REGULATOR = "regulator"  # exports only
    AGENT = "agent"  # itself, its stock and sales, its statements, its downline's summary


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
    db: Db, principal: Principal, days: float = 90
) -> Issued:
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


class TokenBook:
    """Looks a bearer token up, with a short cache so a busy client costs no query per
    call. A revocation takes effect within `ttl` seconds (one second by default)."""

    def __init__(self, pool: asyncpg.Pool, tenant: str, ttl: float = 1.0) -> None:
        self.pool = pool
        self.tenant = tenant
        self.ttl = ttl
        self._cache: dict[bytes, tuple[float, Principal | None]] = {}

    async def find(self, token: str) -> Principal | None:
        digest = token_hash(token)
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        row = await self.pool.fetchrow(
            "SELECT p.principal, p.name, p.role, p.agent FROM api_tokens t"
            " JOIN principals p ON p.tenant = t.tenant AND p.principal = t.principal"
            " WHERE t.tenant = $1 AND t.token_hash = $2 AND t.revoked_at IS NULL"
            " AND t.expires_at > now()",
            self.tenant, digest,
        )
        found = None if row is None else Principal(
            self.tenant, row["principal"], row["name"], Role(row["role"]), row["agent"]
        )
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (now + self.ttl, found)
        return found
