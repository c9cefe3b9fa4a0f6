"""agents.csv is read in pages (the tree's cursor, then the join events and keys of a page
of agents at a time): the rows are the same whatever the page size."""

from __future__ import annotations

import os

import asyncpg
import pytest

from eventstore import reads
from eventstore.kek import Kek
from export import sources
from tests.export.conftest import JOURNALS, Ledger


async def _agents(url: str, tenant: str) -> list[tuple]:
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            last = await reads.last_position(conn, tenant)
            assert last is not None
            kek = Kek.from_text(os.environ["WEILEDGER_KEK"])  # the run's (tests/conftest.py)
            return [row async for row in sources.agents(conn, tenant, last, kek)]
    finally:
        await conn.close()


async def test_agents_rows_are_the_same_in_pages_of_any_size(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = ledger.tenant(JOURNALS[0])
    whole = await _agents(ledger.url, tenant)
    assert len(whole) == 4 and {row[-1] for row in whole} == {"脱敏 masked"}
    for size in (1, 3, 4):
        monkeypatch.setattr(sources, "PREFETCH", size)
        assert await _agents(ledger.url, tenant) == whole, size
