"""`weiledger projections catch-up` and `rebuild NAME`, as an operator runs them."""

from __future__ import annotations

import asyncio

import asyncpg

from tests.conftest import ROOT, run_cli

JOURNAL = ROOT.parent / "shared" / "scenarios" / "02-stock-and-sales.jsonl"


async def on_hand(url: str) -> list[tuple]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT agent, sku, units FROM rm_stock.on_hand ORDER BY 1, 2")
    finally:
        await conn.close()
    return [tuple(r) for r in rows]


async def test_catch_up_then_rebuild_gives_the_same_stock(fresh_database):
    cli = lambda *args: asyncio.to_thread(run_cli, *args, database=fresh_database)  # noqa: E731
    imported = await cli("import", str(JOURNAL), "--tenant", "b", "--no-progress")
    assert imported.returncode == 0, imported.stderr
    caught = await cli("projections", "catch-up")
    assert caught.returncode == 0, caught.stderr
    assert "caught up:" in caught.stdout
    live = await on_hand(fresh_database)
    assert ("A1", "TEA-01", 67) in live and ("A2", "TEA-01", 29) in live
    rebuilt = await cli("projections", "rebuild", "stock")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "rebuilt stock:" in rebuilt.stdout
    assert await on_hand(fresh_database) == live
    unknown = await cli("projections", "rebuild", "nope")
    assert unknown.returncode == 2 and "no projection named 'nope'" in unknown.stderr
