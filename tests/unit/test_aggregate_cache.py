"""The import's aggregate cache never judges on stale state: another writer's events
between two commands evict what they touched."""

from __future__ import annotations

import pytest

from domain.errors import Refused
from domain.handling import AggregateCache, Context
from domain.journal import parse_line
from domain.ledger import Ledger
from tests.unit.world import BASE, TENANT, line, world

SALE = line("2026-01-12T09:00:00+08:00", "sale", sale="S7", seller="A2", customer="C",
            lines=[{"sku": "TEA-01", "qty": 1, "unit_price": "99.00"}])  # fmt: skip


async def test_a_cached_agent_suspended_by_another_writer_is_seen_suspended():
    w = await world()
    cached = Ledger(w.store, w.vault, AggregateCache())
    ctx = Context(TENANT, "import")
    await cached.handle(ctx, parse_line(SALE))  # A2's agent and stock are now cached
    other = Context(TENANT, "console")
    await w.ledger.handle(
        other, parse_line(line("2026-01-12T10:00:00+08:00", "suspend", agent="A2"))
    )
    with pytest.raises(Refused) as refused:
        await cached.handle(ctx, parse_line(SALE.replace("S7", "S8").replace("09:00", "11:00")))
    assert refused.value.rule == "agent-inactive"


async def test_stock_sold_by_another_writer_is_not_sold_twice():
    w = await world()
    cached = Ledger(w.store, w.vault, AggregateCache())
    ctx = Context(TENANT, "import")
    await cached.handle(ctx, parse_line(SALE))  # A2 holds 10 - 2 - 1 = 7
    seven = line("2026-01-12T10:00:00+08:00", "sale", sale="S9", seller="A2", customer="C",
                 lines=[{"sku": "TEA-01", "qty": 7, "unit_price": "99.00"}])  # fmt: skip
    await w.ledger.handle(Context(TENANT, "console"), parse_line(seven))
    with pytest.raises(Refused) as refused:
        await cached.handle(ctx, parse_line(SALE.replace("S7", "S10").replace("09:00", "11:00")))
    assert refused.value.rule == "insufficient-stock"


async def test_a_cached_run_records_the_same_events_as_an_uncached_one():
    cached, plain = await world(), await world()
    lines = [*BASE, SALE]
    for w, cache in ((cached, AggregateCache()), (plain, None)):
        ledger = Ledger(w.store, w.vault, cache)
        for text in lines[len(BASE):]:
            await ledger.handle(Context(TENANT, "x"), parse_line(text))
    got = [(e.stream, e.version, e.name) for e in await cached.store.read_all(TENANT)]
    want = [(e.stream, e.version, e.name) for e in await plain.store.read_all(TENANT)]
    assert got == want
