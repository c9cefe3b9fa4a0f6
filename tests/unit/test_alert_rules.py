"""Each alert rule of DOMAIN.md at its threshold and just past it: first as a pure
judgment, then through the Monitor fed hand-built events, where windows and deadlines
are judged by business time."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from domain.compliance.judging import Breach, Seen
from domain.compliance.monitor import Monitor
from domain.compliance.rules import (
    days_of_cover,
    dispute_overdue,
    entry_loading,
    hoarding_70,
    push_down,
    pyramid_risk,
    recruiting_without_selling,
    tax_flag,
)
from domain.compliance.rules.thresholds import Thresholds
from domain.policy.model import DEFAULT_POLICY, to_document

T = Thresholds.of(DEFAULT_POLICY)
T0 = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)  # 09:00 CST
DAY = timedelta(days=1)


# the pure judgments


def test_the_default_thresholds_come_from_the_policy() -> None:
    assert (T.hoarding_share, T.cover_days, T.entry_loading_fen, T.tax_flag_fen) == (
        Decimal("0.70"), 90, 200_000, 5_000_000,
    )  # fmt: skip
    assert T.overrides_on is False
    custom = Thresholds.of(replace(DEFAULT_POLICY, version=2, hoarding_share=Decimal("0.5")))
    assert hoarding_70.breach(custom, 100, 50) is None


@pytest.mark.parametrize(("sold", "breach"), [(69, True), (70, False), (100, False)])
def test_hoarding_70_breaks_below_seventy_percent_sold(sold: int, breach: bool) -> None:
    assert (hoarding_70.breach(T, 100, sold) is not None) is breach


def test_hoarding_70_needs_units_bought_before() -> None:
    assert hoarding_70.breach(T, 0, 0) is None
    assert hoarding_70.breach(T, 200, 0) == {
        "bought_units_30d": 200, "sold_units_30d": 0, "sold_share": "0.0000",
        "required_share": "0.70",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("on_hand", "sold_30d", "breach"),
    [(90, 30, False), (91, 30, True), (1, 0, True), (0, 0, False), (0, 10, False)],
)
def test_days_of_cover_breaks_above_ninety_days(on_hand: int, sold_30d: int, breach: bool) -> None:
    assert (days_of_cover.breach(T, on_hand, sold_30d) is not None) is breach


def test_days_of_cover_without_sales_is_infinite() -> None:
    found = days_of_cover.breach(T, 5, 0)
    assert found is not None and found["days_of_cover"] == "infinite"


def test_push_down_breaks_when_downline_sales_exceed_own_retail() -> None:
    assert push_down.breach(297_000, 297_000, "2026-03") is None
    assert push_down.breach(0, -100_000, "2026-02") is None  # more returned than sold, none down
    assert push_down.breach(297_001, 297_000, "2026-03") == {
        "period": "2026-03", "downline_stock_sales": "2970.01", "own_net_retail": "2970.00",
    }  # fmt: skip


@pytest.mark.parametrize(("fen", "breach"), [(200_000, False), (200_001, True)])
def test_entry_loading_breaks_above_two_thousand(fen: int, breach: bool) -> None:
    assert (entry_loading.breach(T, fen, None, T0) is not None) is breach


def test_entry_loading_is_cleared_by_a_sale_within_thirty_days_only() -> None:
    assert entry_loading.breach(T, 500_000, T0 + 30 * DAY - timedelta(seconds=1), T0) is None
    assert entry_loading.breach(T, 500_000, T0 + 30 * DAY, T0) is not None


@pytest.mark.parametrize(
    ("recruits", "sales", "breach"), [(4, 0, False), (5, 0, True), (5, 1, False)]
)
def test_recruiting_without_selling_at_five(recruits: int, sales: int, breach: bool) -> None:
    assert (recruiting_without_selling.breach(recruits, sales) is not None) is breach


@pytest.mark.parametrize(
    ("levels", "members", "severity"),
    [(2, 500, None), (3, 29, None), (3, 30, "warning"), (3, 119, "warning"), (3, 120, "critical")],
)
def test_pyramid_risk_by_levels_and_members(
    levels: int, members: int, severity: str | None
) -> None:
    found = pyramid_risk.breach(T, levels, members, True, 0)
    assert (found[0] if found else None) == severity


def test_pyramid_risk_needs_one_of_its_conditions() -> None:
    assert pyramid_risk.breach(T, 3, 40, False, 0) is None
    assert pyramid_risk.breach(T, 3, 40, False, 1) is not None  # an open alert inside
    overrides = Thresholds.of(replace(DEFAULT_POLICY, override_levels=1))
    assert pyramid_risk.breach(overrides, 3, 40, False, 0) is not None


@pytest.mark.parametrize(("total", "flag"), [(5_000_000, False), (5_000_001, True)])
def test_tax_flag_above_fifty_thousand(total: int, flag: bool) -> None:
    assert tax_flag.flagged(total, T.tax_flag_fen) is flag
    assert (tax_flag.breach(flag, total, T.tax_flag_fen, "2026-03") is not None) is flag


def test_dispute_overdue_at_forty_eight_hours_unanswered() -> None:
    h48 = T0 + timedelta(hours=48)
    assert dispute_overdue.breach(T0, None, h48 - timedelta(seconds=1)) is None
    assert dispute_overdue.breach(T0, None, h48) is not None
    assert dispute_overdue.breach(T0, h48 - timedelta(seconds=1), h48) is None
    assert dispute_overdue.breach(T0, h48, h48) is not None  # answered too late


# through the Monitor, with hand-built events


class Log:
    """Hand-built events fed to a Monitor in position order; collects the breaches."""

    def __init__(self) -> None:
        self.monitor = Monitor()
        self.position = 0
        self.found: list[Breach] = []

    def add(self, at: datetime, stream: str, name: str, **data: Any) -> list[Breach]:
        self.position += 1
        found = self.monitor.observe(Seen(self.position, stream, name, at, data))
        self.found += found
        return found

    def raised(self) -> list[str]:
        return [b.key for b in self.found]

    def join(self, at: datetime, agent: str, sponsor: str | None = None, depth: int = 1) -> None:
        self.add(at, f"agent-{agent}", "AgentJoined", agent=agent, sponsor=sponsor, depth=depth)
        if sponsor is not None:
            self.add(at, f"agent-{sponsor}", "DownlineJoined", recruit=agent)

    def buy(self, at: datetime, agent: str, qty: int, price: int = 3960, seller: str | None = None
            ) -> list[Breach]:  # fmt: skip
        n = self.position + 1
        lines = [{"sku": "TEA-01", "qty": qty, "unit_price": price}]
        found = self.add(at, f"stock-{agent}", "StockPurchased", purchase=f"{agent}-P{n}",
                         seller=seller, lines=lines)  # fmt: skip
        if seller is not None:
            self.add(at, f"stock-{seller}", "StockShipped", purchase=f"{agent}-P{n}",
                     buyer=agent, lines=lines)  # fmt: skip
        return found

    def sell(self, at: datetime, agent: str, qty: int, price: int = 9900) -> None:
        lines = [{"sku": "TEA-01", "qty": qty, "unit_price": price}]
        self.add(at, f"stock-{agent}", "StockSoldAtRetail", sale=f"S{self.position}", lines=lines)

    def tick(self, at: datetime) -> list[Breach]:
        return self.add(at, "clock", "ClockTicked")


def test_hoarding_70_through_the_monitor_counts_the_previous_thirty_days() -> None:
    log = Log()
    log.join(T0, "A1")
    log.buy(T0 + DAY, "A1", 100)
    log.sell(T0 + 2 * DAY, "A1", 69)
    assert [b.rule for b in log.buy(T0 + 3 * DAY, "A1", 10)] == ["hoarding-70"]
    log.sell(T0 + 4 * DAY, "A1", 10)  # 79 of the 110 bought in the window: 71.8%
    assert log.buy(T0 + 5 * DAY, "A1", 10) == []
    # 31 days after the first purchase it has left the window: 10 + 10 bought, 10 sold
    found = [b for b in log.buy(T0 + 32 * DAY, "A1", 10) if b.rule == "hoarding-70"]
    assert [(b.numbers["bought_units_30d"], b.numbers["sold_units_30d"]) for b in found] == [
        (20, 10)
    ]


@pytest.mark.parametrize(
    ("after", "counted"), [(7 * DAY, True), (7 * DAY + timedelta(seconds=1), False)]
)
def test_entry_loading_counts_purchases_within_seven_days(after: timedelta, counted: bool) -> None:
    log = Log()
    log.join(T0, "A1")
    log.buy(T0 + after, "A1", 60)  # 60 x 39.60 = 2,376.00
    assert log.tick(T0 + 30 * DAY - timedelta(seconds=1)) == []  # not yet judged
    found = log.tick(T0 + 30 * DAY)
    assert ("entry-loading:A1" in [b.key for b in found]) is counted


def test_entry_loading_sums_the_purchases_of_the_first_seven_days() -> None:
    log = Log()
    log.join(T0, "A1")
    log.buy(T0 + DAY, "A1", 25)  # 990.00
    log.buy(T0 + 2 * DAY, "A1", 26)  # 1,029.60: 2,019.60 in all
    log.tick(T0 + 31 * DAY)
    assert "entry-loading:A1" in log.raised()


def test_days_of_cover_is_judged_after_thirty_days_and_again_as_sales_age() -> None:
    log = Log()
    log.join(T0, "A1")
    log.buy(T0 + DAY, "A1", 100)
    log.sell(T0 + 2 * DAY, "A1", 30)  # 70 on hand, 30 sold: 70 days of cover
    log.tick(T0 + 30 * DAY)
    assert not any(k.startswith("days-of-cover") for k in log.raised())
    # 32 days on, the sale has left the trailing window: no sales, 70 units: infinite
    found = log.tick(T0 + 33 * DAY)
    assert [b.key for b in found] == ["days-of-cover:A1:1"]
    assert log.tick(T0 + 40 * DAY) == []  # the same breach, still going on: once
    log.sell(T0 + 41 * DAY, "A1", 60)  # 10 on hand, 60 sold: 5 days: over
    log.buy(T0 + 42 * DAY, "A1", 200)  # 210 on hand: 105 days: a new breach
    assert "days-of-cover:A1:2" in log.raised()


def test_recruiting_without_selling_needs_five_recruits_within_thirty_days() -> None:
    log = Log()
    log.join(T0, "R1")
    for i in range(4):
        log.join(T0 + i * DAY, f"R{i + 2}", "R1", 2)
    log.join(T0 + 30 * DAY, "R6", "R1", 2)  # the first recruit is 30 days old: out
    assert log.raised() == []
    log.join(T0 + 30 * DAY, "R7", "R1", 2)
    assert log.raised() == ["recruiting-without-selling:R1:1"]


def test_recruiting_is_not_raised_for_an_agent_that_sold() -> None:
    log = Log()
    log.join(T0, "R1")
    log.buy(T0, "R1", 10)
    log.sell(T0 + DAY, "R1", 1)
    for i in range(5):
        log.join(T0 + (i + 2) * DAY, f"R{i + 2}", "R1", 2)
    assert not any(k.startswith("recruiting") for k in log.raised())


def test_push_down_is_judged_when_the_period_ends() -> None:
    log = Log()
    log.join(T0, "A2")
    log.join(T0, "A3", "A2", 2)
    log.buy(T0, "A2", 100)
    log.buy(T0 + DAY, "A3", 50, price=4950, seller="A2")  # 2,475.00 down
    log.sell(T0 + 2 * DAY, "A2", 20)  # 1,980.00 at retail
    assert log.raised() == []

    def push_downs(found: list[Breach]) -> list[str]:
        return [b.key for b in found if b.rule == "push-down"]

    end = datetime(2026, 3, 31, 16, 0, tzinfo=UTC)  # 2026-04-01 00:00 CST
    assert push_downs(log.tick(end - timedelta(seconds=1))) == []
    assert push_downs(log.tick(end)) == ["push-down:A2:2026-03"]
    log.add(end, "period-2026-03", "PeriodClosed", period="2026-03")
    assert push_downs(log.found) == ["push-down:A2:2026-03"]


def test_tax_flag_from_a_statement_issued() -> None:
    log = Log()
    at = datetime(2026, 3, 31, 16, 0, tzinfo=UTC)
    log.add(at, "statement-A1-2026-03", "StatementIssued", agent="A1", period="2026-03",
            total_fen=5_000_000, tax_flag=False, policy_version=1)  # fmt: skip
    log.add(at, "statement-B1-2026-03", "StatementIssued", agent="B1", period="2026-03",
            total_fen=5_000_001, tax_flag=True, policy_version=1)  # fmt: skip
    assert log.raised() == ["tax-flag:B1:2026-03"]


def test_the_tax_flag_alert_reads_the_statements_flag_when_the_policy_changed_before_the_close(
) -> None:
    """The period ends under version 1 (flag above 50,000.00); version 2, in force from
    the next day, flags above 100.00 and then above 100,000.00; the close comes after.
    Settlement decided each flag by version 1, at the period's end: the alerts agree with
    the statements, and cite version 1's limit, whatever is in force at the close."""
    log = Log()
    end = datetime(2026, 3, 31, 16, 0, tzinfo=UTC)  # 2026-04-01 00:00 CST
    lower = to_document(replace(DEFAULT_POLICY, tax_flag_fen=10_000))
    log.add(end + DAY, "policy", "PolicyIssued", version=2, effective_from=end + DAY,
            document=lower)  # fmt: skip
    close = end + 2 * DAY
    log.add(close, "statement-A1-2026-03", "StatementIssued", agent="A1", period="2026-03",
            total_fen=20_000, tax_flag=False, policy_version=1)  # fmt: skip
    assert log.raised() == []  # 200.00 is above version 2's 100.00, not version 1's limit
    higher = to_document(replace(DEFAULT_POLICY, tax_flag_fen=10_000_000))
    log.add(close, "policy", "PolicyIssued", version=3, effective_from=close, document=higher)
    log.add(close, "statement-B1-2026-03", "StatementIssued", agent="B1", period="2026-03",
            total_fen=5_000_001, tax_flag=True, policy_version=1)  # fmt: skip
    [alert] = log.found
    assert (alert.key, alert.policy_version) == ("tax-flag:B1:2026-03", 1)
    assert alert.numbers == {"period": "2026-03", "total": "50000.01", "limit": "50000.00"}


