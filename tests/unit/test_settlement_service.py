"""Closing a period through the ledger: once, in order, after it ends; preview is free."""

from __future__ import annotations

from datetime import datetime

import pytest

from domain.errors import Refused
from domain.settlement.history import replay
from domain.settlement.service import SettlementService
from tests.unit.world import TENANT, line, world

CLOSE_JAN = line("2026-02-01T00:00:00+08:00", "close_period", period="2026-01")
CLOSE_FEB = line("2026-03-01T00:00:00+08:00", "close_period", period="2026-02")
# 10 x the suggested price, to cross brackets: above the default price ceiling of 200%.
SALE = [line("2026-01-20T08:00:00+08:00", "policy", price_ceiling="10.00"),
        line("2026-01-20T09:00:00+08:00", "sale", sale="S9", seller="A2", customer="C9",
             lines=[{"sku": "TEA-01", "qty": 8, "unit_price": "990.00"}])]  # fmt: skip


async def test_a_period_closes_once_and_its_statements_are_events():
    w = await world(*SALE, CLOSE_JAN)
    closed = (await replay(w.store, TENANT)).issued["2026-01"]
    # A2: S1 198.00 (Jan 10) and S9 7,920.00 (Jan 20; its window ends Jan 27) are both
    # paid: of 8,118.00, the first 5,000.00 at 0% and 3,118.00 at 3% = 93.54.
    assert [(st.agent, st.total_fen) for st in closed] == [("A2", 9354)]
    head = await w.head()
    with pytest.raises(Refused) as again:
        await w.handle(CLOSE_JAN.replace("00:00:00", "00:00:01"), key="again")
    assert (again.value.rule, again.value.numbers) == ("period-closed", {"period": "2026-01"})
    assert await w.head() == head


async def test_an_earlier_period_cannot_be_closed_after_a_later_one():
    w = await world(CLOSE_FEB)
    with pytest.raises(Refused) as late:
        await w.handle(CLOSE_JAN.replace("2026-02-01", "2026-03-02"), key="late")
    assert late.value.rule == "period-closed"
    assert late.value.numbers == {"period": "2026-01", "last_closed": "2026-02"}


async def test_the_preview_records_nothing_and_shows_what_the_close_issues():
    w = await world(*SALE)
    head = await w.head()
    preview = await SettlementService(w.store).preview(
        TENANT, "2026-01", datetime.fromisoformat("2026-01-25T00:00:00+08:00")
    )
    assert await w.head() == head
    await w.run(CLOSE_JAN)
    assert list(preview) == (await replay(w.store, TENANT)).issued["2026-01"]


DISPUTE = line("2026-01-21T09:00:00+08:00", "open_dispute", dispute="D1", agent="A2",
               subject="sale:S9", text="少算了提成")  # fmt: skip


def resolved(at: str, amount: str) -> str:
    return line(at, "resolve_dispute", dispute="D1", outcome="upheld", adjustment=amount,
                text="补发")  # fmt: skip


async def test_a_dispute_adjustment_is_a_line_on_the_agents_next_statement():
    w = await world(*SALE, DISPUTE, resolved("2026-01-22T09:00:00+08:00", "12.34"), CLOSE_JAN)
    (statement,) = (await replay(w.store, TENANT)).issued["2026-01"]
    adjustment = statement.lines[-1]
    assert (adjustment.kind, adjustment.sale_id) == ("adjustment", "D1")
    assert adjustment.amount_fen == 1234
    assert adjustment.sale_source == "dispute-D1@2"  # the resolution it comes from
    assert statement.total_fen == 9354 + 1234


async def test_an_adjustment_resolved_after_a_close_waits_for_the_next_one():
    w = await world(*SALE, DISPUTE, CLOSE_JAN, resolved("2026-02-03T09:00:00+08:00", "-5.00"),
                    CLOSE_FEB)  # fmt: skip
    issued = (await replay(w.store, TENANT)).issued
    assert {line.kind for line in issued["2026-01"][0].lines} == {"bracket"}
    (february,) = issued["2026-02"]
    assert [(line.kind, line.amount_fen) for line in february.lines] == [("adjustment", -500)]
