"""When one command breaks several rules, the one DOMAIN.md puts first answers."""

from __future__ import annotations

import pytest

from domain.errors import PRECEDENCE, Refused, first, rank
from tests.unit.world import line, world

AT = "2026-01-12T09:00:00+08:00"
BAD_ID = "110101199003071234"  # wrong check digit


def bad_join(agent: str, sponsor: str | None, **extra: object) -> str:
    return line(AT, "join", agent=agent, sponsor=sponsor, tier="vip", name="某",
                id_number=BAD_ID, phone="1", **extra)  # fmt: skip


CASES = [
    # unknown reference beats duplicate, identity and money
    ("unknown-sponsor", [], bad_join("A2", "ZZ", fee="1.00")),
    # duplicate beats identity and money
    ("already-joined", [], bad_join("A2", "A1", fee="1.00")),
    # status beats identity and structure
    ("sponsor-inactive", [line(AT, "suspend", agent="A3")], bad_join("X1", "A3")),
    # identity beats structure and money
    ("invalid-id-number", [], bad_join("X1", "A3", fee="1.00")),
    # structure: not-your-downline before tier-order (B1 is a partner like A1, not below it)
    ("not-your-downline", [], line(AT, "purchase", buyer="B1", seller="A1",
                                   lines=[{"sku": "TEA-01", "qty": 1}])),
    # structure beats money and quantity
    ("not-your-downline", [], line(AT, "purchase", buyer="A3", seller="A1",
                                   lines=[{"sku": "TEA-01", "qty": 999, "unit_price": "1.00"}])),
    # status beats money and quantity
    ("agent-inactive", [line(AT, "suspend", agent="A2")],
     line(AT, "sale", sale="S2", seller="A2", customer="C",
          lines=[{"sku": "TEA-01", "qty": 999, "unit_price": "1.00"}])),
    # money beats quantity
    ("price-floor", [], line(AT, "sale", sale="S2", seller="A2", customer="C",
                             lines=[{"sku": "TEA-01", "qty": 999, "unit_price": "1.00"}])),
    # return-window before return-exceeds-sale
    ("return-window", [], line("2026-01-30T09:00:00+08:00", "return", sale="S1",
                               lines=[{"sku": "TEA-01", "qty": 9}])),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "setup", "command"), CASES)
async def test_the_rule_first_in_precedence_answers(
    rule: str, setup: list[str], command: str
) -> None:
    w = await world(*setup)
    head = await w.head()
    with pytest.raises(Refused) as refused:
        await w.handle(command)
    assert refused.value.rule == rule
    assert await w.head() == head


def test_precedence_groups_follow_domain_md() -> None:
    assert rank("unknown-sale") < rank("duplicate-sale") < rank("agent-inactive")
    assert rank("under-age") < rank("depth-limit") < rank("join-fee") < rank("insufficient-stock")
    assert first([Refused("return-exceeds-sale"), Refused("return-window")]) == Refused(
        "return-window"
    )
    assert len({r for g in PRECEDENCE for r in g}) == sum(len(g) for g in PRECEDENCE)


def test_an_unknown_rule_code_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown rule code"):
        Refused("made-up")
