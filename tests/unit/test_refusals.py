"""Per rule code: the refusal names its rule and its numbers, and records nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from domain.agents.identity import mask_id_number
from domain.business_time import rules as time_rules
from domain.errors import RULES, Refused
from tests.unit.world import IDS, join, line, world

AT = "2026-01-12T09:00:00+08:00"
TEA = [{"sku": "TEA-01", "qty": 1}]

CLOSE_JAN = line("2026-02-01T00:00:00+08:00", "close_period", period="2026-01")
DISPUTE = line(AT, "open_dispute", dispute="D1", agent="A2", subject="sale:S1", text="short")

# (rule, setup lines beyond BASE, the refused command, the numbers it must carry)
CASES: list[tuple[str, list[str], str, dict[str, Any]]] = [
    ("unknown-sponsor", [], join(AT, "X1", "ZZ", "vip", 4), {"sponsor": "ZZ"}),
    ("unknown-agent", [], line(AT, "suspend", agent="ZZ"), {"agent": "ZZ"}),
    ("unknown-product", [], line(AT, "purchase", buyer="A1", seller=None,
                                 lines=[{"sku": "NOPE", "qty": 1}]), {"sku": "NOPE"}),
    ("unknown-sale", [], line(AT, "return", sale="S9", lines=TEA), {"sale": "S9"}),
    ("unknown-tier", [], join(AT, "X1", "A1", "boss", 4),
     {"tier": "boss", "policy_version": 1}),
    ("already-joined", [], join(AT, "A2", "A1", "general", 4), {"agent": "A2"}),
    ("duplicate-identity", [], join(AT, "X1", "A1", "vip", 2),  # A3's number
     {"id_number": mask_id_number(IDS[2])}),
    ("duplicate-sale", [], line(AT, "sale", sale="S1", seller="A2", customer="C",
                                lines=[{"sku": "TEA-01", "qty": 1, "unit_price": "99.00"}]),
     {"sale": "S1"}),
    ("already-forgotten", [line(AT, "forget", agent="A3")], line(AT, "forget", agent="A3"),
     {"agent": "A3"}),
    ("sponsor-inactive", [line(AT, "suspend", agent="A2")], join(AT, "X1", "A2", "first", 4),
     {"sponsor": "A2", "status": "suspended"}),
    ("agent-inactive", [line(AT, "terminate", agent="A2")],
     line(AT, "sale", sale="S2", seller="A2", customer="C",
          lines=[{"sku": "TEA-01", "qty": 1, "unit_price": "99.00"}]),
     {"agent": "A2", "status": "terminated"}),
    ("not-suspended", [], line(AT, "reinstate", agent="A2"), {"agent": "A2", "status": "active"}),
    ("invalid-id-number", [],
     line(AT, "join", agent="X1", sponsor="A1", tier="vip", name="某",
          id_number="110101199003071234", phone="1"), {"id_number": "110101********1234"}),
    ("under-age", [],
     line(AT, "join", agent="X1", sponsor="A1", tier="vip", name="某",
          id_number="110101201003017894", phone="1"), {"age": 15, "minimum": 18}),
    ("depth-limit", [], join(AT, "X1", "A3", "vip", 4), {"depth": 4, "limit": 3}),
    ("not-your-downline", [], line(AT, "purchase", buyer="A3", seller="A1", lines=TEA),
     {"buyer": "A3", "seller": "A1", "sponsor": "A2"}),
    ("tier-order", [join(AT, "A5", "A1", "partner", 4)],
     line(AT, "purchase", buyer="A5", seller="A1", lines=TEA),
     {"seller_tier": "partner", "buyer_tier": "partner"}),
    ("join-fee", [], join(AT, "X1", "A1", "vip", 4, fee="299.00"),
     {"fee": "299.00", "limit": "0.00", "required_purchase": False}),
    ("tier-price", [], line(AT, "purchase", buyer="A2", seller="A1",
                            lines=[{"sku": "TEA-01", "qty": 1, "unit_price": "45.00"}]),
     {"sku": "TEA-01", "tier": "general", "unit_price": "45.00", "tier_price": "49.50"}),
    ("price-floor", [], line(AT, "sale", sale="S2", seller="A2", customer="C",
                             lines=[{"sku": "TEA-01", "qty": 1, "unit_price": "89.09"}]),
     {"sku": "TEA-01", "unit_price": "89.09", "floor": "89.10", "retail_price": "99.00"}),
    ("price-ceiling", [], line(AT, "sale", sale="S2", seller="A2", customer="C",
                               lines=[{"sku": "TEA-01", "qty": 1, "unit_price": "198.01"}]),
     {"sku": "TEA-01", "unit_price": "198.01", "ceiling": "198.00", "retail_price": "99.00"}),
    ("buyback-price", [], line(AT, "buyback", agent="A2",
                               lines=[{"sku": "TEA-01", "qty": 1, "unit_price": "44.54"}]),
     {"sku": "TEA-01", "unit_price": "44.54", "price_paid": "49.50", "minimum": "44.55"}),
    ("hard-limit", [], line(AT, "policy", override_levels=2),
     {"limit": "override_levels", "value": 2, "allowed": 1}),
    ("promotion-evidence", [line(AT, "policy", promotion={"general": {"own": "100.00"}})],
     line("2026-04-02T09:00:00+08:00", "promote", agent="A3", tier="general"),
     {"tier": "general", "own_net": "0.00", "own_needed": "100.00", "downline_net": "0.00",
      "downline_needed": "0.00"}),
    ("insufficient-stock", [], line(AT, "purchase", buyer="A2", seller="A1",
                                    lines=[{"sku": "TEA-01", "qty": 91}]),
     {"sku": "TEA-01", "qty": 91, "on_hand": 90}),
    ("return-window", [], line("2026-01-17T09:00:01+08:00", "return", sale="S1", lines=TEA),
     {"sale": "S1", "days": 7, "window_days": 7, "hq_approved": False}),
    ("return-exceeds-sale", [], line(AT, "return", sale="S1",
                                     lines=[{"sku": "TEA-01", "qty": 3}]),
     {"sale": "S1", "sku": "TEA-01", "qty": 3, "returnable": 2}),
    ("not-resalable", [], line(AT, "buyback", agent="A2", lines=TEA, resalable=False),
     {"agent": "A2"}),
    ("buyback-window", [], line("2027-01-07T09:00:00+08:00", "buyback", agent="A2", lines=TEA),
     {"sku": "TEA-01", "qty": 1, "eligible": 0, "days": 365}),
    ("policy-version", [], line(AT, "policy", version=5, max_depth=4),
     {"version": 5, "expected": 2}),
    ("future-time", [], "", {}),  # judged by the API, the one door with a server clock
    ("before-join", [], line("2026-01-05T09:59:59+08:00", "sale", sale="S2", seller="A2",
                             lines=[{"sku": "TEA-01", "qty": 1, "unit_price": "99.00"}]),
     {"agent": "A2", "at": "2026-01-05T01:59:59+00:00", "joined_at": "2026-01-05T02:00:00+00:00"}),
    ("before-listing", [line(AT, "product", sku="GIN-01", name="参", retail_price="10.00")],
     line("2026-01-11T09:00:00+08:00", "purchase", buyer="A1", seller=None,
          lines=[{"sku": "GIN-01", "qty": 1}]),
     {"sku": "GIN-01", "at": "2026-01-11T01:00:00+00:00",
      "listed_at": "2026-01-12T01:00:00+00:00"}),
    ("before-sale", [], line("2026-01-10T08:59:59+08:00", "return", sale="S1", lines=TEA),
     {"sale": "S1", "at": "2026-01-10T00:59:59+00:00", "sold_at": "2026-01-10T01:00:00+00:00"}),
    ("period-closed", [CLOSE_JAN], line(AT, "sale", sale="S2", seller="A2", customer="C",
                               lines=[{"sku": "TEA-01", "qty": 1, "unit_price": "99.00"}]),
     {"period": "2026-01"}),
    # the clock stands at S1's sale (2026-01-10 09:00 CST): 72 hours and a second before
    ("too-late", [], line("2026-01-07T08:59:59+08:00", "tick"),
     {"at": "2026-01-07T00:59:59+00:00", "clock": "2026-01-10T01:00:00+00:00",
      "allowance_hours": 72}),
    ("period-open", [], line("2026-01-31T23:59:59+08:00", "close_period", period="2026-01"),
     {"period": "2026-01", "ends_at": "2026-01-31T16:00:00+00:00"}),
    # compliance: disputes and alerts (the watchers raise alerts; people handle them)
    ("unknown-dispute", [], line(AT, "answer_dispute", dispute="D9", text="?"), {"dispute": "D9"}),
    ("unknown-alert", [], line(AT, "resolve_alert", alert="push-down:A1:2026-01", reason="ok"),
     {"alert": "push-down:A1:2026-01"}),
    ("duplicate-dispute", [DISPUTE], DISPUTE, {"dispute": "D1"}),
    ("already-resolved", [DISPUTE, line(AT, "resolve_dispute", dispute="D1", outcome="rejected")],
     line(AT, "answer_dispute", dispute="D1", text="late"), {"dispute": "D1"}),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "setup", "command", "numbers"), CASES, ids=[c[0] for c in CASES])
async def test_a_refusal_carries_its_rule_and_numbers_and_records_nothing(
    rule: str, setup: list[str], command: str, numbers: dict[str, Any]
) -> None:
    if rule == "future-time":
        refused = time_rules.future_time(datetime.fromisoformat("2026-01-12T09:05:01+08:00"),
                                         datetime.fromisoformat(AT))
        assert refused is not None and refused.numbers == {
            "at": "2026-01-12T01:05:01+00:00", "now": "2026-01-12T01:00:00+00:00",
            "skew_seconds": 300}
        return
    w = await world(*setup)
    head = await w.head()
    with pytest.raises(Refused) as refused:
        await w.handle(command, key="k-1")
    assert refused.value.rule == rule
    assert refused.value.numbers == numbers
    assert await w.head() == head


def test_every_rule_code_has_a_refusal_test() -> None:
    assert {c[0] for c in CASES} == set(RULES)
