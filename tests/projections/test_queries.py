"""The read queries on a small journal worked out by hand: a downline summary, net
retail per CST period, stock sold down the tree, the KPIs, and agent ids that look
like paths ("A1/x", "A1%") that must not leak into A1's downline."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from domain.importing import run_journal
from domain.ports import NewEvent
from eventstore.memory_vault import InMemoryKeyVault
from projections.kpis import kpis_of
from projections.registry import all_projections
from projections.runner import ProjectionRunner
from projections.sales.queries import net_retail, through_day
from projections.stock.queries import stock_of
from projections.tree.queries import agent_as_of, downline_summary, tree_as_of
from tests.projections.support import id_number


def _cmd(at: str, cmd: str, **fields: Any) -> str:
    return json.dumps({"at": f"2026-{at}+08:00", "cmd": cmd, **fields}, ensure_ascii=False)


def _join(at: str, agent: str, sponsor: str | None, tier: str, n: int) -> str:
    return _cmd(at, "join", agent=agent, sponsor=sponsor, tier=tier, name="某",
                id_number=id_number(n), phone="13800000000")


def _sale(at: str, sale: str, seller: str, customer: str, qty: int) -> str:
    return _cmd(at, "sale", sale=sale, seller=seller, customer=customer,
                lines=[{"sku": "TEA-01", "qty": qty, "unit_price": "99.00"}])


JOURNAL = [
    _cmd("01-01T09:00:00", "product", sku="TEA-01", name="茶", retail_price="99.00"),
    _join("01-05T09:00:00", "A1", None, "partner", 1),
    _join("01-05T10:00:00", "A2", "A1", "general", 2),
    _join("01-06T09:00:00", "A3", "A2", "first", 3),
    _join("01-06T12:00:00", "A4", "A1", "first", 4),
    _cmd("01-07T09:00:00", "purchase", buyer="A1", seller=None,
         lines=[{"sku": "TEA-01", "qty": 100}]),
    _cmd("01-08T09:00:00", "purchase", buyer="A2", seller="A1",
         lines=[{"sku": "TEA-01", "qty": 30}]),
    _sale("01-10T09:00:00", "S1", "A2", "C1", 2),
    _sale("01-12T09:00:00", "S2", "A2", "C2", 1),
    _cmd("01-12T10:00:00", "return", sale="S1", lines=[{"sku": "TEA-01", "qty": 1}]),
    _sale("01-20T09:00:00", "S3", "A2", "C1", 1),  # C1 again within 30 days
    _cmd("01-20T10:00:00", "suspend", agent="A4", reason="投诉"),
    _cmd("01-21T09:00:00", "purchase", buyer="A3", seller=None,
         lines=[{"sku": "TEA-01", "qty": 10}]),
    _sale("02-01T00:30:00", "S4", "A3", "C3", 1),  # still 31 January in UTC
    _join("02-02T09:00:00", "A1/x", None, "partner", 5),
    _join("02-02T10:00:00", "A1%", None, "partner", 6),
    _join("02-03T09:00:00", "Cx", "A1/x", "vip", 7),
]


@pytest.fixture
async def caught_up(pool, pg_store, tenant) -> str:
    summary = await run_journal(pg_store, InMemoryKeyVault(), tenant, JOURNAL)
    assert summary.accepted == len(JOURNAL), summary.describe()
    runner = ProjectionRunner(pool, pg_store, all_projections(), tenant=tenant)
    await runner.ensure()
    await runner.catch_up_all()
    return tenant


async def test_net_retail_counts_sales_and_returns_in_their_own_cst_period(pool, caught_up):
    assert await net_retail(pool, caught_up, "A2", "2026-01") == 19800 + 9900 - 9900 + 9900
    assert await net_retail(pool, caught_up, "A3", "2026-01") == 0
    assert await net_retail(pool, caught_up, "A3", "2026-02") == 9900
    assert await stock_of(pool, caught_up, "A1") == {"TEA-01": 70}
    pushed = await pool.fetch(
        "SELECT agent, period, units, amount FROM rm_sales.downline_sales WHERE tenant = $1",
        caught_up,
    )
    assert [tuple(r.values()) for r in pushed] == [("A1", "2026-01", 30, 30 * 4950)]


async def test_a_downline_summary_has_counts_levels_and_net_retail_and_no_one_else(
    pool, caught_up
):
    summary = await downline_summary(pool, caught_up, "A1", period="2026-01")
    assert (summary.direct, summary.total, summary.active) == (2, 3, 2)
    assert summary.by_level == {1: 2, 2: 1}
    assert summary.net_retail_fen == 29700
    assert [(r.agent, r.tier, r.status, r.downline, r.net_retail_fen)
            for r in summary.recruits] == [("A2", "general", "active", 1, 29700),
                                           ("A4", "first", "suspended", 0, 0)]
    before = await downline_summary(
        pool, caught_up, "A1", at=datetime.fromisoformat("2026-01-15T00:00:00+08:00")
    )
    assert (before.total, before.active) == (3, 3)

    ids = [n.agent for n in await tree_as_of(pool, caught_up, agent="A1")]
    assert ids == ["A1", "A2", "A3", "A4"]
    ids = [n.agent for n in await tree_as_of(pool, caught_up, agent="A1/x")]
    assert ids == ["A1/x", "Cx"]
    node = await agent_as_of(pool, caught_up, "A1/x")
    assert node is not None and (node.direct, node.total) == (1, 1)
    assert await agent_as_of(
        pool, caught_up, "A1/x", at=datetime.fromisoformat("2026-02-01T00:00:00+08:00")
    ) is None


async def test_kpis_of_january(pool, caught_up):
    k = await kpis_of(pool, caught_up, "2026-01")
    assert k.net_retail_fen == 29700
    assert (k.customers, k.repurchase_rate_30d) == (2, 0.5)
    assert (k.active_agents, k.retail_per_active_agent_fen) == (3, 9900)
    assert (k.new_agents, k.retention_3m) == (4, 0.75)  # A4 is still suspended
    assert k.payout_share is None  # January was never closed

    early = datetime.fromisoformat("2026-04-05T12:00:00+08:00")  # A1's and A2's marks only
    assert (await kpis_of(pool, caught_up, "2026-01", as_of=early)).retention_3m == 1.0
    too_early = datetime.fromisoformat("2026-03-01T00:00:00+08:00")
    assert (await kpis_of(pool, caught_up, "2026-01", as_of=too_early)).retention_3m is None


def _raw(stream: str, version: int, name: str, at: str, **state: Any) -> NewEvent:
    """An event in the Codec's own format that the ledger would never have accepted."""
    when = datetime.fromisoformat(at)
    stamp = {"_type_": "datetime_iso", "_data_": when.astimezone(UTC).isoformat()}
    return NewEvent(stream, version, name, json.dumps({"timestamp": stamp, **state}).encode(),
                    when)


