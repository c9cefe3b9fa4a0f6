"""Several processes serve one tenant (`weiledger serve --workers N`): exactly one of them
runs the projections and the watchers, and when it stops another takes over."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from domain.importing import run_journal
from eventstore.memory_vault import InMemoryKeyVault
from eventstore.postgres import PostgresEventStore
from projections.background import _TRY_LOCK, Background, _lock_name
from tests.support import eventually

JOURNAL = Path(__file__).parents[2].parent / "shared" / "scenarios" / "04-alerts.jsonl"


async def tree_checkpoint(pool: asyncpg.Pool, tenant: str) -> int:
    found = await pool.fetchval(
        "SELECT position FROM rm_tree.checkpoint WHERE tenant = $1", tenant)
    return int(found or 0)


async def test_one_of_several_processes_leads_and_another_takes_over_when_it_stops(
    pool: asyncpg.Pool, tenant: str
) -> None:
    store = PostgresEventStore(pool)
    # Two Backgrounds on their own connections stand for two processes: the lock is a
    # session's, so they contend exactly as two processes do.
    first, second = (Background(pool, store, tenant, retry=0.05) for _ in range(2))
    try:
        await first.start()
        await second.start()
        await eventually(lambda: first.leading or second.leading, "a leader")
        await asyncio.sleep(0.3)  # several retries of the other: still one leader
        assert first.leading != second.leading
        leader, other = (first, second) if first.leading else (second, first)

        await leader.stop()
        assert not leader.leading
        await eventually(lambda: other.leading, "the other taking over")

        # The new leader does the work: the journal reaches the read model and alerts
        # are raised.
        lines = JOURNAL.read_text("utf-8").splitlines()
        await run_journal(store, InMemoryKeyVault(), tenant, lines)
        head = await store.head(tenant)

        await eventually(lambda: tree_checkpoint(pool, tenant), "the tree at the head",
                         until=lambda position: position >= head)
        await eventually(lambda: store.tracking_position(tenant, "watchers"),
                         "the watchers' alerts", until=lambda position: position is not None)
        # How far the leader's watcher has got (its replay from 0 after a start takes
        # minutes on a big brand: /health shows it); none while not leading.
        await eventually(lambda: other.watchers, "the watcher at the head",
                         until=lambda w: w is not None and w.position >= head)
        assert leader.watchers is None
    finally:
        await first.stop()
        await second.stop()
        await store.close()
    # Both gave the lock back with their connections: a newcomer takes it at once.
    async with pool.acquire() as conn:
        assert await conn.fetchval(_TRY_LOCK, _lock_name(tenant)) is True
        await conn.execute("SELECT pg_advisory_unlock_all()")
