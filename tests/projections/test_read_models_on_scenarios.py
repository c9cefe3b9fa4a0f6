"""Each sample journal, run on PostgreSQL and caught up by every projection: the read
models say what the expected files say, and what the domain's own aggregates say."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from domain.events import Codec
from domain.importing import run_journal
from domain.ledger import Ledger
from domain.orders.stock import Stock
from domain.periods import period_end, period_of, period_start
from projections.kpis import kpis_of
from projections.registry import all_projections
from projections.runner import ProjectionRunner
from projections.sales.queries import net_retail
from projections.stock.queries import stock_of
from projections.tree.queries import agent_as_of, tree_as_of
from tests.projections.support import as_tree, replayed_tree

SCENARIOS = Path(__file__).parents[2].parent / "shared" / "scenarios"


def _journals() -> list[Any]:
    return [
        pytest.param(path.read_text("utf-8").splitlines(),
                     json.loads(path.with_suffix(".expected.json").read_text("utf-8")),
                     id=path.stem)
        for path in sorted(SCENARIOS.glob("*.jsonl"))
    ]


@pytest.mark.parametrize(("lines", "expected"), _journals())
async def test_read_models_after_a_journal_hold_its_expected_stock_and_tree(
    lines: list[str], expected: dict[str, Any], pool, pg_store, pg_vault, tenant
) -> None:
    await run_journal(pg_store, pg_vault, tenant, lines)
    runner = ProjectionRunner(pool, pg_store, all_projections(), tenant=tenant)
    await runner.ensure()
    assert await runner.catch_up_all() > 0
    assert runner.halted == {}

    for agent, units in expected.get("stock", {}).items():
        held = await stock_of(pool, tenant, agent)
        assert {sku: held.get(sku, 0) for sku in units} == units, agent
    for agent, facts in expected.get("agents", {}).items():
        node = await agent_as_of(pool, tenant, agent)
        assert node is not None, agent
        assert {"depth": node.depth, "tier": node.tier, "status": node.status} == facts

    # Beyond the expected files: every agent, unit and fen agrees with the aggregates.
    assert as_tree(await tree_as_of(pool, tenant)) == await replayed_tree(
        pg_store, tenant
    )
    ledger = Ledger(pg_store, pg_vault)
    for agent in {n.agent for n in await tree_as_of(pool, tenant)}:
        assert await stock_of(pool, tenant, agent) == await ledger.orders.stock(
            tenant, agent
        ), agent
        await _net_retail_agrees(pool, pg_store, tenant, agent)


async def _net_retail_agrees(pool, store, tenant: str, agent: str) -> None:
    recorded = await store.read_stream(tenant, f"stock-{agent}")
    if not recorded:
        return
    stock: Stock = Codec().replay(recorded)
    for period in sorted({period_of(at) for at, _ in stock.retail}):
        want = stock.net_retail(period_start(period), period_end(period))
        assert await net_retail(pool, tenant, agent, period) == want, (agent, period)


SETTLEMENT = (SCENARIOS / "03-settlement.jsonl").read_text("utf-8").splitlines()


async def test_kpis_and_payout_share_after_the_settlement_journal(pool, pg_store, pg_vault,
                                                                  tenant):
    """Scenario 03 by hand: January's retail is A1's 22,755.55 and B1's 1,100,000.00;
    customers C1..C5 and C7 buy once each, so nobody bought again."""
    await run_journal(pg_store, pg_vault, tenant, SETTLEMENT)
    runner = ProjectionRunner(pool, pg_store, all_projections(), tenant=tenant)
    await runner.ensure()
    await runner.catch_up_all()

    january = await kpis_of(pool, tenant, "2026-01")
    assert january.net_retail_fen == 2_275_555 + 110_000_000
    assert (january.customers, january.repurchase_rate_30d) == (6, 0.0)
    assert january.active_agents == 2 and january.new_agents == 2
    assert january.retail_per_active_agent_fen == (2_275_555 + 110_000_000) // 2
    assert january.retention_3m == 1.0
    paid = await pool.fetch(
        "SELECT total_fen FROM rm_statements.statements WHERE tenant = $1 AND period = '2026-01'",
        tenant,
    )
    if paid:  # settlement issued its statements: the share is theirs over the retail
        share = sum(r["total_fen"] for r in paid) / january.net_retail_fen
        assert january.payout_share == pytest.approx(share)
    else:
        assert january.payout_share is None
    assert await net_retail(pool, tenant, "A1", "2026-02") == 100_000 - 200_000
