"""The API's shared aggregate cache never judges on stale state: every command reads what
was recorded since the cached version, concurrent commands never share an aggregate,
and a conflicting write is still caught and judged again."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

import pytest

from domain.errors import Refused
from domain.handling import Context, SharedAggregateCache
from domain.journal import parse_line
from domain.ledger import Ledger
from domain.ports import Appended, NewEvent, RecordedEvent, Tracking
from eventstore.memory import InMemoryEventStore
from tests.unit.world import BASE, TENANT, World, line, world


def sale(sale: str, qty: int = 1, at: str = "2026-01-12T09:00:00+08:00") -> str:
    return line(at, "sale", sale=sale, seller="A2", customer="C",
                lines=[{"sku": "TEA-01", "qty": qty, "unit_price": "99.00"}])  # fmt: skip


class YieldingStore(InMemoryEventStore):
    """The in-memory store, but every read and append lets other tasks run first, the
    way a database round trip does; counts the events each stream read returned."""

    def __init__(self) -> None:
        super().__init__()
        self.read_events: dict[str, int] = {}

    async def read_streams(
        self, tenant: str, after: Mapping[str, int]
    ) -> dict[str, list[RecordedEvent]]:
        await asyncio.sleep(0)
        found = await super().read_streams(tenant, after)
        for stream, events in found.items():
            self.read_events[stream] = self.read_events.get(stream, 0) + len(events)
        return found

    async def append(
        self,
        tenant: str,
        events: Sequence[NewEvent],
        *,
        idempotency_key: str | None = None,
        tracking: Tracking | None = None,
    ) -> Appended:
        await asyncio.sleep(0)
        return await super().append(
            tenant, events, idempotency_key=idempotency_key, tracking=tracking
        )


async def yielding_world() -> World:
    w = World()
    w.store = YieldingStore()
    w.ledger = Ledger(w.store, w.vault)
    await w.run(*BASE)  # A2 holds 10 - 2 = 8
    return w


async def test_a_cached_agent_suspended_by_another_writer_is_seen_suspended() -> None:
    w = await world()
    cached = Ledger(w.store, w.vault, SharedAggregateCache())
    ctx = Context(TENANT, "api")
    await cached.handle(ctx, parse_line(sale("S7")))  # A2's agent and stock are now cached
    await w.ledger.handle(Context(TENANT, "console"),
                          parse_line(line("2026-01-12T10:00:00+08:00", "suspend", agent="A2")))
    with pytest.raises(Refused) as refused:
        await cached.handle(ctx, parse_line(sale("S8", at="2026-01-12T11:00:00+08:00")))
    assert refused.value.rule == "agent-inactive"


async def test_stock_sold_by_another_writer_is_not_sold_twice() -> None:
    w = await world()
    cached = Ledger(w.store, w.vault, SharedAggregateCache())
    ctx = Context(TENANT, "api")
    await cached.handle(ctx, parse_line(sale("S7")))  # A2 holds 8 - 1 = 7
    await w.ledger.handle(Context(TENANT, "console"), parse_line(sale("S9", qty=7)))
    with pytest.raises(Refused) as refused:
        await cached.handle(ctx, parse_line(sale("S10")))
    assert (refused.value.rule, refused.value.numbers["on_hand"]) == ("insufficient-stock", 0)


async def test_concurrent_sales_never_sell_more_than_the_stock_holds() -> None:
    w = await yielding_world()  # A2 holds 8
    cached = Ledger(w.store, w.vault, SharedAggregateCache())

    async def at_once(qty: int, *sales: str) -> int:
        outcomes = await asyncio.gather(
            *(cached.handle(Context(TENANT, "api"), parse_line(sale(s, qty))) for s in sales),
            return_exceptions=True,
        )
        refused = [o for o in outcomes if isinstance(o, Refused)]
        assert {r.rule for r in refused} <= {"insufficient-stock"}, outcomes
        return len(outcomes) - len(refused)

    assert await at_once(3, "C1", "C2", "C3", "C4") == 2
    assert await w.ledger.orders.stock(TENANT, "A2") == {"TEA-01": 2}
    await w.ledger.handle(Context(TENANT, "console"), parse_line(sale("X1")))  # no cache
    assert await at_once(1, "C5", "C6", "C7") == 1
    assert await w.ledger.orders.stock(TENANT, "A2") == {"TEA-01": 0}
    stock = await w.store.read_stream(TENANT, "stock-A2")
    assert [e.version for e in stock] == list(range(1, len(stock) + 1))


async def test_a_command_reads_only_what_was_recorded_since_its_cached_version() -> None:
    w = await yielding_world()
    cached = Ledger(w.store, w.vault, SharedAggregateCache())
    ctx = Context(TENANT, "api")
    await cached.handle(ctx, parse_line(sale("S7")))
    assert isinstance(w.store, YieldingStore)
    first = w.store.read_events["stock-A2"]
    assert first == len(await w.store.read_stream(TENANT, "stock-A2")) - 1  # all but its own
    await cached.handle(ctx, parse_line(sale("S8")))
    assert w.store.read_events["stock-A2"] == first  # its own append was kept: nothing new
    await w.ledger.handle(Context(TENANT, "console"), parse_line(sale("S9")))  # no cache
    before = w.store.read_events["stock-A2"]
    await cached.handle(ctx, parse_line(sale("S10")))
    assert w.store.read_events["stock-A2"] == before + 1  # only the other writer's sale
    assert await w.ledger.orders.stock(TENANT, "A2") == {"TEA-01": 4}


async def test_a_refused_or_replayed_command_leaves_the_cache_true_to_the_store() -> None:
    w = await world()
    cached = Ledger(w.store, w.vault, SharedAggregateCache())
    first = await cached.handle(Context(TENANT, "api", "k1"), parse_line(sale("S7")))
    again = await cached.handle(Context(TENANT, "api", "k1"), parse_line(sale("S8")))
    assert again.replayed and again.first_position == first.first_position
    with pytest.raises(Refused):
        await cached.handle(Context(TENANT, "api"), parse_line(sale("S9", qty=99)))
    await cached.handle(Context(TENANT, "api"), parse_line(sale("S10", qty=6)))
    assert await w.ledger.orders.stock(TENANT, "A2") == {"TEA-01": 1}


async def test_a_cached_run_records_the_same_events_as_an_uncached_one() -> None:
    cached, plain = await world(), await world()
    # personal data is encrypted with random keys: compare what follows the world
    after = await cached.store.head(TENANT)
    later = [sale("S7"), sale("S8", qty=2), line("2026-01-13T09:00:00+08:00", "return",
             sale="S8", lines=[{"sku": "TEA-01", "qty": 1}]), sale("S9", qty=3)]  # fmt: skip
    for w, cache in ((cached, SharedAggregateCache()), (plain, None)):
        ledger = Ledger(w.store, w.vault, cache)
        for text in later:
            await ledger.handle(Context(TENANT, "x"), parse_line(text))
    got = [(e.stream, e.version, e.name, e.payload)
           for e in await cached.store.read_all(TENANT, after=after)]  # fmt: skip
    want = [(e.stream, e.version, e.name, e.payload)
            for e in await plain.store.read_all(TENANT, after=after)]  # fmt: skip
    assert got == want and len(got) == 8
