"""The demo brand's journal: a lawful brand of about 2,000 agents over 90 days, and a
short list of planted violations a newcomer can find (`PLANTED`, README "The demo").

Lawful, as the alert rules of DOMAIN.md see it: every agent buys stock from HQ once a
cycle of 31.5 to 34 days (so no purchase has another within the 70% rule's 30 days),
about what it sells in a month (12 to 24 units, under 2,000.00 at any tier price), and
sells that stock to consumers in three or four sales spread over the cycle, at 90 to 99
of the 99.00 suggested price (so days of cover stays near 30, far below 90); a few
customers return a unit within the 7 days. Agents recruit only while they sell (no
recruiting without selling), nobody ships stock down (no push-down, no internal
selling in any subtree), and the brand's own policy (version 2: 3% of own net retail
above 500.00 a month, 5% above 10,000.00) pays most active agents something each month.

The history ends at `end` (the demo: today's midnight, China time), so the commands a
newcomer sends today, which the server dates now, continue it instead of leaping months
past it; its last line is a `tick` at `end`, the demo's mark of completion
(cli/demo.py). The journal is a function of `end` and the seed alone: generated again,
it is the same lines, so an interrupted import is finished by importing it again.
"""

from __future__ import annotations

import heapq
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cli.journal_generator import SKU, TIER_BY_DEPTH, id_number
from domain.periods import next_period, period_of, period_start

AGENTS = 2_000
DAYS = 90  # of history
DAY, HOUR = timedelta(days=1), timedelta(hours=1)
RETAIL = "99.00"
PRICES = ("99.00", "95.00", "92.00", "90.00")  # the floor is 89.10 (90%)
# The brand's own plan (DOMAIN.md: HQ may change every number); the rest is the default.
POLICY = {"brackets": [{"from": "0.00", "rate": "0"}, {"from": "500.00", "rate": "0.03"},
                       {"from": "10000.00", "rate": "0.05"}]}

# What the demo plants, as a newcomer finds it: (rule, agent) in GET /v1/alerts and in
# GET /v1/refusals. Nothing else breaks a rule (tests/api/test_demo.py holds it to that).
PLANTED_ALERTS = {
    ("entry-loading", "P1"): "buys 60 units (2,376.00) on joining, sells nothing for 30 days",
    ("days-of-cover", "P1"): "the same 60 units unsold on its 30th day",
    ("recruiting-without-selling", "P2"): "five recruits (P2-1..P2-5) in nine days, no sale",
    ("hoarding-70", "P3"): "buys 40 more while 35 of the first 40 are unsold",
    ("push-down", "P4"): "ships 120 units to its six generals in its first week",
    ("pyramid-risk", "P4"): "its 31 agents in 3 levels, with that push-down open",
    ("dispute-overdue", "P5"): "disputes a statement; nobody answers in 48 hours",
}
PLANTED_REFUSALS = {
    ("join-fee", "P6"): "a join that charges a 199.00 entry fee",
    ("return-window", "P5"): "a return 10 days after the sale, without HQ's approval",
    ("price-floor", "P5"): "a sale at 79.00, below the 89.10 floor",
}


@dataclass
class _Agent:
    name: str
    depth: int
    sponsor: str | None
    demand: int  # units a month
    stock: int = 0
    last_sale: datetime | None = None
    recruits: list[datetime] = field(default_factory=list)
    lawful: bool = True  # a planted agent is never chosen as a sponsor


