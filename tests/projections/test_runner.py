"""The projection runner's guarantees, shown with a small projection of our own."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg
import pytest

from domain.ports import NewEvent, RecordedEvent
from eventstore.database import close_pool, create_pool
from eventstore.postgres import PostgresEventStore
from projections.runner import Projection, ProjectionRunner

AT = datetime(2026, 3, 1, tzinfo=UTC)


class StreamSizes(Projection):
    """Events and payload bytes per stream: easy to recompute from the log by hand."""

    name = "test_stream_sizes"
    ddl = """CREATE TABLE {s}.sizes (tenant text, stream text, events int, bytes int,
                                     PRIMARY KEY (tenant, stream));"""
    poison: bytes | None = None

    async def apply(
        self, conn: asyncpg.Connection, s: str, tenant: str, events: Sequence[RecordedEvent]
    ) -> None:
        for e in events:
            if self.poison is not None and e.payload == self.poison:
                raise ValueError(f"cannot read payload at position {e.position}")
        await conn.executemany(
            f"INSERT INTO {s}.sizes VALUES ($1, $2, 1, $3) ON CONFLICT (tenant, stream)"
            " DO UPDATE SET events = sizes.events + 1, bytes = sizes.bytes + EXCLUDED.bytes",
            [(tenant, e.stream, len(e.payload)) for e in events],
        )


async def sizes(pool: asyncpg.Pool, tenant: str, schema: str = "rm_test_stream_sizes") -> dict:
    rows = await pool.fetch(
        f"SELECT stream, events, bytes FROM {schema}.sizes WHERE tenant = $1", tenant
    )
    return {r["stream"]: (r["events"], r["bytes"]) for r in rows}


async def from_the_log(store, tenant: str) -> dict:
    counted: Counter[str] = Counter()
    size: Counter[str] = Counter()
    for e in await store.read_all(tenant, limit=10**6):
        counted[e.stream] += 1
        size[e.stream] += len(e.payload)
    return {s: (counted[s], size[s]) for s in counted}


async def write(store, tenant: str, start: int, count: int, streams: int = 7) -> None:
    for i in range(start, start + count, 50):
        batch = [
            NewEvent(f"s{j % streams}-{j}", 1, "Happened", b"x" * (j % 13), AT)
            for j in range(i, min(i + 50, start + count))
        ]
        await store.append(tenant, batch)


@pytest.fixture
async def runner(pool, pg_store):
    projection = StreamSizes()
    runner = ProjectionRunner(pool, pg_store, [projection], batch=97)
    await runner.rebuild(projection.name)  # a clean schema for this test
    return runner


async def test_catch_up_then_follow_applies_each_event_exactly_once(runner, pool, pg_store, tenant):
    await write(pg_store, tenant, 0, 500)
    await asyncio.gather(runner.catch_up_all(), runner.catch_up_all())  # two runners at once
    assert await sizes(pool, tenant) == await from_the_log(pg_store, tenant)
    await write(pg_store, tenant, 500, 120)
    assert await runner.catch_up_all() >= 120
    assert await sizes(pool, tenant) == await from_the_log(pg_store, tenant)
    assert await runner.catch_up_all() == 0


async def test_a_rebuild_swapped_in_while_writers_and_the_live_runner_run_equals_the_log(
    runner, pool, pg_store, tenant
):
    await write(pg_store, tenant, 0, 400)
    await runner.catch_up_all()

    async def live() -> None:
        for _ in range(20):
            await runner.catch_up_all()
            await asyncio.sleep(0.005)

    rebuilt, *_ = await asyncio.gather(
        runner.rebuild("test_stream_sizes"), live(), write(pg_store, tenant, 400, 600)
    )
    assert rebuilt >= 400
    await runner.catch_up_all()
    assert await sizes(pool, tenant) == await from_the_log(pg_store, tenant)
    leftovers = await pool.fetchval(
        "SELECT count(*) FROM pg_namespace WHERE nspname = 'rm_test_stream_sizes__next'"
    )
    assert leftovers == 0


async def test_a_failing_projection_stops_says_why_and_never_skips(runner, pool, pg_store, tenant):
    await write(pg_store, tenant, 0, 30)
    await pg_store.append(tenant, [NewEvent("bad", 1, "Happened", b"poison", AT)])
    await write(pg_store, tenant, 30, 30)
    runner.projections[0].poison = b"poison"  # type: ignore[attr-defined]
    runner.batch = 10
    await runner.catch_up_all()
    assert "test_stream_sizes" in runner.halted
    failure = await pool.fetchrow(
        "SELECT position, error FROM projection_failures"
        " WHERE projection = 'test_stream_sizes' AND tenant = $1",
        tenant,
    )
    assert "cannot read payload at position 31" in failure["error"]
    # Batches before it were applied; the one holding the poison was not, nor any after.
    applied = await pool.fetchval(
        "SELECT position FROM rm_test_stream_sizes.checkpoint WHERE tenant = $1", tenant
    )
    assert applied == 30 and failure["position"] == 31
    assert "bad" not in await sizes(pool, tenant)
    await write(pg_store, tenant, 60, 10)
    await runner.catch_up_all()  # halted: still not moving
    assert await pool.fetchval(
        "SELECT position FROM rm_test_stream_sizes.checkpoint WHERE tenant = $1", tenant
    ) == applied


async def test_a_runner_on_a_pool_of_one_connection_never_waits_for_a_second(
    database_url, pg_store, tenant
):
    """A step reads its events on the connection of its own transaction: one that held
    a connection and waited for another could wait forever once the pool was spent
    (the service's background holds three for good)."""
    await write(pg_store, tenant, 0, 300)
    single = await create_pool(database_url, app_role="weiledger_app", size=1)
    try:
        projection = StreamSizes()
        runner = ProjectionRunner(single, PostgresEventStore(single), [projection], batch=97,
                                  tenant=tenant)
        async with asyncio.timeout(20):
            await runner.rebuild(projection.name)  # the swap reads the head on its own too
            await write(pg_store, tenant, 300, 50)
            assert await runner.catch_up_all() == 50
        assert await sizes(single, tenant) == await from_the_log(pg_store, tenant)
    finally:
        await close_pool(single)


class OtherSizes(StreamSizes):
    """The same sums in a schema of their own, of one event name only."""

    name = "test_other_sizes"
    reads = ("Other",)


async def test_projections_caught_up_together_each_get_their_events_and_fail_alone(
    pool, pg_store, tenant, caplog
):
    """A round applies every projection in one transaction; when one of them fails, the
    others still reach the head and only the failing one halts where it failed."""
    caplog.set_level(logging.INFO, "projections.runner")
    first, other = StreamSizes(), OtherSizes()
    runner = ProjectionRunner(pool, pg_store, [first, other], batch=25, tenant=tenant)
    for p in (first, other):
        await runner.rebuild(p.name)
    await write(pg_store, tenant, 0, 60)
    await pg_store.append(tenant, [NewEvent(f"o{j}", 1, "Other", b"y" * j, AT) for j in (1, 2)])
    assert await runner.catch_up_all() == 2 * 62
    assert await sizes(pool, tenant, "rm_test_other_sizes") == {"o1": (1, 1), "o2": (1, 2)}
    assert await sizes(pool, tenant) == await from_the_log(pg_store, tenant)
    assert "one by one" not in caplog.text  # in step, not the fallback

    first.poison = b"poison"
    await pg_store.append(tenant, [NewEvent("bad", 1, "Happened", b"poison", AT)])
    await pg_store.append(tenant, [NewEvent("o3", 1, "Other", b"yyy", AT)])
    await runner.catch_up_all()
    assert "one by one" in caplog.text
    assert runner.halted.keys() == {"test_stream_sizes"}
    assert (await sizes(pool, tenant, "rm_test_other_sizes"))["o3"] == (1, 3)
    checkpoints = {
        s: await pool.fetchval(f"SELECT position FROM {s}.checkpoint WHERE tenant = $1", tenant)
        for s in ("rm_test_stream_sizes", "rm_test_other_sizes")
    }
    assert checkpoints == {"rm_test_stream_sizes": 62, "rm_test_other_sizes": 64}
