"""Settlement maths (domain/settlement): brackets, freeze and roll-over, clawbacks, cap.

Amounts are fen; times are China Standard Time as the journals write them.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.periods import CST
from domain.settlement import (
    DEFAULT_PLAN,
    CommissionPlan,
    Ledger,
    Line,
    ReturnFact,
    SaleFact,
    SettlementError,
    Statement,
    plan_from_policy,
    settle,
)
from domain.settlement.commissions import bracket_segments, div_half_up

D = Decimal


def cst(month: int, day: int, hour: int = 9, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=CST)


def sale(
    sale_id: str,
    seller: str,
    at: datetime,
    units: int,
    fen: int,
    sponsor: str | None = None,
) -> SaleFact:
    return SaleFact(sale_id, seller, at, units, fen, source=f"ev-{sale_id}", sponsor=sponsor)


def ret(sale_id: str, at: datetime, units: int, fen: int, tag: str = "") -> ReturnFact:
    return ReturnFact(sale_id, at, units, fen, source=f"ev-return-{sale_id}{tag}")


def totals(statements: tuple[Statement, ...]) -> dict[str, int]:
    return {s.agent: s.total_fen for s in statements}


def amounts(statement: Statement) -> list[tuple[str, str, str, int | None, int, int]]:
    return [
        (ln.kind, ln.sale_id, ln.period, ln.bracket, ln.base_fen, ln.amount_fen)
        for ln in statement.lines
    ]


def one(statements: tuple[Statement, ...], agent: str) -> Statement:
    (found,) = [s for s in statements if s.agent == agent]
    return found


# Scenario 03 (../shared/scenarios/03-settlement.jsonl), fact by fact.
SCENARIO_SALES = (
    sale("S1", "A1", cst(1, 3), 4, 400_000),
    sale("S7", "B1", cst(1, 3, 12), 1100, 110_000_000),
    sale("S2", "A1", cst(1, 5), 3, 300_000),
    sale("S3", "A1", cst(1, 10), 10, 1_000_000),
    sale("S4", "A1", cst(1, 15), 5, 475_555),
    sale("S5", "A1", cst(1, 29), 2, 200_000),
    sale("S6", "A1", cst(2, 10), 1, 100_000),
)
SCENARIO_RETURNS = (
    ret("S3", cst(1, 12), 1, 100_000, "-1"),  # within the 7 days, before payment
    ret("S3", cst(2, 15), 2, 200_000, "-2"),  # late, HQ-approved, after payment
)


def test_scenario_03_statements_come_out_to_the_fen() -> None:
    issued = settle(DEFAULT_PLAN, SCENARIO_SALES, SCENARIO_RETURNS, ["2026-01", "2026-02"])

    assert totals(issued["2026-01"]) == {"A1": 48_778, "B1": 5_445_000}
    assert totals(issued["2026-02"]) == {"A1": 4_000}
    flagged = {p: [s.agent for s in st_ if s.tax_flag] for p, st_ in issued.items()}
    assert flagged == {"2026-01": ["B1"], "2026-02": []}

    assert amounts(one(issued["2026-01"], "A1")) == [
        ("bracket", "S1", "2026-01", 0, 400_000, 0),
        ("bracket", "S2", "2026-01", 0, 100_000, 0),
        ("bracket", "S2", "2026-01", 1, 200_000, 6_000),
        ("bracket", "S3", "2026-01", 1, 900_000, 27_000),  # 9 units after the early return
        ("bracket", "S4", "2026-01", 1, 400_000, 12_000),
        ("bracket", "S4", "2026-01", 2, 75_555, 3_778),  # 3,777.75 fen, half up
    ]
    # S5 rolled over: paid in February, still a January line filling January's brackets
    # after the 20,755.55 already filled; S6 starts February's brackets at 0%; S3's late
    # return of 2 of its 9 paid units claws back 270.00 x 2/9 at the line's 3%.
    assert amounts(one(issued["2026-02"], "A1")) == [
        ("bracket", "S5", "2026-01", 2, 200_000, 10_000),
        ("bracket", "S6", "2026-02", 0, 100_000, 0),
        ("clawback", "S3", "2026-01", 1, -200_000, -6_000),
    ]
    clawback = one(issued["2026-02"], "A1").lines[-1]
    assert clawback.rate == D("0.03")
    assert clawback.return_source == "ev-return-S3-2"
    assert clawback.sale_source == "ev-S3"


def test_a_sale_crossing_a_bracket_boundary_gives_two_lines() -> None:
    ledger = Ledger()
    ledger.record_sale(sale("X1", "A1", cst(1, 2), 1, 450_000))
    ledger.record_sale(sale("X2", "A1", cst(1, 3), 1, 100_000))  # 4,500 -> 5,500
    (statement,) = ledger.close("2026-01")
    assert amounts(statement)[1:] == [
        ("bracket", "X2", "2026-01", 0, 50_000, 0),
        ("bracket", "X2", "2026-01", 1, 50_000, 1_500),
    ]


def test_a_sale_spanning_all_three_brackets_gives_three_lines() -> None:
    segments = list(bracket_segments(0, 2_500_000, DEFAULT_PLAN.brackets))
    assert segments == [(0, 500_000, D("0")), (1, 1_500_000, D("0.03")), (2, 500_000, D("0.05"))]


def test_each_line_is_rounded_to_the_fen_half_up() -> None:
    plan = CommissionPlan(brackets=((0, D("0.05")),))
    ledger = Ledger(plan)
    ledger.record_sale(sale("H1", "A1", cst(1, 2), 1, 30))  # 1.5 fen -> 2
    ledger.record_sale(sale("H2", "A1", cst(1, 3), 1, 29))  # 1.45 fen -> 1
    ledger.record_sale(sale("H3", "A1", cst(1, 4), 1, 10))  # 0.5 fen -> 1
    (statement,) = ledger.close("2026-01")
    assert [ln.amount_fen for ln in statement.lines] == [2, 1, 1]
    assert statement.total_fen == 4  # rounded per line, not 3 (3.45 on the sum)
    assert [div_half_up(n, 2) for n in (1, 3, -1, -3)] == [1, 2, -1, -2]


def test_a_rolled_over_sale_keeps_its_own_period_and_fills_its_own_brackets() -> None:
    ledger = Ledger()
    ledger.record_sale(sale("J1", "A1", cst(1, 30), 1, 300_000))  # window ends Feb 6
    ledger.record_sale(sale("F1", "A1", cst(2, 2), 1, 2_500_000))
    assert ledger.close("2026-01") == ()
    (february,) = ledger.close("2026-02")
    assert amounts(february)[0] == ("bracket", "J1", "2026-01", 0, 300_000, 0)
    assert february.period == "2026-02"
    # February's own sale starts February's brackets from zero, untouched by J1.
    assert amounts(february)[1] == ("bracket", "F1", "2026-02", 0, 500_000, 0)
    assert ledger.filled_fen("A1", "2026-01") == 300_000
    assert ledger.filled_fen("A1", "2026-02") == 2_500_000


def test_a_sale_whose_window_ends_exactly_at_the_close_rolls_and_one_second_earlier_is_paid(
) -> None:
    """DOMAIN.md, freeze: a window that ends at the very instant of the close has not
    passed, since a no-reason return is still accepted then (both ends of the 7 days are
    in it). Before, E1 was paid at January's close and clawed back by that return."""
    ledger = Ledger()
    ledger.record_sale(sale("E0", "A1", cst(1, 24, 23, 59, 59), 1, 100))
    ledger.record_sale(sale("E1", "A1", cst(1, 25, 0), 1, 100))  # window ends Feb 1 00:00
    (january,) = ledger.close("2026-01")
    assert [ln.sale_id for ln in january.lines] == ["E0"]
    (february,) = ledger.close("2026-02")
    assert [ln.sale_id for ln in february.lines] == ["E1"]


