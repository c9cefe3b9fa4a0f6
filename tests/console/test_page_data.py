"""What each console page shows, composed by console/data from the read models on
PostgreSQL, after the public sample journals: the numbers their expected files and
their lines state (worked out by hand in the comments)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.deps import Services
from config.settings import Settings
from console.data import agent, agents, events, genealogy, overview
from console.data.moments import as_of
from domain.compliance.commands import ResolveAlert
from domain.handling import Context
from domain.importing import run_journal
from domain.ledger import Ledger
from domain.periods import CST, period_end
from export.checkpoints import checkpoint
from projections.registry import all_projections
from projections.runner import ProjectionRunner
from projections.tree.queries import AgentFilter
from projections.watchers import run_watchers

SCENARIOS = Path(__file__).parents[2].parent / "shared" / "scenarios"


def _lines(name: str) -> list[str]:
    return (SCENARIOS / f"{name}.jsonl").read_text("utf-8").splitlines()


@pytest.fixture
async def brand(pool, pg_store, pg_vault, tenant):
    """Run journals into the tenant, the watchers and every projection caught up."""

    async def run(*names: str, then: tuple[str, ...] = ()) -> Services:
        for name in names:
            await run_journal(pg_store, pg_vault, tenant, _lines(name))
        if then:
            summary = await run_journal(pg_store, pg_vault, tenant, list(then))
            assert summary.refused == {}, summary.refused
        await run_watchers(pg_store, tenant)
        runner = ProjectionRunner(pool, pg_store, all_projections(), tenant=tenant)
        await runner.ensure()
        await runner.catch_up_all()
        assert runner.halted == {}
        return Services(settings=Settings(), tenant=tenant, pool=pool, store=pg_store,
                        ledger=Ledger(pg_store, pg_vault), tokens=None)  # type: ignore[arg-type]

    return run


AFTER_JANUARY = datetime(2026, 2, 15, 12, tzinfo=CST)


async def test_overview_of_a_month_against_the_one_before(brand) -> None:
    services = await brand("02-stock-and-sales")
    found = await overview.overview(services, "2026-01", now=AFTER_JANUARY)
    # A2: S1 2 x 99.00, one returned; A1: S4 3 x 89.10 (its return refused, line 21).
    assert found.network.net_retail_fen == 19800 - 9900 + 26730
    assert (found.network.retail_units, found.network.returned_units) == (5, 1)
    # A1's 100 units from HQ at the partner price, 40% of 99.00.
    assert (found.network.hq_units, found.network.hq_fen) == (100, 100 * 3960)
    assert found.days == 31 and found.previous.net_retail_fen == 0
    assert (found.joined, found.terminated) == (4, 0)
    assert found.overrides_on is False
    assert found.monthly_net_retail[-1] == ("2026-01", 36630)
    assert [p for p, _ in found.monthly_net_retail] == [
        "2025-08", "2025-09", "2025-10", "2025-11", "2025-12", "2026-01"]

    # On the 10th, only S1 had been sold (S4 is the 11th, the return the 15th); February
    # so far, against January's first 15 days: nothing yet against S1 and S4's 465.30.
    tenth = await overview.overview(services, "2026-01", now=datetime(2026, 1, 10, 12, tzinfo=CST))
    assert (tenth.days, tenth.network.net_retail_fen) == (10, 19800)
    february = await overview.overview(services, "2026-02", now=AFTER_JANUARY)
    assert february.days == 15
    assert (february.network.net_retail_fen, february.previous.net_retail_fen) == (0, 36630)


async def test_agents_joined_and_terminated_in_a_month(brand) -> None:
    services = await brand("01-joins", then=(
        '{"at": "2026-02-03T09:00:00+08:00", "cmd": "terminate", "agent": "A9"}',))
    january = await overview.overview(services, "2026-01", now=AFTER_JANUARY)
    assert (january.joined, january.terminated) == (4, 0)  # A1, A2, A3, A9
    february = await overview.overview(services, "2026-02", now=AFTER_JANUARY)
    assert (february.joined, february.terminated) == (0, 1)
    agents_now = await agents.agents(services, AgentFilter(status="terminated"),
                                     as_of=AFTER_JANUARY)
    assert [m.agent for m in agents_now.rows] == ["A9"]


async def test_overview_statements_alerts_and_checkpoint(brand) -> None:
    services = await brand("03-settlement")
    found = await overview.overview(services, "2026-01", now=AFTER_JANUARY)
    assert (found.statements, found.statements_fen) == (2, 48778 + 5445000)  # A1, B1
    assert found.checkpoint is None  # nothing signed yet
    february = await overview.overview(services, "2026-02", now=datetime(2026, 3, 2, tzinfo=CST))
    assert (february.statements, february.statements_fen) == (1, 4000)


async def test_open_alerts_by_rule(brand) -> None:
    services = await brand("04-alerts")
    june = datetime(2026, 6, 1, tzinfo=UTC)
    found = await overview.overview(services, "2026-06", now=june)
    assert found.open_at is None  # the current period: open now
    assert {a.rule for a in found.open_alerts} == {
        "entry-loading", "hoarding-70", "days-of-cover", "push-down",
        "recruiting-without-selling"}
    assert sum(a.count for a in found.open_alerts) == 5
    every = {}
    for period in ("2026-02", "2026-03", "2026-04"):
        raised = (await overview.overview(services, period)).raised_by_rule
        for rule, n in raised.items():
            every[rule] = every.get(rule, 0) + n
    assert sum(every.values()) == 5
    a1 = await agent.agent_page(services, "A1", as_of=None)
    assert {a["rule"] for a in a1.alerts} == {"entry-loading", "hoarding-70", "days-of-cover"}
    assert a1.member is not None and a1.member.open_alerts == 3


async def test_agents_found_filtered_and_paged(brand) -> None:
    services = await brand("01-joins")
    now = datetime(2026, 1, 20, tzinfo=CST)
    every = await agents.agents(services, AgentFilter(), as_of=now)
    # A4..A8 were refused (lines 5-9), A9 joined on the second try (line 14).
    assert [m.agent for m in every.rows] == ["A1", "A2", "A3", "A9"]
    a1 = every.rows[0]
    assert (a1.tier, a1.depth, a1.sponsor, a1.status, a1.team, a1.levels) == (
        "partner", 1, None, "active", 3, 3)
    paged = await agents.agents(services, AgentFilter(), limit=2, as_of=now)
    assert [m.agent for m in paged.rows] == ["A1", "A2"] and paged.next_after == "A2"
    rest = await agents.agents(services, AgentFilter(), after="A2", limit=2, as_of=now)
    assert [m.agent for m in rest.rows] == ["A3", "A9"] and rest.next_after is None
    assert [m.agent for m in (await agents.agents(
        services, AgentFilter(prefix="A"), as_of=now)).rows] == ["A1", "A2", "A3", "A9"]
    assert [m.agent for m in (await agents.agents(
        services, AgentFilter(depth=3), as_of=now)).rows] == ["A3", "A9"]
    assert [m.agent for m in (await agents.agents(
        services, AgentFilter(under="A2"), as_of=now)).rows] == ["A3", "A9"]
    assert [m.agent for m in (await agents.agents(
        services, AgentFilter(tier="first", under="A1"), as_of=now)).rows] == ["A3", "A9"]
    assert (await agents.agents(services, AgentFilter(status="suspended"), as_of=now)).rows == ()
    assert (await agents.agents(services, AgentFilter(prefix="A9x"), as_of=now)).rows == ()


async def test_genealogy_as_of_dates(brand) -> None:
    services = await brand("01-joins")
    top = await genealogy.children(services, None, as_of=None)
    assert [m.agent for m in top.rows] == ["A1"]
    now = await genealogy.children(services, "A1", as_of=None)
    assert [(m.agent, m.team, m.levels) for m in now.rows] == [("A2", 2, 2)]
    # On the 7th A2 was suspended and A9 not yet in (refused that day, joined the 8th).
    seventh = await genealogy.children(services, "A1", as_of=as_of(date(2026, 1, 7)))
    assert [(m.agent, m.status, m.team) for m in seventh.rows] == [("A2", "suspended", 1)]
    assert [m.agent for m in (await genealogy.children(
        services, "A2", as_of=as_of(date(2026, 1, 8)))).rows] == ["A3", "A9"]
    assert (await genealogy.children(services, "A1", as_of=as_of(date(2026, 1, 4)))).rows == ()
    assert await genealogy.jump(services, "A9", as_of=None) == ["A1", "A2", "A9"]
    assert await genealogy.jump(services, "A9", as_of=as_of(date(2026, 1, 7))) is None
    chart = await genealogy.chart(services, "A1", as_of=None)
    assert [n.agent for n in chart] == ["A1", "A2", "A3", "A9"]
    assert len(await genealogy.chart(services, "A1", as_of=None, limit=3)) == 3


async def test_agent_page_as_it_stood(brand) -> None:
    services = await brand("02-stock-and-sales")
    then = await agent.agent_page(services, "A2", as_of=as_of(date(2026, 1, 10)))
    assert then.member is not None and then.member.status == "active"
    assert then.path == ("A1", "A2")
    assert [(s.sku, s.on_hand, s.retail_30d) for s in then.ledgered.stock] == [
        ("TEA-01", 28, 2)]
    # 30 units from A1 at the general tier's price, 49.50 (line 8).
    assert [(m.kind, m.counterpart, m.units, m.amount_fen)
            for m in then.ledgered.purchases] == [("StockPurchased", "A1", 30, 30 * 4950)]
    assert then.ledgered.net_retail_fen == 19800  # S1; its return came on the 15th
    later = await agent.agent_page(services, "A2", as_of=as_of(date(2026, 1, 21)))
    assert later.member is not None and later.member.status == "suspended"
    assert [(s.on_hand, s.retail_30d) for s in later.ledgered.stock] == [(29, 1)]
    assert later.ledgered.net_retail_fen == 19800 - 9900
    assert [(m.kind, m.ref, m.units) for m in later.ledgered.sales] == [
        ("StockReturned", "S1", 1), ("StockSoldAtRetail", "S1", 2)]
    assert later.timeline[0].name == "AgentSuspended"
    assert then.timeline[0].name == "StockSoldAtRetail"  # S1, that morning
    before = await agent.agent_page(services, "A2", as_of=as_of(date(2026, 1, 4)))
    assert before.member is None and before.ledgered.stock == [] and before.timeline == ()
    a1 = await agent.agent_page(services, "A1", as_of=None)
    assert a1.downline is not None and (a1.downline.direct, a1.downline.total) == (1, 2)


async def test_events_of_a_kind_in_log_order_across_pages(brand) -> None:
    """A rare kind and a common one, a page of one at a time, are exactly the log's events
    of that kind in position order (the kind typed in any case: events_by_kind is on
    lower(name))."""
    services = await brand("03-settlement")
    log = await services.store.read_all(services.tenant, limit=10_000)
    for kind, typed in (("PeriodClosed", "periodclosed"), ("AgentJoined", "AgentJoined"),
                        ("StockSoldAtRetail", "STOCKSOLDATRETAIL")):
        expected = [e.position for e in log if e.name == kind]
        assert len(expected) >= 2, kind  # so that it takes pages
        found, after = [], 0
        while True:
            page = await events.events(services, name=typed, after=after, limit=1)
            assert {e.name for e in page.rows} <= {kind}
            found += [e.position for e in page.rows]
            if page.next_after is None:
                break
            after = page.next_after
        assert found == expected, kind
    assert (await events.events(services, name="NoSuchKind")).rows == ()


async def test_events_page_masks_personal_data_and_names_its_checkpoint(brand) -> None:
    services = await brand("02-stock-and-sales")
    joins = await events.events(services, name="AgentJoined")
    assert [e.stream for e in joins.rows] == ["agent-A1", "agent-A2", "agent-A3", "agent-B1"]
    first = await events.event(services, joins.rows[0].position)
    assert first is not None and first.row.fields["personal"] == "<sealed>"
    assert "代理A1" not in repr(first.row.fields) and "13800388096" not in repr(first.row.fields)
    assert first.checkpoint is None
    previous = await events.event(services, joins.rows[0].position - 1)
    assert previous is not None and first.prev_hash == previous.hash
    paged = await events.events(services, name="AgentJoined", limit=3)
    assert len(paged.rows) == 3 and paged.next_after == paged.rows[-1].position
    rest = await events.events(services, name="AgentJoined", after=paged.next_after or 0)
    assert [e.stream for e in rest.rows] == ["agent-B1"]
    a2 = await events.events(services, stream="stock-A2", first_day=date(2026, 1, 10),
                             last_day=date(2026, 1, 10))
    assert [e.name for e in a2.rows] == ["StockSoldAtRetail"]
    assert await events.event(services, 10_000) is None

    head = await services.store.head(services.tenant)
    cuts = await checkpoint(services.store, services.tenant, Ed25519PrivateKey.generate(),
                            every=10, through_head=True)
    assert [(c.first, c.last) for c in cuts][:2] == [(1, 10), (11, 20)]
    signed = await events.event(services, 12)
    assert signed is not None and signed.checkpoint is not None
    assert (signed.checkpoint["from_position"], signed.checkpoint["to_position"]) == (11, 20)
    assert signed.checkpoint["position"] == head + 2  # the second CheckpointSigned
    found = await overview.overview(services, "2026-01", now=AFTER_JANUARY)
    assert found.checkpoint is not None and found.checkpoint.to_position == head


async def test_net_retail_as_of_a_past_date_stops_at_the_end_of_that_day(brand) -> None:
    services = await brand("02-stock-and-sales")
    # A2 sold S1 (198.00) on the 10th and took one unit back (99.00) on the 15th; A1
    # sold S4 (267.30) on the 11th. The month's totals are 99.00 and 267.30.
    tenth = as_of(date(2026, 1, 10))
    top = await genealogy.children(services, None, as_of=tenth)
    assert [(m.agent, m.net_retail_fen) for m in top.rows] == [("A1", 0), ("B1", 0)]
    under_a1 = await genealogy.children(services, "A1", as_of=tenth)
    assert [(m.agent, m.net_retail_fen) for m in under_a1.rows] == [("A2", 19800)]
    fifteenth = await genealogy.children(services, "A1", as_of=as_of(date(2026, 1, 15)))
    assert [m.net_retail_fen for m in fifteenth.rows] == [9900]

    a1 = await agent.agent_page(services, "A1", as_of=tenth)
    assert a1.member is not None and a1.member.net_retail_fen == a1.ledgered.net_retail_fen == 0
    assert a1.downline is not None and a1.downline.net_retail_fen == 19800
    assert [(r.agent, r.net_retail_fen) for r in a1.downline.recruits] == [("A2", 19800)]
    month = await agent.agent_page(services, "A1", as_of=as_of(date(2026, 1, 31)))
    assert month.member is not None and month.member.net_retail_fen == 26730
    assert month.downline is not None and month.downline.net_retail_fen == 9900


async def test_open_alerts_of_a_past_period_are_those_open_when_it_ended(
        brand, pool, pg_store) -> None:
    services = await brand("04-alerts")
    # March's push-down verdict is raised at its close, 1 April 00:00 (with entry loading
    # and days of cover judged as the clock passed that instant); compliance resolves it
    # on 6 April.
    await services.ledger.compliance.resolve_alert(
        Context(services.tenant, "compliance:li"),
        ResolveAlert(datetime(2026, 4, 6, 10, tzinfo=CST), "push-down:A2:2026-03", "real"))
    runner = ProjectionRunner(pool, pg_store, all_projections(), tenant=services.tenant)
    await runner.catch_up_all()
    june = datetime(2026, 6, 1, tzinfo=UTC)

    async def open_at_end(period: str) -> dict[str, int]:
        found = await overview.overview(services, period, now=june)
        assert found.open_at == period_end(period)
        return {a.rule: a.count for a in found.open_alerts}

    assert await open_at_end("2026-02") == {}  # nothing raised yet
    assert await open_at_end("2026-03") == {
        "entry-loading": 1, "hoarding-70": 1, "days-of-cover": 1, "push-down": 1,
        "recruiting-without-selling": 1}
    assert "push-down" not in await open_at_end("2026-04")
    now = await overview.overview(services, "2026-06", now=june)
    assert now.open_at is None and sum(a.count for a in now.open_alerts) == 4


async def test_the_agents_list_as_of_a_past_date(brand) -> None:
    services = await brand("02-stock-and-sales")
    tenth = await agents.agents(services, AgentFilter(), as_of=as_of(date(2026, 1, 10)))
    assert [(m.agent, m.status, m.net_retail_fen) for m in tenth.rows] == [
        ("A1", "active", 0), ("A2", "active", 19800), ("A3", "active", 0), ("B1", "active", 0)]
    now = await agents.agents(services, AgentFilter(), as_of=None)
    assert [(m.agent, m.status) for m in now.rows if m.agent == "A2"] == [("A2", "suspended")]
    before = await agents.agents(services, AgentFilter(), as_of=as_of(date(2026, 1, 4)))
    assert before.rows == ()


async def test_the_agents_list_filters_the_tree_as_it_stood(brand) -> None:
    services = await brand("01-joins")
    seventh = as_of(date(2026, 1, 7))  # A2 suspended, A9 not yet in (it joined the 8th)
    assert [(m.agent, m.status, m.team) for m in (await agents.agents(
        services, AgentFilter(under="A1"), as_of=seventh)).rows] == [
        ("A2", "suspended", 1), ("A3", "active", 0)]
    assert [m.agent for m in (await agents.agents(
        services, AgentFilter(status="suspended"), as_of=seventh)).rows] == ["A2"]


async def test_the_overrides_warning_follows_the_policy_in_force_in_the_period(brand) -> None:
    services = await brand("02-stock-and-sales", then=(
        '{"at": "2026-01-25T09:00:00+08:00", "cmd": "policy", "override_levels": 1,'
        ' "effective_from": "2026-02-01T00:00:00+08:00"}',))
    january = await overview.overview(services, "2026-01", now=AFTER_JANUARY)
    assert january.overrides_on is False  # on from February's first instant
    february = await overview.overview(services, "2026-02", now=AFTER_JANUARY)
    assert february.overrides_on is True
