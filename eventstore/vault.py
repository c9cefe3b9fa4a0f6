"""The key vault on PostgreSQL: table personal_data_keys, every key wrapped by the KEK,
and, beside it, the identity claims: table identity_digests (009).

The database holds each agent's data key only wrapped (eventstore/kek.py), and the id of
the KEK that wraps them all (personal_data_kek). `PostgresKeyVault.open` finds that KEK
in the keys folder (or the setting), creating the first one for a fresh database;
`wrap_legacy_keys` wraps, at the first start that finds them, the keys stored unwrapped
before migration 010; `rotate_kek` re-wraps every key under a new KEK and destroys the
old one. `destroy` (forget) deletes the wrapped key: a copy of the database taken
before it still holds that wrapped key, which the KEK rotation after the forget makes
useless (README: what a backup must hold and must never hold).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from eventstore.database import Conn, Reader
from eventstore.kek import Kek, KekError, KekFiles


async def _recorded_kek(conn: Conn) -> str | None:
    kek: str | None = await conn.fetchval("SELECT kek FROM personal_data_kek")
    return kek


async def current_kek(conn: Conn, files: KekFiles) -> Kek:
    """The KEK this database's keys are wrapped with; for a database that has none
    recorded and no wrapped key yet, the first one (created when none is at hand)."""
    ring = files.load()
    recorded = await _recorded_kek(conn)
    if recorded is None:
        if await conn.fetchval("SELECT EXISTS (SELECT FROM personal_data_keys"
                               " WHERE wrapped IS NOT NULL)"):
            raise KekError("personal data keys are wrapped, but no KEK is recorded")
        kek = next(iter(ring.values()), None) or files.create()
        await conn.execute("INSERT INTO personal_data_kek (kek) VALUES ($1)"
                           " ON CONFLICT DO NOTHING", kek.id)
        recorded = await _recorded_kek(conn)  # another process may have been first
    if recorded not in ring:
        ring = files.load()  # a process that created it meanwhile, or a rotation
        if recorded not in ring:
            raise KekError(f"personal data keys are wrapped with KEK {recorded}, which is not "
                           f"in {files.where()}: restore it from where it is kept (never "
                           "beside a copy of the database)")
    return ring[str(recorded)]


async def wrap_legacy_keys(conn: asyncpg.Connection, files: KekFiles) -> int:
    """Wrap the keys stored unwrapped before migration 010 (the owner's connection: the
    service may not update keys). Nothing to do, nothing read from the keys folder."""
    if not await conn.fetchval("SELECT EXISTS (SELECT FROM personal_data_keys"
                               " WHERE key IS NOT NULL)"):
        return 0
    async with conn.transaction():
        await conn.execute("LOCK TABLE personal_data_keys IN EXCLUSIVE MODE")
        kek = await current_kek(conn, files)
        rows = await conn.fetch("SELECT tenant, subject, key FROM personal_data_keys"
                                " WHERE key IS NOT NULL")
        await conn.executemany(
            "UPDATE personal_data_keys SET key = NULL, wrapped = $3, kek = $4"
            " WHERE tenant = $1 AND subject = $2",
            [(r["tenant"], r["subject"], kek.wrap(r["tenant"], r["subject"], bytes(r["key"])),
              kek.id) for r in rows])
    return len(rows)


async def rotate_kek(conn: asyncpg.Connection, files: KekFiles) -> tuple[str, str, int]:
    """Re-wrap every key under a new KEK, then delete every other KEK file. Returns
    (old id, new id, keys re-wrapped). No event is touched.

    The new file is on disk before the transaction that uses it commits, and the old one
    is deleted only after: a crash anywhere leaves the database wrapped by a KEK that is
    still in the folder (run it again to finish)."""
    if files.given is not None:
        raise KekError("the KEK is given by WEILEDGER_KEK: rotate it in the secret manager "
                       "and the database with it, or keep it as a file to rotate here")
    new = files.create()
    async with conn.transaction():
        # Keys are neither added nor deleted meanwhile; readers go on.
        await conn.execute("LOCK TABLE personal_data_keys, personal_data_kek IN EXCLUSIVE MODE")
        old = await current_kek(conn, files)
        rows = await conn.fetch("SELECT tenant, subject, key, wrapped FROM personal_data_keys")
        await conn.executemany(
            "UPDATE personal_data_keys SET key = NULL, wrapped = $3, kek = $4"
            " WHERE tenant = $1 AND subject = $2",
            [(r["tenant"], r["subject"],
              new.wrap(r["tenant"], r["subject"], data_key(old, r)), new.id) for r in rows])
        await conn.execute("UPDATE personal_data_kek SET kek = $1", new.id)
    files.destroy_all_but(new)
    return old.id, new.id, len(rows)


def data_key(kek: Kek, row: Any) -> bytes:
    if row["key"] is not None:  # not yet wrapped (before migration 010's first start)
        return bytes(row["key"])
    return kek.unwrap(row["tenant"], row["subject"], bytes(row["wrapped"]))


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
    def __init__(self, pool: asyncpg.Pool, files: KekFiles, kek: Kek) -> None:
        self.pool, self.files, self.kek = pool, files, kek
        # One holder of a tenant's identity lock per process at a time: a join waits
        # here without a connection, so joins at once cannot take the whole pool while
        # each waits for the writer, which needs one to record them.
        self._local: dict[str, asyncio.Lock] = {}

    @classmethod
    async def open(cls, pool: asyncpg.Pool, files: KekFiles) -> PostgresKeyVault:
        async with pool.acquire() as conn:
            return cls(pool, files, await current_kek(conn, files))

    async def _reload(self, conn: Conn) -> None:
        """After a rotation by another process: take the KEK the database records now."""
        self.kek = await current_kek(conn, self.files)

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
        # on one key (the loser's random bytes are discarded by ON CONFLICT). The insert
        # happens only under the KEK the database records: after a rotation elsewhere,
        # nothing is inserted, and the vault takes the new KEK and tries again.
        async with self.pool.acquire() as conn:
            for _attempt in range(2):
                await conn.execute(
                    "INSERT INTO personal_data_keys (tenant, subject, wrapped, kek)"
                    " SELECT $1, $2, $3, kek FROM personal_data_kek WHERE kek = $4"
                    " ON CONFLICT (tenant, subject) DO NOTHING",
                    tenant, subject, self.kek.wrap(tenant, subject, os.urandom(32)),
                    self.kek.id,
                )
                key = await self._read(conn, tenant, subject)
                if key is not None:
                    return key
                if await _recorded_kek(conn) == self.kek.id:
                    break
                await self._reload(conn)
        raise LookupError(f"key for {subject} was destroyed meanwhile")

    async def _read(self, conn: Conn, tenant: str, subject: str) -> bytes | None:
        row = await conn.fetchrow(
            "SELECT tenant, subject, key, wrapped, kek FROM personal_data_keys"
            " WHERE tenant = $1 AND subject = $2",
            tenant, subject,
        )
        if row is None:
            return None
        if row["kek"] is not None and row["kek"] != self.kek.id:
            await self._reload(conn)
        return data_key(self.kek, row)

    async def get(self, tenant: str, subject: str) -> bytes | None:
        async with self.pool.acquire() as conn:
            return await self._read(conn, tenant, subject)

    async def destroy(self, tenant: str, subject: str) -> bool:
        status = await self.pool.execute(
            "DELETE FROM personal_data_keys WHERE tenant = $1 AND subject = $2",
            tenant,
            subject,
        )
        return bool(status.endswith(" 1"))


async def keys_of(db: Reader, tenant: str, subjects: Sequence[str],
                  kek: Kek) -> dict[str, bytes]:
    """The data keys of those `subjects` that still have one (a forgotten agent's is
    gone), unwrapped with `kek`, on `db`: the export asks inside its own snapshot."""
    rows = await db.fetch(
        "SELECT tenant, subject, key, wrapped FROM personal_data_keys WHERE tenant = $1"
        " AND subject = ANY($2::text[])",
        tenant, list(subjects),
    )
    return {r["subject"]: data_key(kek, r) for r in rows}
