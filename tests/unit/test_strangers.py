"""An agent learns nothing about an agent that is not its sponsor (issue 17): ordering
stock from a stranger answers not-your-downline whether the stranger exists, is
terminated or is unknown. Before, it answered `agent-inactive … status=terminated`."""

from __future__ import annotations

import pytest

from domain.errors import Refused
from tests.unit.world import join, line, world

AT = "2026-01-12T09:00:00+08:00"


@pytest.mark.parametrize("seller", ["X9", "NOBODY", "A1"])
async def test_ordering_from_anyone_but_ones_sponsor_answers_not_your_downline(
    seller: str,
) -> None:
    w = await world(
        join("2026-01-07T09:00:00+08:00", "X9", None, "partner", 5),
        line("2026-01-08T09:00:00+08:00", "terminate", agent="X9"),
    )
    head = await w.head()
    order = line(AT, "purchase", buyer="A3", seller=seller, lines=[{"sku": "TEA-01", "qty": 1}])
    with pytest.raises(Refused) as refused:
        await w.handle(order)
    assert refused.value.rule == "not-your-downline"
    assert refused.value.numbers == {"buyer": "A3", "seller": seller, "sponsor": "A2"}
    assert await w.head() == head
