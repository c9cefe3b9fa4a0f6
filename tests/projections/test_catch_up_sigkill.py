"""SIGKILL the projection runner in the middle of a catch-up over 200,000 events, start
it again: it resumes from its checkpoints, and every table equals a clean rebuild.
Nothing applied twice (the restart moves exactly the positions the killed run had not
committed), nothing skipped."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import asyncpg
import pytest

from bench.history import History, write
from eventstore.database import create_pool
from eventstore.postgres import PostgresEventStore
from projections.registry import all_projections
from projections.runner import ProjectionRunner, live_schema
from tests.conftest import ROOT
from tests.projections.support import dump
from tests.support import eventually

# SIGKILL a subprocess mid-way through 200,000 events: about a minute.
pytestmark = pytest.mark.slow

TENANT = "t-sigkill"
EVENTS = 200_000


def start(url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.projections.catch_up_process", url],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


async def checkpoints(pool: asyncpg.Pool) -> dict[str, int]:
    """Committed position of each projection (0 before its schema or row exists)."""
    found = {}
    for p in all_projections():
        s = live_schema(p)
        exists = await pool.fetchval("SELECT to_regclass($1)", f"{s}.checkpoint")
        position = exists and await pool.fetchval(
            f"SELECT position FROM {s}.checkpoint WHERE tenant = $1", TENANT
        )
        found[p.name] = position or 0
    return found


async def test_sigkill_mid_catch_up_then_restart_equals_a_clean_rebuild(fresh_database):
    pool = await create_pool(fresh_database, app_role="weiledger_app", size=8)
    store = PostgresEventStore(pool)
    try:
        head = await write(store, TENANT, History(agents=10_000, seed=7).events(EVENTS), 2000)
        assert head >= EVENTS
        whole = head * len(all_projections())

        async def committed() -> int:
            return sum((await checkpoints(pool)).values())

        first = start(fresh_database)
        # Killed once a tenth is committed (or when it ends first: the asserts say so).
        await eventually(committed, "a tenth of the catch-up committed",
                         until=lambda moved: moved >= whole // 10 or first.poll() is not None,
                         within=120, every=0.02)
        first.send_signal(signal.SIGKILL)
        await asyncio.to_thread(first.wait, 30)
        assert first.returncode == -signal.SIGKILL
        at_kill = await checkpoints(pool)
        assert whole // 10 <= sum(at_kill.values()) <= whole * 9 // 10, at_kill

        second = start(fresh_database)
        out, err = await asyncio.to_thread(second.communicate, timeout=300)
        assert second.returncode == 0, err
        assert out.split() == ["APPLIED", str(whole - sum(at_kill.values())), "HALTED", "-"]
        assert set((await checkpoints(pool)).values()) == {head}

        after_restart = {p.name: await dump(pool, live_schema(p), TENANT)
                         for p in all_projections()}
        runner = ProjectionRunner(pool, store, all_projections())
        for p in all_projections():
            await runner.rebuild(p.name)
            assert await dump(pool, live_schema(p), TENANT) == after_restart[p.name], p.name
        assert len(after_restart["tree"]["nodes"]) > 10_000  # every join, and later versions
        assert after_restart["stock"]["on_hand"] and after_restart["sales"]["sales"]
    finally:
        await store.close()
        await pool.close()
