"""A command is judged by the policy version in force at its business time."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from domain.errors import Refused
from domain.policy.model import DEFAULT_POLICY
from tests.unit.world import TENANT, join, line, world

JAN = "2026-01-20T09:00:00+08:00"
FEB = "2026-02-02T09:00:00+08:00"


async def _policy_versions(w: Any, name: str) -> list[object]:
    events = await w.store.read_all(TENANT, limit=100_000)
    return [e.metadata["policy_version"] for e in events if e.name == name]


async def test_commands_before_a_change_are_judged_by_the_old_version_after_by_the_new() -> None:
    w = await world()
    deep_before = join(JAN, "X1", "A3", "vip", 4)  # depth 4: over v1's limit of 3
    await w.handle(line("2026-02-01T00:00:00+08:00", "policy", max_depth=4))
    # Arriving late with its own business time in January, it meets v1.
    with pytest.raises(Refused) as refused:
        await w.handle(deep_before)
    assert refused.value.numbers == {"depth": 4, "limit": 3}
    accepted = await w.handle(join(FEB, "X1", "A3", "vip", 4))
    assert accepted.policy_version == 2
    assert (await w.ledger.agents.get(TENANT, "X1")).depth == 4  # type: ignore[union-attr]
    assert await _policy_versions(w, "AgentJoined") == [1, 1, 1, 1, 2]


async def test_an_import_of_old_history_meets_the_policy_of_its_time() -> None:
    w = await world()
    # Issued on 2 February, effective from the 1st: tier prices changed for general
    # agents; a purchase of 31 January comes in after it (within the late-entry allowance).
    await w.handle(
        line("2026-02-02T08:00:00+08:00", "policy", effective_from="2026-02-01T00:00:00+08:00",
             tiers={"partner": "0.40", "general": "0.55", "first": "0.60", "vip": "0.75"})
    )  # fmt: skip

    def buy(at: str, price: str) -> str:
        return line(at, "purchase", buyer="A2", seller="A1",
                    lines=[{"sku": "TEA-01", "qty": 1, "unit_price": price}])  # fmt: skip

    assert (await w.handle(buy("2026-01-31T12:00:00+08:00", "49.50"))).policy_version == 1
    with pytest.raises(Refused) as refused:
        await w.handle(buy(FEB, "49.50"))
    assert refused.value.rule == "tier-price"
    assert refused.value.numbers["tier_price"] == "54.45"
    assert (await w.handle(buy(FEB, "54.45"))).policy_version == 2
    in_force = await w.ledger.policy.in_force(TENANT, w_at(FEB))
    assert (in_force.version, in_force.share("general")) == (2, Decimal("0.55"))
    assert DEFAULT_POLICY.share("general") == Decimal("0.50")  # v1 itself unchanged


@pytest.mark.parametrize(
    ("document", "limit"),
    [
        ({"join_fee": "10.00"}, "join_fee"),
        ({"required_purchase": True}, "required_purchase"),
        ({"override_levels": 2, "override_rate": "0.05"}, "override_levels"),
        ({"commission_cap": "0.31"}, "commission_cap"),
        ({"override_levels": 1, "override_rate": "0.26"}, "commission_rates"),
        ({"max_depth": 6}, "max_depth"),
        ({"pay_on_recruits": True}, "pay_on_recruits"),
        ({"commission_on_purchases": True}, "commission_on_purchases"),
    ],
)
async def test_a_policy_breaking_a_hard_limit_is_refused(
    document: dict[str, Any], limit: str
) -> None:
    w = await world()
    head = await w.head()
    with pytest.raises(Refused) as refused:
        await w.handle(line(FEB, "policy", **document))
    assert refused.value.rule == "hard-limit"
    assert refused.value.numbers["limit"] == limit
    assert await w.head() == head
    assert (await w.ledger.policy.in_force(TENANT, w_at(FEB))).version == 1


async def test_one_override_level_within_the_cap_is_allowed() -> None:
    w = await world()
    await w.handle(line(FEB, "policy", override_levels=1, override_rate="0.02"))
    policy = await w.ledger.policy.in_force(TENANT, w_at(FEB))
    assert (policy.version, policy.override_levels) == (2, 1)


def w_at(text: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(text)
