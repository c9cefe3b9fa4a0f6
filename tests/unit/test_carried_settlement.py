"""A close carries the settlement ledger in the import's aggregate cache to the next one,
which reads only what was recorded since (issue 19): the statements are those of a
replay of all history, and the import's cache stays current across a close."""

from __future__ import annotations

from domain.events import streams
from domain.handling import AggregateCache, Context
from domain.journal import parse_line
from domain.ledger import Ledger
from domain.settlement.history import Replay, replay
from tests.unit.world import TENANT, line, world

CLOSE_JAN = line("2026-02-01T00:00:00+08:00", "close_period", period="2026-01")
CLOSE_FEB = line("2026-03-01T00:00:00+08:00", "close_period", period="2026-02")
FEB_SALE = line("2026-02-10T09:00:00+08:00", "sale", sale="S10", seller="A2", customer="C",
                lines=[{"sku": "TEA-01", "qty": 2, "unit_price": "99.00"}])  # fmt: skip
FEB_RETURN = line("2026-02-12T09:00:00+08:00", "return", sale="S10",
                  lines=[{"sku": "TEA-01", "qty": 1}])  # fmt: skip


async def test_the_second_close_issues_what_a_replay_of_all_history_issues():
    carried, plain = await world(), await world()
    cache = AggregateCache()
    for ledger in (Ledger(carried.store, carried.vault, cache),
                   Ledger(plain.store, plain.vault)):
        for text in (CLOSE_JAN, FEB_SALE, FEB_RETURN, CLOSE_FEB):
            await ledger.handle(Context(TENANT, "import"), parse_line(text))
    got = (await replay(carried.store, TENANT)).issued
    assert got == (await replay(plain.store, TENANT)).issued and got["2026-02"]
    kept = cache.carried(TENANT, "settlement")
    # It has read up to the close it previewed (the close's own PeriodClosed comes after).
    assert isinstance(kept, Replay) and kept.ledger.last_closed == "2026-01"


async def test_a_replay_carried_on_from_a_position_is_a_replay_from_the_start():
    w = await world(CLOSE_JAN, FEB_SALE)
    middle = await w.head()
    await w.run(FEB_RETURN)
    since = await replay(w.store, TENANT, upto=middle, audit=False)
    carried = await replay(w.store, TENANT, since=since)
    fresh = await replay(w.store, TENANT, audit=False)
    # Through the last event it reads (a return's stock event after it is not one).
    assert carried is since and middle < carried.position == fresh.position
    assert carried.ledger.preview("2026-02") == fresh.ledger.preview("2026-02")


async def test_a_close_keeps_the_imports_cache_current():
    # A close of more statements than the cache catches up with used to look like
    # another writer's events to the next command, which then emptied the whole cache.
    w = await world()
    cache = AggregateCache()
    cache.CATCH_UP_LIMIT = 0
    ledger = Ledger(w.store, w.vault, cache)
    jan_sale = FEB_SALE.replace("2026-02-10", "2026-01-20")
    await ledger.handle(Context(TENANT, "import"), parse_line(jan_sale))  # A2 is cached
    await ledger.handle(Context(TENANT, "import"), parse_line(CLOSE_JAN))
    await cache.follow(w.store, TENANT)
    assert cache.knows(TENANT, streams.agent("A2"))


def test_a_rewind_drops_the_carried_settlement():
    cache = AggregateCache()
    cache.carry(TENANT, "settlement", object())
    cache.rewind(TENANT, 10, ())
    assert cache.carried(TENANT, "settlement") is None
