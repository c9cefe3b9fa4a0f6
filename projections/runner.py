"""The projection runner: catch up, then follow; exactly once; rebuild and swap.

Each projection owns a schema, rm_<name>, holding its tables and its checkpoint (the
last position applied, per tenant). One batch of events is applied and the checkpoint
moved in the same transaction, so a crash at any point leaves tables and checkpoint in
agreement: nothing applied twice, nothing skipped. Writers of one schema are serialised
by a transaction-level advisory lock on its name.

A rebuild fills rm_<name>__next from position 0 while the live schema keeps serving,
then, holding both locks, catches up the last events and renames the new schema into
place in one transaction. The live runner's next batch then finds the new schema (and
its checkpoint) under the old name.

A projection that fails stops, records why in projection_failures, and never skips. A
lost connection (the database down, restarting, out of connections) is no failure of a
projection: the round is rolled back and the error (DatabaseUnavailable) goes up to
whoever runs the runner, who tries again later from the checkpoints, which are in the
database with the tables they describe.
"""

from __future__ import annotations

import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar, cast

import asyncpg

from config.runtime import Progress
from domain.ports import RecordedEvent, VersionConflict
from eventstore.errors import DatabaseUnavailable, translate
from eventstore.postgres import Conn, PostgresEventStore
from projections.following import follow

log = logging.getLogger(__name__)


BATCH = 2000
ANALYZE_EVERY = 50_000  # events applied to a schema between fresh statistics


class Projection(ABC):
    name: ClassVar[str]
    version: ClassVar[int] = 1  # bump when ddl or apply change: the runner rebuilds
    reads: ClassVar[tuple[str, ...]] = ()  # event names it needs; () = all
    ddl: ClassVar[str]  # CREATE statements; {s} stands for the schema

    @abstractmethod
    async def apply(
        self, conn: asyncpg.Connection, s: str, tenant: str, events: Sequence[RecordedEvent]
    ) -> None:
        """Write what these events change, in the caller's transaction."""


def live_schema(projection: Projection) -> str:
    return f"rm_{projection.name}"


def next_schema(projection: Projection) -> str:
    return f"rm_{projection.name}__next"


class ProjectionFailed(RuntimeError):
    def __init__(self, projection: str, tenant: str, error: BaseException) -> None:
        super().__init__(f"projection {projection} failed for tenant {tenant}: {error!r}")
        self.projection = projection
        self.tenant = tenant
        self.error = error


def _database_failed(error: BaseException) -> BaseException | None:
    """The store's exception if `error` says the database, not the projection, failed
    (unavailable, or a transaction it rolled back): try again later, never halt."""
    found = translate(error)
    return found if isinstance(found, DatabaseUnavailable | VersionConflict) else None