@pytest.mark.parametrize(("event", "why"), [
    (_raw("stock-A9", 1, "StockShipped", "2026-03-01T09:00:00+08:00", purchase="A8-P1",
          buyer="A8", lines=[{"sku": "TEA-01", "qty": 5, "unit_price": 4950}]),
     "stock would go below zero"),
    (_raw("agent-A9", 2, "AgentSuspended", "2026-03-01T09:00:00+08:00", reason="?"),
     "names unknown agent 'A9'"),
    (_raw("sale-S9", 2, "SaleReturned", "2026-03-01T09:00:00+08:00", amount=9900,
          lines=[{"sku": "TEA-01", "qty": 1, "unit_price": 9900}], reason=None,
          hq_approved=False, within_window=True),
     "returns of unknown sales"),
])
async def test_a_projection_stops_and_says_why_on_what_the_ledger_never_records(
    pool, pg_store, caught_up, event: NewEvent, why: str
):
    await pg_store.append(caught_up, [event])
    runner = ProjectionRunner(pool, pg_store, all_projections(), tenant=caught_up)
    await runner.catch_up_all()
    (name, failure), = runner.halted.items()
    assert why in failure
    assert await pool.fetchval(
        f"SELECT position FROM rm_{name}.checkpoint WHERE tenant = $1", caught_up
    ) == await pg_store.head(caught_up) - 1  # everything before it, nothing of it


async def test_net_retail_as_of_a_past_day_sums_the_period_up_to_the_end_of_that_day(
    pool, caught_up
):
    def day_end(day: int) -> datetime:  # the console's "as of": the day's last instant, CST
        return datetime.fromisoformat(f"2026-01-{day:02}T23:59:59.999999+08:00")

    async def team(day: int) -> tuple[int, list[tuple[str, int]]]:
        found = await downline_summary(pool, caught_up, "A1", period="2026-01",
                                       at=day_end(day))
        return found.net_retail_fen, [(r.agent, r.net_retail_fen) for r in found.recruits]

    assert await team(9) == (0, [("A2", 0), ("A4", 0)])
    assert await team(10) == (19800, [("A2", 19800), ("A4", 0)])  # S1
    # The 12th: S2 sold and S1 half returned, each on its own day.
    assert await team(12) == (19800, [("A2", 19800), ("A4", 0)])
    assert await team(19) == (19800, [("A2", 19800), ("A4", 0)])
    # The period's last day: the whole month (S3 on the 20th; S4 is 1 February in CST).
    assert await team(31) == (29700, [("A2", 29700), ("A4", 0)])


def test_a_period_is_cut_short_only_by_a_past_day_before_its_last():
    now = datetime(2026, 3, 1, tzinfo=UTC)
    tenth = datetime.fromisoformat("2026-01-10T23:59:59.999999+08:00")
    assert through_day("2026-01", tenth, now) == tenth.date()
    assert through_day("2026-01", None, now) is None  # now: the period's row
    assert through_day("2026-02", tenth, now) is None  # another period: its row
    assert through_day("2026-01", tenth, tenth) is None  # nothing after it is recorded yet
    last = datetime.fromisoformat("2026-01-31T23:59:59.999999+08:00")
    assert through_day("2026-01", last, now) is None  # the whole period is in
