"""The key vault on PostgreSQL: table personal_data_keys (eventstore/sql/migrations/002)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import asyncpg

from eventstore.database import Reader


class PostgresKeyVault:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

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