class ProjectionRunner:
    def __init__(
        self,
        pool: asyncpg.Pool,
        store: PostgresEventStore,
        projections: Sequence[Projection],
        batch: int = BATCH,
        *,
        tenant: str | None = None,
        progress: Progress | None = None,
    ) -> None:
        """`tenant`: run that tenant's projections only (the service runs its own tenant;
        tests share one database and keep to theirs); None: every tenant of the store.
        `progress(n)`: n more positions of the log read by a catch-up or a rebuild."""
        self.pool = pool
        self.store = store
        self.projections = list(projections)
        self.batch = batch
        self.tenant = tenant
        self.halted: dict[str, str] = {}
        self.progress = progress
        # (schema, tenant) -> the position this runner's last committed step reached, so
        # a round skips what is already at the head without a transaction.
        self._reached: dict[tuple[str, str], int] = {}

    def projection(self, name: str) -> Projection:
        for p in self.projections:
            if p.name == name:
                return p
        raise KeyError(f"no projection named {name!r}")

    async def tenants(self) -> list[str]:
        if self.tenant is not None:
            return [self.tenant]
        rows = await self.pool.fetch("SELECT tenant FROM chain_heads ORDER BY tenant")
        return [r["tenant"] for r in rows]

    async def behind(self) -> int:
        """The positions every tenant's read models have still to read to reach its
        head (from the furthest behind of them): how long a catch-up is."""
        schemas = [live_schema(p) for p in self.projections]
        total = 0
        for tenant in await self.tenants():
            rows = await self.pool.fetch(" UNION ALL ".join(
                f"SELECT position FROM {s}.checkpoint WHERE tenant = $1" for s in schemas
            ), tenant)
            least = min(r["position"] for r in rows) if len(rows) == len(schemas) else 0
            total += max(await self.store.head(tenant) - least, 0)
        return total

    def _moved(self, positions: int) -> None:
        if self.progress is not None and positions > 0:
            self.progress(positions)

    async def _create(self, conn: Conn, p: Projection, s: str) -> None:
        await conn.execute(f"CREATE SCHEMA {s}")
        await conn.execute(p.ddl.format(s=s))
        await conn.execute(
            f"CREATE TABLE {s}.checkpoint (tenant text PRIMARY KEY, position bigint NOT NULL);"
            f"CREATE TABLE {s}.meta (version int NOT NULL);"
            f"INSERT INTO {s}.meta VALUES ({int(p.version)})"
        )

    async def ensure(self) -> None:
        """Create missing schemas; rebuild a projection whose version changed."""
        for p in self.projections:
            s = live_schema(p)
            async with self.pool.acquire() as conn, conn.transaction():
                await _lock(conn, s)
                exists = await conn.fetchval("SELECT to_regclass($1)", f"{s}.meta")
                if exists is None:
                    await self._create(conn, p, s)
                    continue
                version = await conn.fetchval(f"SELECT version FROM {s}.meta")
            if version != p.version:
                log.warning("projection %s is at version %s, code at %s: rebuilding",
                            p.name, version, p.version)
                await self.rebuild(p.name)

    async def _step(self, conn: Conn, p: Projection, s: str, tenant: str,
                    head: int) -> tuple[int, int]:
        """Apply the next batch up to `head` for one tenant inside conn's transaction;
        the checkpoint before and after."""
        after = await conn.fetchval(
            f"SELECT position FROM {s}.checkpoint WHERE tenant = $1 FOR UPDATE",
            tenant,
        )
        if after is None:
            await conn.execute(f"INSERT INTO {s}.checkpoint VALUES ($1, 0)", tenant)
            after = 0
        if head <= after:
            return after, after
        events = await self.store.read_all(
            tenant, after=after, upto_position=head, names=p.reads, limit=self.batch, conn=conn
        )
        reached = events[-1].position if len(events) == self.batch else head
        if events:
            await p.apply(cast(asyncpg.Connection, conn), s, tenant, events)
        await conn.execute(
            f"UPDATE {s}.checkpoint SET position = $2 WHERE tenant = $1",
            tenant,
            reached,
        )
        return after, reached

    async def catch_up(self, p: Projection, s: str | None = None) -> int:
        """Bring one projection's schema up to the head of every tenant."""
        s = s or live_schema(p)
        total = 0
        for tenant in await self.tenants():
            # The head as this round starts: what comes later is the next round's.
            total += await self._catch_up_tenant(p, s, tenant, await self.store.head(tenant))
        return total

    async def _catch_up_tenant(self, p: Projection, s: str, tenant: str, head: int) -> int:
        total = unanalysed = 0
        while self._reached.get((s, tenant), -1) < head:
            async with self.pool.acquire() as conn, conn.transaction():
                await _lock(conn, s)
                try:
                    after, reached = await self._step(conn, p, s, tenant, head)
                except Exception as error:
                    if (lost := _database_failed(error)) is not None:
                        raise lost from error
                    raise ProjectionFailed(p.name, tenant, error) from error
            self._reached[(s, tenant)] = reached  # committed
            self._moved(reached - after)
            total += reached - after
            unanalysed += reached - after
            if unanalysed >= ANALYZE_EVERY:
                await self._analyze(s)
                unanalysed = 0
        return total

    async def _analyze(self, s: str) -> None:
        """Fresh statistics for a schema that is filling up. Its tables start empty, and
        autovacuum comes late: planned as if still tiny, a projection's joins turn into
        scans of the whole table for every batch (a 1,000,000-event catch-up of the tree
        ran at a third of its speed)."""
        async with self.pool.acquire() as conn:
            for table in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = $1", s
            ):
                # Only an optimisation: a schema swapped away meanwhile is no error.
                with contextlib.suppress(asyncpg.UndefinedTableError):
                    await conn.execute(f"ANALYZE {s}.{table['tablename']}")

    async def catch_up_all(self) -> int:
        """Every projection to the head of every tenant, in step: each round reads the
        events once and applies them to all projections in one transaction (a round
        per projection cost six reads of the same events and about forty round trips,
        which under a stream of sales was a fifth of the service's CPU). Should the
        round fail, each projection catches up on its own, so the one that fails halts
        alone and the others go on."""
        total = 0
        for tenant in await self.tenants():
            head = await self.store.head(tenant)
            try:
                total += await self._together(tenant, head)
            except Exception as error:
                if (lost := _database_failed(error)) is not None:
                    raise lost from error  # each one alone would fail alike: not a halt
                log.info("projections of %s catch up one by one: %r", tenant, error)
                total += await self._apart(tenant, head)
        return total

    def _due(self, tenant: str, head: int) -> list[Projection]:
        return [p for p in self.projections if p.name not in self.halted
                and self._reached.get((live_schema(p), tenant), -1) < head]

    async def _together(self, tenant: str, head: int) -> int:
        total = 0
        unanalysed: dict[str, int] = {}
        while due := self._due(tenant, head):
            schemas = [live_schema(p) for p in due]
            async with self.pool.acquire() as conn, conn.transaction():
                await conn.execute(_LOCK_ALL, schemas)
                at = await _checkpoints(conn, schemas, tenant)
                after = min(at.values())
                wanted = [p.reads for p in due]
                names = () if () in wanted else sorted({n for r in wanted for n in r})
                events = await self.store.read_all(
                    tenant, after=after, upto_position=head, names=names, limit=self.batch,
                    conn=conn,
                ) if after < head else []
                reached = events[-1].position if len(events) == self.batch else head
                moved: dict[str, int] = {}
                for p, s in zip(due, schemas, strict=True):
                    start = at[s]
                    moved[s] = max(start, reached)
                    mine = [e for e in events if e.position > start
                            and (not p.reads or e.name in p.reads)]
                    if mine:
                        await p.apply(cast(asyncpg.Connection, conn), s, tenant, mine)
                await _set_checkpoints(conn, tenant, {s: v for s, v in moved.items()
                                                      if v != at[s]})
            self._moved(reached - after)  # committed: the slowest of them moved so far
            for s, position in moved.items():
                self._reached[(s, tenant)] = position
                total += position - at[s]
                unanalysed[s] = unanalysed.get(s, 0) + position - at[s]
                if unanalysed[s] >= ANALYZE_EVERY:
                    await self._analyze(s)
                    unanalysed[s] = 0
        return total

    async def _apart(self, tenant: str, head: int) -> int:
        total = 0
        for p in self._due(tenant, head):
            try:
                total += await self._catch_up_tenant(p, live_schema(p), tenant, head)
            except ProjectionFailed as failure:
                await self._halt(p, failure)
        return total

    async def _halt(self, p: Projection, failure: ProjectionFailed) -> None:
        tenant = failure.tenant
        async with self.pool.acquire() as conn:
            position = await conn.fetchval(
                f"SELECT position FROM {live_schema(p)}.checkpoint WHERE tenant = $1",
                tenant,
            )
            await conn.execute(
                "INSERT INTO projection_failures (projection, tenant, position, error)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT (projection, tenant) DO UPDATE"
                " SET position = EXCLUDED.position, error = EXCLUDED.error, failed_at = now()",
                p.name, tenant, (position or 0) + 1, repr(failure.error),
            )
        # Only once recorded: a halt that could not be written (the database gone
        # meanwhile) is found again when the runner is run again.
        self.halted[p.name] = str(failure)
        log.error("%s; it stops here until fixed and restarted", failure)

    async def run_forever(self, pace: float = 0.0) -> None:
        """Catch up, then follow: again after each committed batch, at most once per
        `pace` seconds (projections.following)."""
        await self.ensure()
        await follow(self.store, self.tenant, self.catch_up_all, pace=pace)

    async def rebuild(self, name: str) -> int:
        """Rebuild one projection from position 0 beside the live one, then swap it in."""
        p = self.projection(name)
        live, fresh = live_schema(p), next_schema(p)
        self._forget(live, fresh)
        async with self.pool.acquire() as conn, conn.transaction():
            await _lock(conn, fresh)
            await conn.execute(f"DROP SCHEMA IF EXISTS {fresh} CASCADE")
            await self._create(conn, p, fresh)
        applied = await self.catch_up(p, fresh)
        async with self.pool.acquire() as conn, conn.transaction():
            await _lock(conn, live)
            await _lock(conn, fresh)
            for tenant in await self.tenants():
                while True:
                    after, reached = await self._step(
                        conn, p, fresh, tenant, await self.store.head(tenant, conn=conn))
                    if reached == after:
                        break
                    applied += reached - after
            await conn.execute(f"DROP SCHEMA IF EXISTS {live} CASCADE")
            await conn.execute(f"ALTER SCHEMA {fresh} RENAME TO {live}")
            # Built again from 0: whatever halted the old schema is behind it now.
            await conn.execute("DELETE FROM projection_failures WHERE projection = $1",
                               p.name)
        self._forget(live, fresh)
        self.halted.pop(p.name, None)
        return applied

    def _forget(self, *schemas: str) -> None:
        """Schemas dropped or swapped: what this runner knew of them no longer holds."""
        for key in [k for k in self._reached if k[0] in schemas]:
            del self._reached[key]