def test_a_late_return_claws_back_each_line_at_its_own_rate_and_version() -> None:
    v2 = CommissionPlan(version=2, brackets=((0, D("0.10")),))

    def plan_for(at: datetime) -> CommissionPlan:
        return v2 if at >= cst(2, 1, 0) else DEFAULT_PLAN

    ledger = Ledger(plan_for)
    ledger.record_sale(sale("P1", "A1", cst(1, 2), 15, 1_500_000))  # fills 0 .. 15,000
    ledger.record_sale(sale("P2", "A1", cst(1, 3), 10, 1_000_000))  # 3% and 5% lines
    (january,) = ledger.close("2026-01")
    assert [(ln.rate, ln.amount_fen) for ln in january.lines if ln.sale_id == "P2"] == [
        (D("0.03"), 15_000),
        (D("0.05"), 25_000),
    ]
    ledger.record_return(ret("P2", cst(2, 20), 3, 300_000))
    (february,) = ledger.close("2026-02")
    assert [
        (ln.kind, ln.rate, ln.bracket, ln.amount_fen, ln.policy_version) for ln in february.lines
    ] == [
        ("clawback", D("0.03"), 1, -4_500, 1),
        ("clawback", D("0.05"), 2, -7_500, 1),
    ]
    assert february.policy_version == 2


