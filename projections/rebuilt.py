"""A live read model compared with the same projection rebuilt from position 0 beside
it, table for table: the invariant every projection keeps (DESIGN.md), checked by the
tests on random journals and by the chaos harness after every fault."""

from __future__ import annotations

from typing import Any

from eventstore.database import Pool, Reader
from eventstore.postgres import PostgresEventStore
from projections.registry import all_projections
from projections.runner import Projection, ProjectionRunner, live_schema


def renamed(p: Projection, suffix: str) -> Projection:
    """The same projection under another name, so it fills a schema of its own."""
    cls = type(p)
    return type(f"{cls.__name__}_{suffix}", (cls,), {"name": f"{cls.name}_{suffix}"})()


async def dump(db: Reader, schema: str, tenant: str
               ) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every tenant-keyed table in the schema, for one tenant, sorted."""
    tables = [
        r["table_name"]
        for r in await db.fetch(
            "SELECT table_name FROM information_schema.columns"
            " WHERE table_schema = $1 AND column_name = 'tenant' ORDER BY table_name",
            schema,
        )
    ]
    found = {}
    for table in tables:
        rows = await db.fetch(f'SELECT * FROM {schema}."{table}" WHERE tenant = $1', tenant)
        found[table] = sorted((tuple(r.values()) for r in rows), key=repr)
    return found


async def differing_from_rebuild(pool: Pool, tenant: str) -> list[str]:
    """The projections whose live tables differ from a rebuild of the tenant's log (the
    live ones at the head, nothing appended meanwhile); the rebuilt schemas are dropped."""
    store = PostgresEventStore(pool)
    fresh = [renamed(p, "rebuilt") for p in all_projections()]
    try:
        rebuilt = ProjectionRunner(pool, store, fresh, tenant=tenant)
        await rebuilt.ensure()
        await rebuilt.catch_up_all()
        differing = [p.name for p, q in zip(all_projections(), fresh, strict=True)
                     if await dump(pool, live_schema(p), tenant)
                     != await dump(pool, live_schema(q), tenant)]
    finally:
        await store.close()
        for q in fresh:
            await pool.execute(f"DROP SCHEMA IF EXISTS {live_schema(q)} CASCADE")
    return differing
