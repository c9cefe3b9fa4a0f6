"""How far each read model of a tenant has got: its checkpoint, its lag behind the log's
head, and whether it has halted (projection_failures: where, and why). What /ready
judges and /health shows; read from the database, so any serving process answers the
same whichever of them runs the projections."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from eventstore.errors import database_errors
from eventstore.postgres import PostgresEventStore
from projections.registry import all_projections
from projections.runner import live_schema


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    position: int  # the last position applied
    lag: int  # events of the log not applied yet
    halted_at: int | None = None  # the position it could not take
    error: str | None = None


async def projection_status(
    pool: asyncpg.Pool, store: PostgresEventStore, tenant: str
) -> list[ProjectionStatus]:
    names = [p.name for p in all_projections()]
    with database_errors():
        async with pool.acquire() as conn:
            head = await store.head(tenant, conn=conn)
            # One statement for every checkpoint; a tenant not begun yet is at 0.
            try:
                found = await conn.fetch(" UNION ALL ".join(
                    f"SELECT {n} AS n, position FROM {live_schema(p)}.checkpoint"
                    " WHERE tenant = $1"
                    for n, p in enumerate(all_projections())
                ), tenant)
            except asyncpg.UndefinedTableError:  # read models not made yet: none applied
                found = []
            failures = await conn.fetch(
                "SELECT projection, position, error FROM projection_failures"
                " WHERE tenant = $1", tenant)
    at = {names[r["n"]]: r["position"] for r in found}
    failed = {r["projection"]: r for r in failures}
    statuses = []
    for name in names:
        position = at.get(name, 0)
        failure = failed.get(name)
        if failure is not None and position >= failure["position"]:
            failure = None  # restarted since, and it took that event after all
        statuses.append(ProjectionStatus(
            name, position, max(0, head - position),
            None if failure is None else failure["position"],
            None if failure is None else failure["error"],
        ))
    return statuses
