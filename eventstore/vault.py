"""The key vault on PostgreSQL: table personal_data_keys (eventstore/sql/migrations/002)
and, beside it, the identity claims: table identity_digests (009)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import asyncpg

from eventstore.database import Conn, Reader


class _Claims:
    """The brand's identity claims on the connection that holds their lock."""

    def __init__(self, conn: Conn, tenant: str) -> None:
        self.conn = conn
        self.tenant = tenant

    async def holder(self, digest: bytes) -> str | None:
        found: str | None = await self.conn.fetchval(
            "SELECT agent FROM identity_digests WHERE tenant = $1 AND digest = $2",
            self.tenant, digest,
        )
        return found

    async def claim(self, digest: bytes, agent: str) -> None:
        await self.conn.execute(
            "INSERT INTO identity_digests (tenant, digest, agent) VALUES ($1, $2, $3)"
            " ON CONFLICT (tenant, digest) DO UPDATE SET agent = EXCLUDED.agent,"
            " claimed_at = now()",
            self.tenant, digest, agent,
        )


class PostgresKeyVault:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        # One holder of a tenant's identity lock per process at a time: a join waits
        # here without a connection, so joins at once cannot take the whole pool while
        # each waits for the writer, which needs one to record them.
        self._local: dict[str, asyncio.Lock] = {}

    @asynccontextmanager
    async def identities(self, tenant: str) -> AsyncIterator[_Claims]:
        """The tenant's identity claims under its advisory lock (a session lock: the
        join records its events on the writer's connection, in another transaction,
        while it holds this one), so joins across processes take turns."""
        async with self._local.setdefault(tenant, asyncio.Lock()), self.pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))",
                               f"identities:{tenant}")
            try:
                yield _Claims(conn, tenant)
            finally:
                await conn.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))",
                                   f"identities:{tenant}")

    async def erase_identity(self, tenant: str, agent: str) -> None:
        await self.pool.execute(
            "DELETE FROM identity_digests WHERE tenant = $1 AND agent = $2", tenant, agent
        )

    async def key_for(self, tenant: str, subject: str) -> bytes:
        # Insert-or-keep in one statement, then read: two concurrent first uses agree
        # on one key (the loser's random bytes are discarded by ON CONFLICT).
        async with self.pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO personal_data_keys (tenant, subject, key) VALUES ($1, $2, $3) "
                "ON CONFLICT (tenant, subject) DO NOTHING",
                tenant,
                subject,
                os.urandom(32),
            )
            key = await conn.fetchval(
                "SELECT key FROM personal_data_keys WHERE tenant = $1 AND subject = $2",
                tenant,
                subject,
            )
        if key is None:  # destroyed between the two statements
            raise LookupError(f"key for {subject} was destroyed meanwhile")
        return bytes(key)

    async def get(self, tenant: str, subject: str) -> bytes | None:
        key = await self.pool.fetchval(
            "SELECT key FROM personal_data_keys WHERE tenant = $1 AND subject = $2",
            tenant,
            subject,
        )
        return None if key is None else bytes(key)

    async def destroy(self, tenant: str, subject: str) -> bool:
        status = await self.pool.execute(
            "DELETE FROM personal_data_keys WHERE tenant = $1 AND subject = $2",
            tenant,
            subject,
        )
        return bool(status.endswith(" 1"))


async def keys_of(db: Reader, tenant: str, subjects: Sequence[str]) -> dict[str, bytes]:
    """The keys of those `subjects` that still have one (a forgotten agent's is gone), on
    `db`: the export asks inside its own snapshot."""
    rows = await db.fetch(
        "SELECT subject, key FROM personal_data_keys WHERE tenant = $1"
        " AND subject = ANY($2::text[])",
        tenant, list(subjects),
    )
    return {r["subject"]: bytes(r["key"]) for r in rows}