class DemoBrand:
    """The demo brand's journal lines, oldest first (`lines()`); then `token_agent`."""

    def __init__(self, end: datetime, agents: int = AGENTS, seed: int = 2026) -> None:
        self.rng = random.Random(seed)
        self.end = end
        self.start = end - DAYS * DAY
        self.agents_wanted = agents
        self.agents: dict[str, _Agent] = {}
        self.joined = 0
        self._queue: list[tuple[datetime, int, Callable[..., Iterator[str]], tuple[Any, ...]]] = []
        self._seq = 0
        self._sales = 0
        self._closed = period_of(self.start)
        self.written = 0

    # the journal

    def lines(self) -> Iterator[str]:
        at = self.start
        yield self._line(at, "policy", **POLICY)
        yield self._line(at, "product", sku=SKU, name="养生茶", retail_price=RETAIL)
        self._plan_joins()
        self._plant()
        while self._queue:
            when, _, action, args = heapq.heappop(self._queue)
            if when >= self.end:
                break
            yield from self._close_through(when)
            yield from action(when, *args)
        yield from self._close_through(self.end)
        yield self._line(self.end, "tick")  # the mark of completion: the last line

    @property
    def token_agent(self) -> str:
        """A lawful agent with stock at the end and a downline: the one whose token the
        demo prints (read once `lines()` is exhausted)."""
        def rank(a: _Agent) -> tuple[int, int, str]:
            return (-len(a.recruits), -a.stock, a.name)
        held = [a for a in self.agents.values() if a.lawful and a.stock > 0 and a.recruits]
        return min(held, key=rank).name

    def _line(self, at: datetime, cmd: str, **fields: Any) -> str:
        self.written += 1
        return json.dumps({"at": at.isoformat(timespec="seconds"), "cmd": cmd, **fields},
                          ensure_ascii=False)

    def _at(self, when: datetime, action: Callable[..., Iterator[str]], *args: Any) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (when, self._seq, action, args))

    def _close_through(self, when: datetime) -> Iterator[str]:
        """Each month is closed at its first instant after it ends, as HQ would."""
        while period_start(next_period(self._closed)) <= when:
            closing, self._closed = self._closed, next_period(self._closed)
            yield self._line(period_start(self._closed), "close_period", period=closing)

    # lawful agents

    def _plan_joins(self) -> None:
        # Growth over the first 60 days, faster as it goes; each has 30 days or more.
        for _ in range(self.agents_wanted - _PLANTED_AGENTS):
            day = 60 * self.rng.random() ** 0.8 + 0.1
            self._at(self.start + day * DAY, self._join_lawful)

    def _join_lawful(self, at: datetime) -> Iterator[str]:
        eligible = list(self._sponsors(at))
        sponsor = None if not eligible or self.rng.random() < 0.05 else self.rng.choice(eligible)
        self.joined += 1
        yield from self._join(at, f"A{self.joined}", sponsor)

    def _sponsors(self, at: datetime) -> Iterator[_Agent]:
        """Who may recruit now: lawful, room below it, a sale in the last 25 days, and
        fewer than four recruits in the last 30 (never near recruiting-without-selling)."""
        for a in self.agents.values():
            if (a.lawful and a.depth < 3 and a.last_sale is not None
                    and at - a.last_sale < 25 * DAY
                    and sum(1 for r in a.recruits if at - r < 30 * DAY) < 4):
                yield a

    def _join(self, at: datetime, name: str, sponsor: _Agent | None, *, lawful: bool = True,
              cycle: bool = True, tier: str | None = None) -> Iterator[str]:
        depth = 1 if sponsor is None else sponsor.depth + 1
        agent = _Agent(name, depth, sponsor.name if sponsor else None,
                       demand=self.rng.randint(12, 24), lawful=lawful)
        self.agents[name] = agent
        if sponsor is not None:
            sponsor.recruits.append(at)
        n = len(self.agents)
        yield self._line(at, "join", agent=name, sponsor=agent.sponsor,
                         tier=tier or TIER_BY_DEPTH[depth], name=f"代理{n}",
                         id_number=id_number(n), phone=f"138{n:08d}")
        if cycle:
            self._at(at + self.rng.uniform(2, 36) * HOUR, self._cycle, name)

    def _cycle(self, at: datetime, name: str, qty: int | None = None,
               seller: str | None = None) -> Iterator[str]:
        """One cycle: buy about a month's demand, sell all on hand over the cycle."""
        agent = self.agents[name]
        qty = qty or max(1, agent.demand + self.rng.randint(-2, 2) - agent.stock)
        yield from self._purchase(at, agent, qty, seller)
        length = self.rng.uniform(31.5, 34) * DAY
        self._sell_over(at, agent, agent.stock, length)
        self._at(at + length, self._cycle, name)

    def _sell_over(self, at: datetime, agent: _Agent, units: int, length: timedelta) -> None:
        sales = min(units, self.rng.choice((3, 4)))
        for i in range(sales):
            share = units // sales + (1 if i < units % sales else 0)
            offset = (i + 0.3 + self.rng.uniform(-0.15, 0.15)) / sales
            self._at(at + offset * length, self._sale, agent.name, share)

    def _purchase(self, at: datetime, agent: _Agent, qty: int,
                  seller: str | None = None) -> Iterator[str]:
        if seller is not None:
            self.agents[seller].stock -= qty
        agent.stock += qty
        yield self._line(at, "purchase", buyer=agent.name, seller=seller,
                         lines=[{"sku": SKU, "qty": qty}])

    def _sale(self, at: datetime, name: str, qty: int, price: str | None = None,
              sale: str | None = None) -> Iterator[str]:
        agent = self.agents[name]
        qty = min(qty, agent.stock)
        if qty <= 0:
            return
        agent.stock -= qty
        agent.last_sale = at
        self._sales += 1
        sale = sale or f"S{self._sales}"
        yield self._line(at, "sale", sale=sale, seller=name,
                         customer=f"C{self.rng.randint(1, 99_999)}",
                         lines=[{"sku": SKU, "qty": qty,
                                 "unit_price": price or self.rng.choice(PRICES)}])
        if agent.lawful and self.rng.random() < 0.03:  # 七天无理由: back within the week
            self._at(at + self.rng.uniform(1, 6) * DAY, self._return, name, sale)

    def _return(self, at: datetime, name: str, sale: str) -> Iterator[str]:
        self.agents[name].stock += 1
        yield self._line(at, "return", sale=sale, lines=[{"sku": SKU, "qty": 1}])

    # the planted violations (PLANTED_ALERTS, PLANTED_REFUSALS)

    def _plant(self) -> None:
        day = lambda d: self.start + d * DAY  # noqa: E731
        self._at(day(20), self._entry_loader)
        self._at(day(25), self._recruiter)
        self._at(day(20.5), self._hoarder)
        self._at(day(3), self._pusher)
        self._at(day(15), self._disputer)
        self._at(day(30), self._fee_join)

    def _entry_loader(self, at: datetime) -> Iterator[str]:
        yield from self._join(at, "P1", None, lawful=False, cycle=False)
        self._at(at + 2 * HOUR, self._buy, "P1", 60)
        self._sell_over(at + 31 * DAY, self.agents["P1"], 60, 30 * DAY)  # then it sells

    def _buy(self, at: datetime, name: str, qty: int) -> Iterator[str]:
        yield from self._purchase(at, self.agents[name], qty)

    def _recruiter(self, at: datetime) -> Iterator[str]:
        yield from self._join(at, "P2", None, lawful=False, cycle=False)
        for i in range(1, 6):
            self._at(at + (1 + 2 * (i - 1)) * DAY, self._recruit, f"P2-{i}", "P2")

    def _recruit(self, at: datetime, name: str, sponsor: str, cycle: bool = True
                 ) -> Iterator[str]:
        yield from self._join(at, name, self.agents[sponsor], lawful=False, cycle=cycle)

    def _hoarder(self, at: datetime) -> Iterator[str]:
        yield from self._join(at, "P3", None, lawful=False, cycle=False)
        self._at(at + 2 * HOUR, self._buy, "P3", 40)
        self._at(at + 2 * DAY, self._sale, "P3", 5)
        self._at(at + 12 * DAY, self._cycle, "P3", 40)  # 35 unsold: the 70% rule

    def _pusher(self, at: datetime) -> Iterator[str]:
        """P4 buys its generals' stock with its own and ships it down to them in its
        first week (under 30 days a member: days of cover does not judge it yet). It
        sells first, so its six recruits are no recruiting without selling."""
        yield from self._join(at, "P4", None, lawful=False, cycle=False)
        self._at(at + HOUR, self._buy, "P4", 20 + 6 * 20)
        self._at(at + 2 * HOUR, self._sale, "P4", 3)
        self._sell_over(at + 3 * HOUR, self.agents["P4"], 17, 32 * DAY)
        self._at(at + 32 * DAY, self._cycle, "P4")
        for g in range(1, 7):
            when = at + (6 + 2 * g) * HOUR
            self._at(when, self._recruit, f"P4-{g}", "P4", False)
            self._at(when + HOUR, self._cycle, f"P4-{g}", 20, "P4")
            for f in range(1, 5):
                self._at(at + (6 + 2 * g + f / 2) * DAY, self._recruit, f"P4-{g}-{f}",
                         f"P4-{g}")

    def _disputer(self, at: datetime) -> Iterator[str]:
        """A lawful seller who disputes its first statement (nobody answers), and whose
        history holds a late return and a sale below the floor, both refused."""
        yield from self._join(at, "P5", None, lawful=False)
        self._at(at + 3 * DAY, self._refused_sale)
        after_close = period_start(next_period(period_of(at + 2 * DAY))) + 2 * DAY
        self._at(after_close, self._dispute, period_of(at + 2 * DAY))

    def _refused_sale(self, at: datetime) -> Iterator[str]:
        yield from self._sale(at, "P5", 1, "99.00", sale="P5-S1")
        self._at(at + 10 * DAY, self._late_return)
        self._at(at + HOUR, self._below_floor)

    def _late_return(self, at: datetime) -> Iterator[str]:
        yield self._line(at, "return", sale="P5-S1", lines=[{"sku": SKU, "qty": 1}],
                         reason="customer changed their mind")

    def _below_floor(self, at: datetime) -> Iterator[str]:
        yield self._line(at, "sale", sale="P5-S2", seller="P5", customer="C-P5",
                         lines=[{"sku": SKU, "qty": 1, "unit_price": "79.00"}])

    def _dispute(self, at: datetime, period: str) -> Iterator[str]:
        yield self._line(at, "open_dispute", dispute="D-P5", agent="P5",
                         subject=f"statement:{period}", text="我的佣金少算了")

    def _fee_join(self, at: datetime) -> Iterator[str]:
        yield self._line(at, "join", agent="P6", sponsor=None, tier="partner", name="代理P6",
                         id_number=id_number(9_006), phone="13900009006", fee="199.00")


# P1..P5, P2's five recruits, P4's six generals and their 24 recruits (P6 is refused)
_PLANTED_AGENTS = 5 + 5 + 6 + 24