def test_returns_in_pieces_never_claw_back_more_than_a_line_paid() -> None:
    plan = CommissionPlan(brackets=((0, D("0.02")),))
    ledger = Ledger(plan)
    ledger.record_sale(sale("Q1", "A1", cst(1, 2), 3, 10_000))  # one line of 200 fen
    ledger.close("2026-01")
    for n in range(3):  # 66.67 fen each if rounded alone: 67 x 3 would be 201
        ledger.record_return(ret("Q1", cst(2, 10 + n), 1, 3_333 + (n == 2), f"-{n}"))
    (february,) = ledger.close("2026-02")
    assert [ln.amount_fen for ln in february.lines] == [-67, -66, -67]
    assert february.total_fen == -200


def test_a_return_before_payment_shrinks_the_sale_instead_of_clawing_back() -> None:
    ledger = Ledger()
    ledger.record_sale(sale("R1", "A1", cst(1, 20), 10, 3_000_000))
    ledger.record_return(ret("R1", cst(1, 30), 5, 1_500_000))  # late but before the close
    (january,) = ledger.close("2026-01")
    assert sum(ln.base_fen for ln in january.lines) == 1_500_000
    assert all(ln.kind == "bracket" for ln in january.lines)
    assert ledger.close("2026-02") == ()


def test_all_commissions_from_one_sale_are_capped_at_30_percent() -> None:
    plan = CommissionPlan(brackets=((0, D("0.50")),), override_levels=1, override_rate=D("0.10"))
    ledger = Ledger(plan)
    ledger.record_sale(sale("C1", "A2", cst(1, 2), 1, 1_002, sponsor="A1"))
    statements = ledger.close("2026-01")
    lines = [ln for s in statements for ln in s.lines]
    assert sum(ln.amount_fen for ln in lines) == 300  # 30% of 10.02 is 300.6 fen, rounded down
    # The override goes first, then the bracket line is trimmed.
    assert {ln.kind: (ln.amount_fen, ln.capped_fen) for ln in lines} == {
        "override": (0, 100),
        "bracket": (300, 201),
    }


def test_a_plan_beyond_the_hard_limits_cannot_be_made() -> None:
    with pytest.raises(ValueError, match="hard-limit"):
        CommissionPlan(override_levels=2, override_rate=D("0.01"))
    with pytest.raises(ValueError, match="hard-limit"):
        CommissionPlan(cap=D("0.31"))
    with pytest.raises(ValueError, match="Decimal"):
        CommissionPlan(brackets=((0, 0.03),))  # type: ignore[arg-type]


def test_an_override_pays_the_direct_sponsor_only_when_switched_on() -> None:
    facts = [sale("O1", "A2", cst(1, 2), 2, 800_000, sponsor="A1")]
    off = settle(DEFAULT_PLAN, facts, [], ["2026-01"])["2026-01"]
    assert [s.agent for s in off] == ["A2"]

    plan = CommissionPlan(override_levels=1, override_rate=D("0.02"), version=7)
    late = [ret("O1", cst(2, 3), 1, 400_000)]
    issued = settle(plan, facts, late, ["2026-01", "2026-02"])
    sponsor = one(issued["2026-01"], "A1")
    assert amounts(sponsor) == [("override", "O1", "2026-01", None, 800_000, 16_000)]
    assert sponsor.lines[0].policy_version == 7
    assert totals(issued["2026-01"]) == {"A1": 16_000, "A2": 9_000}
    assert totals(issued["2026-02"]) == {"A1": -8_000, "A2": -4_500}


