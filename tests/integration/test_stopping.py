"""SIGTERM stops the service within 10 seconds whatever it is doing: mid-batch under
load from 32 agents, and with appends in flight when its PostgreSQL was killed."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import httpx
import pytest

from bench.api import create_tokens, set_up_agents
from bench.chaos import Agents, Options, Service
from bench.postgres import LocalPostgres

pytestmark = pytest.mark.slow


async def _under_load(tmp_path: Path, *, kill_postgres: bool) -> float:
    """Seconds from SIGTERM until the service exited."""
    postgres = LocalPostgres(tmp_path / "pg")
    await asyncio.to_thread(postgres.init)
    await asyncio.to_thread(postgres.start)
    service = Service(postgres.url, 1, tmp_path / "service.log")
    service.start()
    try:
        await service.ready()
        hq, tokens = await create_tokens(postgres.url, 32)
        async with httpx.AsyncClient(base_url=service.base, timeout=30) as client:
            await set_up_agents(client, hq, 32)
        agents = Agents(service, tokens, Options(resume_bound=1))
        agents.start()
        await asyncio.sleep(2)
        assert agents.ack_times, "the load was acknowledged before the stop"
        if kill_postgres:
            await asyncio.to_thread(postgres.kill)
            await asyncio.sleep(1)
        assert service.process is not None
        asked = time.monotonic()
        service.process.send_signal(signal.SIGTERM)
        await asyncio.to_thread(service.process.wait, 30)
        took = time.monotonic() - asked
        await agents.pause()
        return took
    finally:
        service.stop()
        await asyncio.to_thread(postgres.remove)


async def test_sigterm_under_load_stops_within_10_seconds(tmp_path: Path):
    took = await _under_load(tmp_path, kill_postgres=False)
    assert took < 10, f"{took:.1f} s"


async def test_sigterm_with_appends_stuck_on_a_killed_database_stops_within_10_seconds(
    tmp_path: Path,
):
    took = await _under_load(tmp_path, kill_postgres=True)
    assert took < 10, f"{took:.1f} s"
