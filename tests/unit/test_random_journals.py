"""Property: whatever journal arrives, no accepted command breaks a hard limit (depth,
join fee, stock below zero, price floor), and a refused command changes nothing."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from domain.agents.model import Agent
from domain.errors import Refused
from domain.events import streams
from domain.handling import Context, load
from domain.journal import parse_line
from domain.orders.stock import Stock
from domain.policy.model import DEFAULT_POLICY
from eventstore.memory import InMemoryEventStore
from eventstore.memory_vault import InMemoryKeyVault
from tests.unit.world import IDS, TENANT, Ledger, line

AGENTS = ["A1", "A2", "A3", "A4", "A5", "A6"]
TIERS = ["partner", "general", "first", "vip"]
RETAIL = 9_900  # TEA-01 at 99.00
agent = st.sampled_from(AGENTS)
maybe_agent = st.one_of(st.none(), agent)
qty = st.integers(min_value=1, max_value=40)

joins = st.builds(
    lambda a, s, t, fee: ("join", dict(agent=a, sponsor=s, tier=t, name="某", id_number=IDS[0],
                                       phone="1", **({"fee": fee} if fee else {})), fee),
    agent, maybe_agent, st.sampled_from(TIERS), st.sampled_from([None, None, "0.00", "9.90"]),
)  # fmt: skip
purchases = st.builds(
    lambda b, s, q: ("purchase", dict(buyer=b, seller=s, lines=[{"sku": "TEA-01", "qty": q}]), 0),
    agent, maybe_agent, qty,
)  # fmt: skip
sales = st.builds(
    lambda s, sale, q, fen: ("sale", dict(sale=f"S{sale}", seller=s, customer="C",
        lines=[{"sku": "TEA-01", "qty": q, "unit_price": f"{fen / 100:.2f}"}]), fen),
    agent, st.integers(1, 6), qty, st.integers(8_800, 9_900),
)  # fmt: skip
returns = st.builds(
    lambda sale, q: ("return", dict(sale=f"S{sale}", lines=[{"sku": "TEA-01", "qty": q}]), 0),
    st.integers(1, 6), st.integers(1, 5),
)  # fmt: skip
statuses = st.builds(
    lambda cmd, a: (cmd, dict(agent=a), 0),
    st.sampled_from(["suspend", "reinstate", "terminate"]), agent,
)  # fmt: skip
journals = st.lists(st.one_of(joins, joins, purchases, purchases, sales, returns, statuses),
                    max_size=30)  # fmt: skip


async def _state(ledger: Ledger) -> tuple[Any, ...]:
    store = ledger.store
    return (
        await store.head(TENANT),
        [await ledger.agents.get(TENANT, a) for a in AGENTS],
        [await ledger.orders.stock(TENANT, a) for a in AGENTS],
    )


async def _check_limits(ledger: Ledger, cmd: str, fields: dict[str, Any], extra: Any) -> None:
    for a in AGENTS:
        found = await load(ledger.store, TENANT, streams.agent(a), Agent)
        assert found is None or 1 <= found.depth <= DEFAULT_POLICY.max_depth
        stock = await load(ledger.store, TENANT, streams.stock(a), Stock)
        assert stock is None or all(b.qty >= 0 for b in stock.batches)
    if cmd == "join":
        assert extra in (None, "0.00")  # no fee was ever accepted
    if cmd == "sale":
        assert extra * 10 >= RETAIL * 9  # price floor: 90% of suggested retail


async def _run(journal: list[tuple[str, dict[str, Any], Any]]) -> None:
    ledger = Ledger(InMemoryEventStore(), InMemoryKeyVault())
    start = datetime.fromisoformat("2026-01-05T09:00:00+08:00")
    ctx = Context(TENANT, "property")
    # A seed tree with stock, so random commands get past unknown references often.
    seed = [
        ("product", dict(sku="TEA-01", name="茶", retail_price="99.00")),
        ("join", dict(agent="A1", sponsor=None, tier="partner", name="某", id_number=IDS[0],
                      phone="1")),
        ("join", dict(agent="A2", sponsor="A1", tier="general", name="某", id_number=IDS[1],
                      phone="1")),
        ("purchase", dict(buyer="A1", seller=None, lines=[{"sku": "TEA-01", "qty": 60}])),
    ]  # fmt: skip
    for cmd, fields in seed:
        await ledger.handle(ctx, parse_line(line(start.isoformat(), cmd, **fields)))
    for n, (cmd, fields, extra) in enumerate(journal, start=1):
        at = (start + timedelta(hours=n)).isoformat()
        before = await _state(ledger)
        try:
            await ledger.handle(ctx, parse_line(line(at, cmd, **fields)))
        except Refused as refused:
            event(f"refused {refused.rule}")
            assert await _state(ledger) == before
        else:
            event(f"accepted {cmd}")
            await _check_limits(ledger, cmd, fields, extra)


@settings(max_examples=50, deadline=None)
@given(journals)
def test_random_journals_never_break_a_hard_limit(
    journal: list[tuple[str, dict[str, Any], Any]],
) -> None:
    asyncio.run(_run(journal))