def test_dispute_overdue_through_the_monitor() -> None:
    log = Log()
    log.add(T0, "dispute-D1", "DisputeOpened", dispute="D1", agent="A1")
    log.add(T0, "dispute-D2", "DisputeOpened", dispute="D2", agent="A2")
    log.add(T0 + timedelta(hours=47), "dispute-D2", "DisputeAnswered", dispute="D2")
    assert log.tick(T0 + timedelta(hours=47, minutes=59)) == []
    assert [b.key for b in log.tick(T0 + timedelta(hours=48))] == ["dispute-overdue:A1:D1"]


def _team(log: Log, size: int) -> None:
    """A1 at the root, ten direct recruits, the rest below them: 3 levels, `size` members."""
    log.join(T0, "A1")
    for i in range(1, size):
        sponsor, depth = ("A1", 2) if i <= 10 else (f"B{(i - 1) % 10 + 1}", 3)
        log.join(T0 + i * timedelta(minutes=1), f"B{i}", sponsor, depth)


@pytest.mark.parametrize(("size", "severity"), [(29, None), (30, "warning"), (120, "critical")])
def test_pyramid_risk_when_overrides_are_switched_on(size: int, severity: str | None) -> None:
    log = Log()
    _team(log, size)
    document = to_document(replace(DEFAULT_POLICY, override_levels=1))
    log.add(T0 + DAY, "policy", "PolicyIssued", version=2, effective_from=T0 + DAY,
            document=document)  # fmt: skip
    found = [b for b in log.found if b.rule == "pyramid-risk" and b.agent == "A1"]
    assert [b.severity for b in found] == ([severity] if severity else [])