def test_an_agent_with_no_lines_gets_no_statement() -> None:
    ledger = Ledger()
    ledger.record_sale(sale("N1", "A1", cst(1, 2), 1, 100_000))
    ledger.record_sale(sale("N2", "A2", cst(1, 2), 1, 100_000))
    ledger.record_return(ret("N2", cst(1, 3), 1, 100_000))  # all of it, within the window
    ledger.record_sale(sale("N3", "A3", cst(1, 31), 1, 100_000))  # still in its window
    assert [s.agent for s in ledger.close("2026-01")] == ["A1"]
    assert [s.agent for s in ledger.close("2026-02")] == ["A3"]
    assert ledger.close("2026-03") == ()


def test_a_preview_records_nothing() -> None:
    ledger = Ledger()
    for fact in SCENARIO_SALES:
        ledger.record_sale(fact)
    ledger.record_return(SCENARIO_RETURNS[0])

    mid = ledger.preview("2026-01", at=cst(1, 12, 12))  # S4 and S5 not yet known
    assert totals(mid) == {"A1": 33_000, "B1": 5_445_000}
    whole = ledger.preview("2026-01")
    assert ledger.last_closed is None
    assert ledger.filled_fen("A1", "2026-01") == 0
    assert ledger.payment("S1") is None
    assert ledger.preview("2026-01") == whole
    assert ledger.close("2026-01") == whole

    ledger.record_return(SCENARIO_RETURNS[1])
    before = ledger.payment("S3")
    february = ledger.preview("2026-02")
    assert ledger.payment("S3") == before and before is not None and before.returned == 0
    assert ledger.close("2026-02") == february
    assert totals(february) == {"A1": 4_000}


def test_facts_in_a_closed_period_and_closes_out_of_order_are_refused() -> None:
    ledger = Ledger()
    ledger.record_sale(sale("K1", "A1", cst(1, 2), 2, 1_000))
    ledger.close("2026-01")
    with pytest.raises(SettlementError, match="period-closed"):
        ledger.record_sale(sale("K2", "A1", cst(1, 31), 1, 1_000))
    with pytest.raises(SettlementError, match="period-closed"):
        ledger.record_return(ret("K1", cst(1, 20), 1, 500))
    with pytest.raises(SettlementError, match="period-closed"):
        ledger.close("2026-01")
    with pytest.raises(SettlementError, match="duplicate-sale"):
        ledger.record_sale(sale("K1", "A1", cst(2, 2), 1, 1_000))
    with pytest.raises(SettlementError, match="unknown-sale"):
        ledger.record_return(ret("ZZ", cst(2, 2), 1, 1_000))
    with pytest.raises(SettlementError, match="return-exceeds-sale"):
        ledger.record_return(ret("K1", cst(2, 2), 3, 1_000))


def test_a_sale_needs_an_aware_time_and_integer_money() -> None:
    with pytest.raises(ValueError, match="offset"):
        sale("T1", "A1", datetime(2026, 1, 2), 1, 100)
    with pytest.raises(ValueError, match="integer"):
        sale("T1", "A1", cst(1, 2), 1, 99.5)  # type: ignore[arg-type]


def test_the_default_policy_gives_the_default_plan() -> None:
    from domain.policy.model import DEFAULT_POLICY

    assert plan_from_policy(DEFAULT_POLICY) == DEFAULT_PLAN


# Properties: random months of sales for a few agents, under random plans.

