"""A large synthetic history, valid event for event, for benchmarks and big tests.

The events are made by the domain's own aggregates (Agent, Stock, Sale) and encoded by
its Codec, so streams, versions and payloads are exactly what the ledger records; what
is skipped is the command services' per-command reads, which would make a million
events take an hour. The default policy's shape is kept: depth at most 3, a recruit's
tier never above its sponsor's, stock bought from HQ or from the sponsor at a lower
tier, never sold below zero, returns of recent sales only.

    events = History(agents=100_000, seed=1).events(1_000_000)
    await write(store, tenant, events)
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Generator, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.agents.model import ACTIVE, SUSPENDED, Agent
from domain.events import Codec, create, streams, trigger
from domain.orders.products import Product
from domain.orders.sales import Sale
from domain.orders.stock import Stock
from domain.ports import EventStore, MetadataValue, NewEvent

TIERS = ("partner", "general", "first", "vip")  # highest first
PRICE = {"partner": 3960, "general": 4950, "first": 5940, "vip": 7425}  # fen, of 99.00
SKU, RETAIL = "TEA-01", 9900
MAX_DEPTH = 3
CUSTOMERS = 20_000
START = datetime(2026, 1, 1, 1, 0, tzinfo=UTC)


class History:
    def __init__(self, agents: int, seed: int = 1, start: datetime = START) -> None:
        self.rng = random.Random(seed)
        self.codec = Codec()
        self.target = agents
        self.at = start
        self.agents: list[Agent] = []
        self.sponsors: list[Agent] = []  # agents a recruit may join under (depth < max)
        self.stock: dict[str, Stock] = {}
        self.recent: deque[Sale] = deque(maxlen=500)
        self.sales = 0

    def events(self, count: int) -> Iterator[NewEvent]:
        """About `count` events (whole commands), with every agent joined by the end."""
        made = yield from self._emit("product", _product(self.at))
        while made < count or len(self.agents) < self.target:
            self.at += timedelta(seconds=self.rng.randint(1, 90))
            left = max(count - made, 1) / 2  # commands left: about two events each
            if len(self.agents) < self.target and (
                not self.agents or self.rng.random() < (self.target - len(self.agents)) / left
            ):
                made += yield from self._emit("join", *self._join())
            else:
                name, changed = self._other()
                made += yield from self._emit(name, *changed)

    def _emit(self, command: str, *changed: tuple[str, Any]) -> Generator[NewEvent, None, int]:
        meta: dict[str, MetadataValue] = {"actor": "bench", "command": command, "policy_version": 1}
        n = 0
        for stream, aggregate in changed:
            for event in aggregate.collect_events():
                n += 1
                yield self.codec.encode(stream, event, meta)
        return n

    def _join(self) -> list[tuple[str, Any]]:
        rng = self.rng
        sponsor = rng.choice(self.sponsors) if self.sponsors and rng.random() > 0.002 else None
        low = TIERS.index(sponsor.tier) if sponsor is not None else 0
        tier = TIERS[rng.randint(low, len(TIERS) - 1)]
        name = f"A{len(self.agents) + 1}"
        agent = create(
            Agent, Agent.Joined, streams.agent(name), self.at, agent=name,
            sponsor=sponsor.agent if sponsor else None, tier=tier,
            depth=sponsor.depth + 1 if sponsor else 1, personal="",
        )
        self.agents.append(agent)
        if agent.depth < MAX_DEPTH:
            self.sponsors.append(agent)
        changed = [(streams.agent(name), agent)]
        if sponsor is not None:
            trigger(sponsor, Agent.DownlineJoined, self.at, recruit=name, tier=tier)
            changed.append((streams.agent(sponsor.agent), sponsor))
        return changed

    def _other(self) -> tuple[str, list[tuple[str, Any]]]:
        roll = self.rng.random()
        agent = self.rng.choice(self.agents)
        if roll < 0.04:
            return self._status(agent)
        if roll < 0.12 and self.recent:
            return "return", self._return()
        if agent.status != ACTIVE:
            return self._status(agent)
        stock = self._stock(agent.agent)
        if roll < 0.55 and stock.on_hand(SKU) > 0:
            return "sale", self._sale(agent, stock)
        return "purchase", self._purchase(agent, stock)

    def _stock(self, agent: str) -> Stock:
        if agent not in self.stock:
            self.stock[agent] = create(Stock, Stock.Opened, streams.stock(agent), self.at,
                                       agent=agent)
        return self.stock[agent]

    def _purchase(self, buyer: Agent, stock: Stock) -> list[tuple[str, Any]]:
        qty = self.rng.randint(5, 60)
        line = [{"sku": SKU, "qty": qty, "unit_price": PRICE[buyer.tier]}]
        purchase = f"{buyer.agent}-P{stock.version + 1}"
        seller = self._upline_seller(buyer, qty)
        trigger(stock, Stock.Purchased, self.at, purchase=purchase,
                seller=seller.agent if seller else None, lines=line)
        changed = [(streams.stock(buyer.agent), stock)]
        if seller is not None:
            upline = self.stock[seller.agent]
            trigger(upline, Stock.Shipped, self.at, purchase=purchase, buyer=buyer.agent,
                    lines=line)
            changed.append((streams.stock(seller.agent), upline))
        return changed

    def _upline_seller(self, buyer: Agent, qty: int) -> Agent | None:
        """Buy from the sponsor a third of the time, when the rules would let it sell."""
        if buyer.sponsor is None or self.rng.random() > 0.33:
            return None
        seller = self.agents[int(buyer.sponsor[1:]) - 1]
        held = self.stock.get(seller.agent)
        if (seller.status != ACTIVE or TIERS.index(seller.tier) >= TIERS.index(buyer.tier)
                or held is None or held.on_hand(SKU) < qty):
            return None
        return seller

    def _sale(self, seller: Agent, stock: Stock) -> list[tuple[str, Any]]:
        self.sales += 1
        sale_id = f"S{self.sales}"
        qty = self.rng.randint(1, min(5, stock.on_hand(SKU)))
        line = [{"sku": SKU, "qty": qty, "unit_price": RETAIL}]
        sale = create(Sale, Sale.Recorded, streams.sale(sale_id), self.at, sale=sale_id,
                      seller=seller.agent, customer=f"C{self.rng.randint(1, CUSTOMERS)}",
                      lines=line, amount=qty * RETAIL)
        self.recent.append(sale)
        trigger(stock, Stock.Sold, self.at, sale=sale_id, lines=line)
        return [(streams.sale(sale_id), sale), (streams.stock(seller.agent), stock)]

    def _return(self) -> list[tuple[str, Any]]:
        sale = self.recent.popleft()  # oldest first: recent enough, and never twice
        line = [{"sku": SKU, "qty": 1, "unit_price": RETAIL}]
        trigger(sale, Sale.Returned, self.at, lines=line, amount=RETAIL, reason=None,
                hq_approved=False, within_window=True)
        stock = self.stock[sale.seller]
        trigger(stock, Stock.Returned, self.at, sale=sale.sale, lines=line)
        return [(streams.sale(sale.sale), sale), (streams.stock(sale.seller), stock)]

    def _status(self, agent: Agent) -> tuple[str, list[tuple[str, Any]]]:
        rank = TIERS.index(agent.tier)
        if agent.status == SUSPENDED:
            trigger(agent, Agent.Reinstated, self.at, reason="")
            name = "reinstate"
        elif self.rng.random() < 0.5:
            trigger(agent, Agent.Suspended, self.at, reason="bench")
            name = "suspend"
        elif rank > 0:
            trigger(agent, Agent.Promoted, self.at, from_tier=agent.tier,
                    to_tier=TIERS[rank - 1], evidence={})
            name = "promote"
        else:
            trigger(agent, Agent.Demoted, self.at, from_tier=agent.tier, to_tier=TIERS[1],
                    reason="bench")
            name = "demote"
        return name, [(streams.agent(agent.agent), agent)]


def _product(at: datetime) -> tuple[str, Product]:
    return streams.product(SKU), create(Product, Product.Listed, streams.product(SKU), at,
                                        sku=SKU, name="养生茶", retail_price=RETAIL)


async def write(store: EventStore, tenant: str, events: Iterable[NewEvent],
                batch: int = 1000) -> int:
    """Append in batches of about `batch` events; returns the last position."""
    chunk: list[NewEvent] = []
    last = 0
    for event in events:
        chunk.append(event)
        if len(chunk) >= batch:
            last = (await store.append(tenant, chunk)).last_position or last
            chunk = []
    if chunk:
        last = (await store.append(tenant, chunk)).last_position or last
    return last