async def _lock(conn: Conn, schema: str) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", schema)


# In the order given, the same for every runner: two rounds never wait for each other
# crosswise. (A rebuild's swap holds one live schema and its __next, never a second live.)
_LOCK_ALL = "SELECT pg_advisory_xact_lock(hashtext(s)) FROM unnest($1::text[]) AS s"


async def _checkpoints(conn: Conn, schemas: list[str], tenant: str) -> dict[str, int]:
    """Each schema's checkpoint for `tenant`, in one statement (under the schemas'
    locks, which every writer of a checkpoint holds); a missing one starts at 0."""
    rows = await conn.fetch(" UNION ALL ".join(
        f"SELECT {n} AS n, position FROM {s}.checkpoint WHERE tenant = $1"
        for n, s in enumerate(schemas)
    ), tenant)
    at = {schemas[r["n"]]: r["position"] for r in rows}
    for s in schemas:
        if s not in at:
            await conn.execute(f"INSERT INTO {s}.checkpoint VALUES ($1, 0)", tenant)
            at[s] = 0
    return at


async def _set_checkpoints(conn: Conn, tenant: str, moved: dict[str, int]) -> None:
    """Move several checkpoints in one statement (one data-modifying CTE each)."""
    if not moved:
        return
    updates = ", ".join(
        f"c{n} AS (UPDATE {s}.checkpoint SET position = ${n + 2} WHERE tenant = $1)"
        for n, s in enumerate(moved)
    )
    await conn.execute(f"WITH {updates} SELECT 1", tenant, *moved.values())