START = cst(1, 1, 0)
AGENTS = ("A1", "A2", "A3")


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[SaleFact], list[ReturnFact]]:
    sales: list[SaleFact] = []
    returns: list[ReturnFact] = []
    for n in range(draw(st.integers(1, 25))):
        at = START + timedelta(minutes=draw(st.integers(0, 120 * 24 * 60)))
        units = draw(st.integers(1, 5))
        unit_fen = draw(st.integers(1, 800_000))
        seller = draw(st.sampled_from(AGENTS))
        sponsor = draw(st.sampled_from([None, *AGENTS]))
        sales.append(
            SaleFact(f"S{n}", seller, at, units, units * unit_fen, f"s{n}", sponsor=sponsor)
        )
        back = draw(st.integers(0, units))
        if back:  # within the 7 days: always before payment, whatever the closes
            later = timedelta(minutes=draw(st.integers(0, 7 * 24 * 60 - 1)))
            returns.append(ReturnFact(f"S{n}", at + later, back, back * unit_fen, f"r{n}"))
    return sales, returns


plans = st.builds(
    CommissionPlan,
    brackets=st.sampled_from(
        [DEFAULT_PLAN.brackets, ((0, D("0.25")), (300_000, D("0.9"))), ((0, D("1")),)]
    ),
    override_levels=st.integers(0, 1),
    override_rate=st.sampled_from([D("0"), D("0.05"), D("0.2")]),
)
MONTHS = ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]


def all_lines(issued: dict[str, tuple[Statement, ...]]) -> list[Line]:
    return [ln for statements in issued.values() for s in statements for ln in s.lines]


@settings(max_examples=60, deadline=None)
@given(histories(), plans)
def test_no_sale_ever_pays_more_than_30_percent_of_its_net_amount(
    history: tuple[list[SaleFact], list[ReturnFact]], plan: CommissionPlan
) -> None:
    sales, returns = history
    issued = dict(settle(plan, sales, returns, MONTHS))
    paid: dict[str, int] = defaultdict(int)
    for ln in all_lines(issued):
        paid[ln.sale_id] += ln.amount_fen
    for s in sales:
        net = s.amount_fen - sum(r.amount_fen for r in returns if r.sale_id == s.sale_id)
        assert 0 <= paid[s.sale_id] <= net * 3 // 10


@settings(max_examples=60, deadline=None)
@given(histories(), plans, st.sets(st.sampled_from(MONTHS[:-1])))
def test_when_periods_are_closed_does_not_change_what_is_paid(
    history: tuple[list[SaleFact], list[ReturnFact]],
    plan: CommissionPlan,
    closes: set[str],
) -> None:
    sales, returns = history
    monthly = all_lines(dict(settle(plan, sales, returns, MONTHS)))
    skipping = all_lines(dict(settle(plan, sales, returns, [*sorted(closes), MONTHS[-1]])))
    assert sorted(map(repr, monthly)) == sorted(map(repr, skipping))
    # Brackets are filled by exactly each agent's net retail of each period.
    base: dict[tuple[str, str], int] = defaultdict(int)
    for ln in monthly:
        if ln.kind == "bracket":
            base[ln.agent, ln.period] += ln.base_fen
    net: dict[tuple[str, str], int] = defaultdict(int)
    for s in sales:
        back = sum(r.amount_fen for r in returns if r.sale_id == s.sale_id)
        if s.amount_fen > back:
            net[s.seller, s.period] += s.amount_fen - back
    assert base == net


@settings(max_examples=60, deadline=None)
@given(histories(), plans, st.data())
def test_returning_everything_after_payment_claws_back_every_fen(
    history: tuple[list[SaleFact], list[ReturnFact]], plan: CommissionPlan, data: st.DataObject
) -> None:
    sales, _ = history
    ledger = Ledger(plan)
    for s in sales:
        ledger.record_sale(s)
    issued = {m: ledger.close(m) for m in MONTHS}
    at = cst(7, 1)
    for s in sales:  # every unit back, in random pieces, after payment
        left, n = s.units, 0
        while left:
            units = data.draw(st.integers(1, left))
            fen = s.amount_fen if units == left else 0
            ledger.record_return(ReturnFact(s.sale_id, at, units, fen, f"{s.sale_id}-{n}"))
            left, n = left - units, n + 1
    issued["2026-07"] = ledger.close("2026-07")
    per_agent: dict[str, int] = defaultdict(int)
    for ln in all_lines(issued):
        per_agent[ln.agent] += ln.amount_fen
    assert all(total == 0 for total in per_agent.values())