def test_pyramid_risk_while_an_entry_loading_alert_is_open_in_the_subtree() -> None:
    log = Log()
    _team(log, 30)
    log.buy(T0 + DAY, "B15", 100)  # 3,960.00 bought, never sold
    log.tick(T0 + 31 * DAY)
    assert "entry-loading:B15" in log.raised()
    assert "pyramid-risk:A1:warning:1" in log.raised()
    log.add(T0 + 32 * DAY, "alert-entry-loading:B15", "AlertResolved")
    assert [b.key for b in log.found if b.rule == "pyramid-risk"] == ["pyramid-risk:A1:warning:1"]
    log.join(T0 + 33 * DAY, "C1", "B1", 3)
    log.buy(T0 + 33 * DAY, "C1", 100)  # another newcomer loaded: the risk begins anew
    log.tick(T0 + 64 * DAY)
    assert "pyramid-risk:A1:warning:2" in log.raised()


def test_pyramid_risk_when_stock_sold_inside_a_subtree_exceeds_its_retail() -> None:
    log = Log()
    _team(log, 30)
    log.buy(T0 + 8 * DAY, "A1", 100)  # past the first 7 days: no entry loading
    log.buy(T0 + 9 * DAY, "B1", 40, price=4950, seller="A1")  # 1,980.00 sold inside
    log.sell(T0 + 10 * DAY, "B1", 10)  # 990.00 at retail
    assert not [b for b in log.found if b.rule == "pyramid-risk"]
    log.tick(datetime(2026, 3, 31, 16, 0, tzinfo=UTC))  # the end of 2026-03 (CST)
    found = [b for b in log.found if b.rule == "pyramid-risk"]
    assert [(b.agent, b.severity) for b in found] == [("A1", "warning")]
    assert found[0].numbers["internal_stock_sales_exceed_retail"] is True
