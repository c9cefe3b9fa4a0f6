"""What accepted commands record: buy-back, promotion evidence, late returns, retries."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from domain.errors import Refused
from domain.handling import Context
from domain.importing import run_journal
from domain.journal import parse_line
from domain.ledger import Ledger
from domain.ports import Appended, NewEvent, Tracking
from eventstore.memory import InMemoryEventStore
from eventstore.memory_vault import InMemoryKeyVault
from tests.unit.world import BASE, TENANT, line, world

AT = "2026-01-12T09:00:00+08:00"


async def _payload(w: Any, name: str) -> dict[str, Any]:
    events = await w.store.read_all(TENANT, limit=100_000)
    return json.loads([e for e in events if e.name == name][-1].payload)  # type: ignore[no-any-return]


async def test_buyback_pays_the_price_paid_and_takes_the_units_out_of_stock() -> None:
    w = await world()
    await w.handle(line(AT, "buyback", agent="A2", lines=[{"sku": "TEA-01", "qty": 3}]))
    assert await w.ledger.orders.stock(TENANT, "A2") == {"TEA-01": 5}
    recorded = await _payload(w, "BuybackCompleted")
    assert recorded["lines"] == [
        {"sku": "TEA-01", "qty": 3, "unit_price": 4950, "purchase": "A2-P2", "price_paid": 4950}
    ]


async def test_buyback_at_exactly_ninety_percent_is_accepted() -> None:
    w = await world()
    await w.handle(
        line(AT, "buyback", agent="A2", lines=[{"sku": "TEA-01", "qty": 1, "unit_price": "44.55"}])
    )
    assert await w.ledger.orders.stock(TENANT, "A2") == {"TEA-01": 7}


async def test_a_late_return_with_hq_approval_and_a_reason_goes_back_to_stock() -> None:
    w = await world()
    late = "2026-02-15T09:00:00+08:00"
    with pytest.raises(Refused):
        await w.handle(line(late, "return", sale="S1", lines=[{"sku": "TEA-01", "qty": 1}],
                            hq_approved=True))  # fmt: skip
    await w.handle(line(late, "return", sale="S1", lines=[{"sku": "TEA-01", "qty": 1}],
                        hq_approved=True, reason="质量问题"))  # fmt: skip
    assert await w.ledger.orders.stock(TENANT, "A2") == {"TEA-01": 9}
    returned = await _payload(w, "SaleReturned")
    assert (returned["amount"], returned["within_window"]) == (9_900, False)


async def test_promotion_records_retail_evidence_never_head_count() -> None:
    tea = [{"sku": "TEA-01", "qty": 1, "unit_price": "99.00"}]
    w = await world(line("2026-01-20T09:00:00+08:00", "sale", sale="S2", seller="A2",
                         customer="C", lines=tea))  # fmt: skip
    await w.handle(line("2026-02-03T09:00:00+08:00", "promote", agent="A3", tier="general"))
    promoted = await _payload(w, "AgentPromoted")
    assert promoted["from_tier"] == "first" and promoted["to_tier"] == "general"
    assert promoted["evidence"]["periods"] == ["2025-11", "2025-12", "2026-01"]
    assert promoted["evidence"]["own_net_fen"] == {"2025-11": 0, "2025-12": 0, "2026-01": 0}
    view = await w.ledger.agents.get(TENANT, "A3")
    assert view is not None and view.tier == "general"
    # A2's own retail (S1 + S2) is evidence for A2, whose direct downline is A3
    await w.handle(line("2026-02-03T10:00:00+08:00", "promote", agent="A2", tier="partner"))
    evidence = (await _payload(w, "AgentPromoted"))["evidence"]
    assert evidence["own_net_fen"]["2026-01"] == 29_700
    assert evidence["downline_net_fen"]["2026-01"] == 0


async def test_a_promotion_must_go_up_and_a_demotion_down() -> None:
    w = await world()
    with pytest.raises(Refused) as refused:
        await w.handle(line(AT, "promote", agent="A2", tier="vip"))
    assert refused.value.rule == "tier-order"
    await w.handle(line(AT, "demote", agent="A2", tier="vip", reason="违规"))
    assert (await w.ledger.agents.get(TENANT, "A2")).tier == "vip"  # type: ignore[union-attr]


class RacingStore(InMemoryEventStore):
    """A real in-memory store that lets a rival command commit just before the first
    append it sees, the way a concurrent request would."""

    def __init__(self) -> None:
        super().__init__()
        self.rival: str | None = None
        self.ledger: Ledger | None = None

    async def append(
        self,
        tenant: str,
        events: Sequence[NewEvent],
        *,
        idempotency_key: str | None = None,
        tracking: Tracking | None = None,
    ) -> Appended:
        if self.rival is not None and self.ledger is not None:
            rival, self.rival = self.rival, None
            await self.ledger.handle(Context(tenant, "rival"), parse_line(rival))
        return await super().append(
            tenant, events, idempotency_key=idempotency_key, tracking=tracking
        )


async def test_a_version_conflict_is_judged_again_on_the_new_state() -> None:
    store, vault = RacingStore(), InMemoryKeyVault()
    await run_journal(store, vault, TENANT, BASE)  # A2 holds 8 units
    ledger = Ledger(store, vault)
    store.ledger = ledger

    def sell(sale: str, qty: int) -> str:
        return line(AT, "sale", sale=sale, seller="A2", customer="C",
                    lines=[{"sku": "TEA-01", "qty": qty, "unit_price": "99.00"}])  # fmt: skip

    store.rival = sell("R1", 5)
    with pytest.raises(Refused) as refused:
        await ledger.handle(Context(TENANT, "test"), parse_line(sell("S7", 6)))
    assert refused.value.numbers == {"sku": "TEA-01", "qty": 6, "on_hand": 3}
    assert await ledger.orders.stock(TENANT, "A2") == {"TEA-01": 3}
    store.rival = sell("R2", 1)
    accepted = await ledger.handle(Context(TENANT, "test"), parse_line(sell("S8", 2)))
    assert accepted.first_position is not None
    assert await ledger.orders.stock(TENANT, "A2") == {"TEA-01": 0}


async def test_a_cached_aggregate_still_sees_what_another_writer_recorded() -> None:
    from domain.handling import AggregateCache

    store, vault = InMemoryEventStore(), InMemoryKeyVault()
    await run_journal(store, vault, TENANT, BASE)  # A2 holds 8 units
    cached, other = Ledger(store, vault, AggregateCache()), Ledger(store, vault)

    def sell(sale: str, qty: int) -> Any:
        tea = [{"sku": "TEA-01", "qty": qty, "unit_price": "99.00"}]
        return parse_line(line(AT, "sale", sale=sale, seller="A2", customer="C", lines=tea))

    await cached.handle(Context(TENANT, "t"), sell("S2", 5))
    await other.handle(Context(TENANT, "t"), sell("S3", 3))
    with pytest.raises(Refused) as refused:
        await cached.handle(Context(TENANT, "t"), sell("S4", 1))
    assert refused.value.numbers["on_hand"] == 0
    # a refusal leaves the cache intact and right
    with pytest.raises(Refused):
        await cached.handle(Context(TENANT, "t"), sell("S4", 1))
    assert await cached.orders.stock(TENANT, "A2") == {"TEA-01": 0}
