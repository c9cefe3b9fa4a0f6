"""The read models and the watchers through a database that goes away and comes back
(issue 16): a lost connection is never a projection's failure; they resume from their
checkpoints once the database is back, and the background's leader takes its lock
again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from domain.importing import run_journal
from eventstore.database import close_pool, create_pool
from eventstore.errors import DatabaseUnavailable
from eventstore.memory_vault import InMemoryKeyVault
from eventstore.postgres import PostgresEventStore
from projections.background import Background
from projections.registry import all_projections
from projections.runner import ProjectionRunner, live_schema
from tests.support import eventually

JOURNAL = Path(__file__).parents[2].parent / "shared" / "scenarios" / "04-alerts.jsonl"
LINES = JOURNAL.read_text("utf-8").splitlines()


@pytest.fixture
async def own(own_postgres) -> AsyncIterator[tuple[asyncpg.Pool, PostgresEventStore]]:
    pool = await create_pool(own_postgres.url, app_role="weiledger_app", size=8)
    store = PostgresEventStore(pool, timeout=3.0)
    yield pool, store
    await store.close()
    await close_pool(pool)


async def checkpoints(pool: asyncpg.Pool, tenant: str) -> dict[str, int]:
    found = {}
    for p in all_projections():
        found[p.name] = await pool.fetchval(
            f"SELECT position FROM {live_schema(p)}.checkpoint WHERE tenant = $1", tenant) or 0
    return found


async def run_lines(store: PostgresEventStore, tenant: str, lines: list[str]) -> None:
    """The journal, once the database takes appends again (the first after a restart
    may meet a connection that died with the old server)."""
    started = time.monotonic()
    while True:
        try:
            await run_journal(store, InMemoryKeyVault(), tenant, lines)
            return
        except DatabaseUnavailable:
            if time.monotonic() - started > 20:
                raise
            await asyncio.sleep(0.2)


async def test_a_projection_whose_session_the_server_ends_mid_step_is_retried_not_halted(
    own_postgres, own, tenant
):
    """Before: the round fell back to one projection at a time, and the session ended
    in the middle of its step (admin shutdown: what a server stopping sends) halted the
    projection for good, as if it could not take its event."""
    pool, store = own
    runner = ProjectionRunner(pool, store, all_projections())
    await runner.ensure()
    await run_journal(store, InMemoryKeyVault(), tenant, LINES[:4])
    await runner.catch_up_all()
    await run_journal(store, InMemoryKeyVault(), tenant, LINES[4:12])
    head = await store.head(tenant)
    admin = await asyncpg.connect(own_postgres.url)
    try:
        # Hold the tree's checkpoint row: a step that needs it waits, mid-transaction,
        # and the server ends the session waiting (as a stopping server ends them all).
        hold = admin.transaction()
        await hold.start()
        await admin.execute("SELECT 1 FROM rm_tree.checkpoint WHERE tenant = $1 FOR UPDATE",
                            tenant)
        catching_up = asyncio.create_task(runner.catch_up_all())
        ended = 0
        started = time.monotonic()
        while not catching_up.done() and time.monotonic() - started < 15:
            ended += await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND wait_event_type = 'Lock'")
            await asyncio.sleep(0.02)
        await hold.rollback()
    finally:
        await admin.close()
    assert ended >= 1
    with pytest.raises(DatabaseUnavailable):
        await catching_up
    assert runner.halted == {}
    assert await pool.fetchval(
        "SELECT count(*) FROM projection_failures WHERE tenant = $1", tenant) == 0
    await runner.catch_up_all()  # the next round, as the background's supervisor runs it
    assert set((await checkpoints(pool, tenant)).values()) == {head}


async def test_projections_watchers_and_the_leader_resume_after_the_database_restarts(
    own_postgres, own, tenant
):
    """Before: a command during the outage killed the tenant's writer, which the
    watchers append their alerts through, so after the database came back no alert
    was raised (and no command recorded)."""
    pool, store = own
    background = Background(pool, store, tenant, retry=0.1)
    await background.start()
    try:
        await eventually(lambda: background.leading, "a leader")
        await run_journal(store, InMemoryKeyVault(), tenant, LINES[:4])
        head = await store.head(tenant)

        async def caught_up() -> bool:
            # At least the head of the commands: the watchers' alerts come after.
            return min((await checkpoints(pool, tenant)).values()) >= head

        await eventually(caught_up, "projections at the head before the crash")
        assert await store.tracking_position(tenant, "watchers") is None  # no alert yet

        own_postgres.kill()
        await eventually(lambda: not background.leading,
                         "the leader finds its lock gone with the server")
        # A command meanwhile (as agents kept recording sales in issue 16) is refused
        # with the reason, and leaves the writer the watchers append alerts through.
        with pytest.raises(DatabaseUnavailable):
            async with asyncio.timeout(10):
                await run_journal(store, InMemoryKeyVault(), tenant, LINES[4:5])
        await asyncio.to_thread(own_postgres.start)

        await run_lines(store, tenant, LINES[4:])
        head = await store.head(tenant)
        await eventually(lambda: background.leading,
                         "the lock taken again")
        await eventually(caught_up, "projections at the head after the restart")

        async def alerts_raised() -> bool:
            return await store.tracking_position(tenant, "watchers") is not None

        await eventually(alerts_raised, "the watchers raise alerts after the restart")
        assert background.runner.halted == {}
        assert await pool.fetchval(
            "SELECT count(*) FROM projection_failures WHERE tenant = $1", tenant) == 0
    finally:
        await background.stop()
