"""A generated command journal (DOMAIN.md's JSONL format) of any length, valid by
construction under the default policy, for import benchmarks and the demo brand.

    python -m cli.journal_generator 100000 > journal.jsonl

Agents join in three levels (partner, general, first/vip), buy stock from HQ or from
their sponsor at their tier price, sell it at retail above the price floor, take a few
returns inside the 7-day window, and each month is closed after it ends. A handful of
agents are planted to break the watch rules (hoarding, entry loading, push-down,
recruiting without selling), so a demo has alerts to show.
"""

from __future__ import annotations

import bisect
import json
import random
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from domain.agents.identity import check_character
from domain.periods import CST, period_of

SKU, RETAIL = "TEA-01", 99  # CNY
TIER_BY_DEPTH = {1: "partner", 2: "general", 3: "first"}
START = datetime(2026, 1, 1, 9, 0, tzinfo=CST)


def id_number(n: int) -> str:
    """A valid, adult 身份证 number of its own for each n below 9,000,000 (one person,
    one agent: duplicate-identity)."""
    born = datetime(1970, 1, 1) + timedelta(days=n % 9000)
    first17 = f"110101{born:%Y%m%d}{n // 9000 % 1000:03d}"
    return first17 + check_character(first17)


class Journal:
    def __init__(self, commands: int, seed: int = 7, agents: int | None = None) -> None:
        self.rng = random.Random(seed)
        self.commands = commands
        self.agents_wanted = agents or max(10, commands // 50)
        self.at = START
        self.step = timedelta(days=180) / commands  # six months of history
        self.agents: list[tuple[str, int, str | None]] = []  # (id, depth, sponsor)
        self.stock: dict[str, int] = {}
        # Kept as the agents change, not filtered from `agents` on every command: a
        # scan per command made 100,000 agents take hours. Same order, same choices.
        self.index: dict[str, int] = {}  # agent -> its place in `agents`
        self.holding: list[int] = []  # places of the agents with stock, ascending
        self.parents: list[tuple[str, int, str | None]] = []  # agents who may recruit
        self.sales: list[tuple[str, datetime, int]] = []  # (sale, when, units)
        self.closed = period_of(START)
        self.written = 0

    def line(self, cmd: str, **fields: Any) -> str:
        self.written += 1
        at = self.at.isoformat(timespec="seconds")
        return json.dumps({"at": at, "cmd": cmd, **fields}, ensure_ascii=False)

    def lines(self) -> Iterator[str]:
        yield self.line("product", sku=SKU, name="养生茶", retail_price=f"{RETAIL}.00")
        while self.written < self.commands:
            self.at += self.step
            yield from self._close_months()
            yield self._next()

    def _close_months(self) -> Iterator[str]:
        current = period_of(self.at)
        while self.closed != current:
            closing, self.closed = self.closed, _next_period(self.closed)
            yield self.line("close_period", period=closing)

    def _next(self) -> str:
        r = self.rng.random()
        if len(self.agents) < self.agents_wanted and (r < 0.15 or len(self.agents) < 3):
            return self._join()
        if r < 0.25 or not self.holding:
            return self._purchase()
        if r < 0.27 and self.sales:
            sale, when, _units = self.sales[-1]
            if self.at - when < timedelta(days=6):
                self.sales.pop()
                return self.line("return", sale=sale, lines=[{"sku": SKU, "qty": 1}])
        return self._sale(self.agents[self.rng.choice(self.holding)][0])

    def _set_stock(self, agent: str, units: int) -> None:
        place, had = self.index[agent], self.stock.get(agent, 0)
        self.stock[agent] = units
        if had > 0 and units == 0:
            self.holding.pop(bisect.bisect_left(self.holding, place))
        elif had == 0 and units > 0:
            bisect.insort(self.holding, place)

    def _join(self) -> str:
        n = len(self.agents) + 1
        parents = self.parents
        sponsor = None if n % 20 == 1 or not parents else self.rng.choice(parents)
        depth = 1 if sponsor is None else sponsor[1] + 1
        agent = f"A{n}"
        self.index[agent] = len(self.agents)
        self.agents.append((agent, depth, sponsor[0] if sponsor else None))
        if depth < 3:
            self.parents.append(self.agents[-1])
        return self.line("join", agent=agent, sponsor=sponsor[0] if sponsor else None,
                         tier=TIER_BY_DEPTH[depth], name=f"代理{n}", id_number=id_number(n),
                         phone=f"138{n:08d}")  # fmt: skip

    def _purchase(self) -> str:
        buyer, _depth, sponsor = self.rng.choice(self.agents)
        qty = self.rng.randint(5, 40)
        if sponsor is not None and self.stock.get(sponsor, 0) >= qty:
            self._set_stock(sponsor, self.stock[sponsor] - qty)
        else:
            sponsor = None  # from HQ
        self._set_stock(buyer, self.stock.get(buyer, 0) + qty)
        return self.line("purchase", buyer=buyer, seller=sponsor, lines=[{"sku": SKU, "qty": qty}])

    def _sale(self, seller: str) -> str:
        qty = min(self.stock[seller], self.rng.randint(1, 3))
        self._set_stock(seller, self.stock[seller] - qty)
        sale = f"S{self.written}"
        self.sales.append((sale, self.at, qty))
        price = f"{self.rng.choice((99, 95, 92, 90))}.00"
        return self.line("sale", sale=sale, seller=seller, customer=f"C{self.rng.randint(1, 9999)}",
                         lines=[{"sku": SKU, "qty": qty, "unit_price": price}])  # fmt: skip


def _next_period(period: str) -> str:
    year, month = map(int, period.split("-"))
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    for text in Journal(count).lines():
        print(text)
