"""What the alert rules need to know about the network, kept from the event log.

Plain, mutable state fed in log order by monitor.py: each agent's place in the tree
and the size of its subtree, its units on hand, its recent purchases, retail sales and
recruits (only the last weeks: every window the rules read is 30 days), and the
amounts of each open period, per agent and per subtree. It is rebuilt from position 0
whenever a watcher starts, so nothing here needs to be stored.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from domain.compliance.rules import days_of_cover, hoarding_70, recruiting_without_selling

Cite = dict[str, Any]  # {"position": int, "stream": str, "name": str}

# Every window the rules read is 30 days; keep a day more of the lists that are scanned,
# so an event a little out of order still counts.
WINDOW = timedelta(days=30)
assert WINDOW == hoarding_70.WINDOW == days_of_cover.TRAILING == recruiting_without_selling.WINDOW
KEEP = WINDOW + timedelta(days=1)
MAX_CITES = 20  # an alert cites its evidence, not a period's whole history


@dataclass
class Window:
    """Amounts at business times, summed over the trailing window that ends `now`.

    Entries that fell out of the window are dropped as time passes, with a running
    total, so judging a busy agent costs the same as a quiet one. The log comes in
    business-time order; an event older than one already judged counts for what is
    left of its window.
    """

    span: timedelta
    items: deque[tuple[datetime, int]] = field(default_factory=deque)
    total: int = 0

    def add(self, at: datetime, amount: int) -> None:
        self.items.append((at, amount))
        self.total += amount

    def sum(self, now: datetime) -> int:
        """Over (now - span, now]."""
        start = now - self.span
        while self.items and self.items[0][0] <= start:
            self.total -= self.items.popleft()[1]
        later = 0  # entries after `now` (fed out of order) do not count yet
        for at, amount in reversed(self.items):
            if at <= now:
                break
            later += amount
        return self.total - later


@dataclass
class AgentFacts:
    agent: str
    sponsor: str | None
    depth: int
    joined_at: datetime
    join_cite: Cite
    on_hand: int = 0  # units, all SKUs
    purchases: deque[tuple[datetime, int, Cite]] = field(default_factory=deque)
    retail: Window = field(default_factory=lambda: Window(WINDOW))  # net units sold (+/-)
    sales: deque[datetime] = field(default_factory=deque)  # own retail sales
    first_sale: datetime | None = None
    early_fen: int = 0  # bought within the entry-loading window after joining
    early_cites: list[Cite] = field(default_factory=list)
    recruits: deque[tuple[datetime, Cite]] = field(default_factory=deque)
    members: int = 1  # of its subtree, itself included
    deepest: int = 0  # the largest depth in its subtree
    open_alerts: int = 0  # open entry-loading / push-down alerts in its subtree

    def __post_init__(self) -> None:
        self.deepest = self.depth

    @property
    def levels(self) -> int:
        """Levels of its subtree, counting itself."""
        return self.deepest - self.depth + 1

    def forget_before(self, now: datetime) -> None:
        cutoff = now - KEEP
        for queue in (self.purchases, self.recruits):
            while queue and queue[0][0] < cutoff:
                queue.popleft()
        while self.sales and self.sales[0] < cutoff:
            self.sales.popleft()

    # windows: (now - span, now], so an event at `now` itself counts

    def bought_units(self, now: datetime, span: timedelta) -> tuple[int, list[Cite]]:
        found = [(units, cite) for at, units, cite in self.purchases if now - span < at <= now]
        return sum(units for units, _ in found), [cite for _, cite in found]

    def retail_units(self, now: datetime) -> int:
        return self.retail.sum(now)

    def sales_in(self, now: datetime, span: timedelta) -> int:
        return sum(1 for at in self.sales if now - span < at <= now)

    def recruits_in(self, now: datetime, span: timedelta) -> list[Cite]:
        return [cite for at, cite in self.recruits if now - span < at <= now]


@dataclass
class PeriodSums:
    """Stock sold to the downline and net retail of one period, in fen."""

    shipped: int = 0
    retail: int = 0
    cites: list[Cite] = field(default_factory=list)  # the shipments, up to MAX_CITES


class Network:
    def __init__(self) -> None:
        self.agents: dict[str, AgentFacts] = {}
        self.own: dict[str, dict[str, PeriodSums]] = {}  # period -> agent -> its own
        self.team: dict[str, dict[str, PeriodSums]] = {}  # period -> root -> its subtree
        self.stocked: set[str] = set()  # agents with units on hand
        # line() of each agent asked for, as every sale asks for its seller's: forgotten
        # whenever anyone joins, the only change to the tree (an agent whose sponsor
        # joins later has a longer line from then on).
        self._lines: dict[str, tuple[str, ...]] = {}

    def join(self, facts: AgentFacts) -> list[str]:
        """Add an agent; the ancestors whose subtree grew, nearest first."""
        self._lines.clear()
        self.agents[facts.agent] = facts
        above = list(self.ancestors(facts.agent))
        for name in above:
            upper = self.agents[name]
            upper.members += 1
            upper.deepest = max(upper.deepest, facts.depth)
        return above

    def ancestors(self, agent: str) -> Iterator[str]:
        facts = self.agents.get(agent)
        while facts is not None and facts.sponsor is not None:
            yield facts.sponsor
            facts = self.agents.get(facts.sponsor)

    def line(self, agent: str) -> tuple[str, ...]:
        """The agent and every agent above it: the subtrees it belongs to."""
        found = self._lines.get(agent)
        if found is None:
            found = self._lines[agent] = (agent, *self.ancestors(agent))
        return found

    def stock(self, agent: str, units: int) -> AgentFacts | None:
        facts = self.agents.get(agent)
        if facts is None:
            return None
        facts.on_hand += units
        if facts.on_hand > 0:
            self.stocked.add(agent)
        else:
            self.stocked.discard(agent)
        return facts

    def add_shipped(self, period: str, agent: str, fen: int, cite: Cite) -> None:
        own = _sums(self.own, period, agent)
        own.shipped += fen
        if len(own.cites) < MAX_CITES:
            own.cites.append(cite)
        for name in self.line(agent):
            _sums(self.team, period, name).shipped += fen

    def add_retail(self, period: str, agent: str, fen: int) -> None:
        _sums(self.own, period, agent).retail += fen
        for name in self.line(agent):
            _sums(self.team, period, name).retail += fen

    def close(self, period: str) -> tuple[dict[str, PeriodSums], dict[str, PeriodSums]]:
        """Hand over a period's sums (own, team) and forget them."""
        return self.own.pop(period, {}), self.team.pop(period, {})


def _sums(table: dict[str, dict[str, PeriodSums]], period: str, name: str) -> PeriodSums:
    """table[period][name], made when missing. Not setdefault: that builds a
    PeriodSums (and its list) on every sale only to throw it away."""
    sums = table.get(period)
    if sums is None:
        sums = table[period] = {}
    found = sums.get(name)
    if found is None:
        found = sums[name] = PeriodSums()
    return found
