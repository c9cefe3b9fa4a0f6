"""Judging: the state of the alert rules and how a breach is raised, once.

Monitor (monitor.py) feeds it the log; this part keeps the facts (facts.py), the
deadlines still to come, which lasting conditions are ongoing, and turns a rule's
numbers (each rule's own module in rules/) into a Breach with its stable key
(alerts.breach_key). A lasting condition (days of cover, recruiting without selling,
pyramid risk) raises once when it begins and again only after it has ended and begun
anew, counted 1, 2, ...
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from domain.compliance.alerts import breach_key
from domain.compliance.facts import MAX_CITES, Cite, Network
from domain.compliance.rules import (
    days_of_cover,
    dispute_overdue,
    entry_loading,
    push_down,
    pyramid_risk,
)
from domain.compliance.rules.thresholds import SEVERITIES, WARNING, Numbers, Thresholds
from domain.periods import period_end, period_of, period_start
from domain.policy.model import DEFAULT_POLICY, Policy


@dataclass(frozen=True, slots=True)
class Seen:
    """One recorded event as the rules read it: payload decoded to plain fields."""

    position: int
    stream: str
    name: str
    at: datetime
    data: dict[str, Any]

    @property
    def cite(self) -> Cite:
        return {"position": self.position, "stream": self.stream, "name": self.name}


@dataclass(frozen=True, slots=True)
class Breach:
    key: str  # the alert id
    rule: str
    agent: str
    severity: str
    numbers: Numbers
    cites: list[Cite]
    policy_version: int
    at: datetime  # the business time it was judged at
    trigger: int  # the position of the event whose arrival revealed it


class Judging:
    def __init__(self) -> None:
        self.net = Network()
        self.policies: list[Policy] = [DEFAULT_POLICY]
        self._thresholds: dict[int, Thresholds] = {}  # by policy version
        self.now: datetime | None = None
        self.swept: date | None = None
        self._day_end: datetime | None = None  # the end (UTC) of the CST day `swept`
        self._deadlines: list[tuple[datetime, int, str, str]] = []  # (due, seq, kind, ref)
        self._seq = 0
        self.raised: set[str] = set()
        self._episodes: Counter[tuple[str, str]] = Counter()
        self._ongoing: dict[tuple[str, str], str] = {}  # (rule, agent) -> key or severity
        self._open: dict[str, str] = {}  # open entry-loading / push-down alert -> agent
        self._internal: dict[str, bool] = {}  # root -> stock sales above retail last period
        self._periods: set[str] = set()  # periods whose end is scheduled
        self._active: tuple[datetime, datetime, str] | None = None  # last period: start, end
        self._judged: set[str] = set()  # periods judged at their end or close
        self._disputes: dict[str, tuple[str, datetime, datetime | None, Cite]] = {}
        self._found: list[Breach] = []
        self._event: Seen | None = None

    def thresholds(self) -> Thresholds:
        """Those of the policy in force now."""
        assert self.now is not None
        found = DEFAULT_POLICY
        for p in self.policies:  # as PolicyBook.in_force: the latest version in force
            if (p.effective_from is None or p.effective_from <= self.now) and (
                p.version > found.version
            ):
                found = p
        if found.version not in self._thresholds:
            self._thresholds[found.version] = Thresholds.of(found)
        return self._thresholds[found.version]

    def thresholds_of(self, version: int) -> Thresholds:
        """Those of one version (one the log has not issued: those in force now)."""
        found = self._thresholds.get(version)
        if found is None:
            policy = next((p for p in self.policies if p.version == version), None)
            if policy is None:
                return self.thresholds()
            found = self._thresholds[version] = Thresholds.of(policy)
        return found

    def _schedule(self, due: datetime, kind: str, ref: str) -> None:
        self._seq += 1
        heapq.heappush(self._deadlines, (due, self._seq, kind, ref))

    # raising

    def _raise(
        self,
        rule: str,
        agent: str,
        parts: tuple[str | int, ...],
        numbers: Numbers,
        cites: list[Cite],
        severity: str = WARNING,
        thresholds: Thresholds | None = None,
    ) -> str | None:
        """`thresholds`: those that judged it, when not those in force now."""
        key = breach_key(rule, agent, *parts)
        if key in self.raised:
            return None
        assert self.now is not None and self._event is not None
        t = self.thresholds() if thresholds is None else thresholds
        self.raised.add(key)
        self._found.append(
            Breach(
                key,
                rule,
                agent,
                severity,
                numbers,
                cites,
                t.policy_version,
                self.now,
                self._event.position,
            )
        )
        if rule in pyramid_risk.OPEN_ALERTS:
            self._open[key] = agent
            self._count_open(agent, +1)
        return key

    def _episode(
        self, rule: str, agent: str, numbers: Numbers | None, cites: list[Cite]
    ) -> None:
        """A lasting condition: raise when it begins, stay quiet while it lasts."""
        if numbers is None:
            self._ongoing.pop((rule, agent), None)
        elif (rule, agent) not in self._ongoing:
            self._episodes[(rule, agent)] += 1
            n = self._episodes[(rule, agent)]
            self._ongoing[(rule, agent)] = self._raise(rule, agent, (n,), numbers, cites) or ""

    def _count_open(self, agent: str, step: int) -> None:
        line = self.net.line(agent) if agent in self.net.agents else ()
        for name in line:
            self.net.agents[name].open_alerts += step
        for name in line:
            self._judge_pyramid(name)

    # rules

    def _judge_cover(self, agent: str) -> None:
        facts = self.net.agents.get(agent)
        assert self.now is not None and self._event is not None
        if facts is None or self.now < facts.joined_at + days_of_cover.MEMBERSHIP:
            return
        facts.forget_before(self.now)
        sold = facts.retail_units(self.now)
        ongoing = (days_of_cover.RULE, agent) in self._ongoing
        if ongoing and days_of_cover.lasts(self.thresholds(), facts.on_hand, sold):
            return  # it lasts: nothing to raise (_episode would stay quiet), no numbers
        numbers = days_of_cover.breach(self.thresholds(), facts.on_hand, sold)
        cites = []
        if numbers is not None and not ongoing:
            bought = [cite for _, _, cite in facts.purchases][-MAX_CITES:]
            cites = [facts.join_cite, *bought, self._event.cite]
        self._episode(days_of_cover.RULE, agent, numbers, cites)

    def _judge_pyramid(self, root: str) -> None:
        facts = self.net.agents[root]
        found = pyramid_risk.breach(
            self.thresholds(),
            facts.levels,
            facts.members,
            self._internal.get(root, False),
            facts.open_alerts,
        )
        current = self._ongoing.get((pyramid_risk.RULE, root))
        if found is None:
            self._ongoing.pop((pyramid_risk.RULE, root), None)
            return
        severity, numbers = found
        if current is None or SEVERITIES.index(severity) > SEVERITIES.index(current):
            self._episodes[(pyramid_risk.RULE, root)] += 1
            n = self._episodes[(pyramid_risk.RULE, root)]
            assert self._event is not None
            self._raise(
                pyramid_risk.RULE,
                root,
                (severity, n),
                numbers,
                [facts.join_cite, self._event.cite],
                severity,
            )
            self._ongoing[(pyramid_risk.RULE, root)] = severity

    def _judge_pyramids(self) -> None:
        for name, facts in sorted(self.net.agents.items()):
            if facts.members >= pyramid_risk.MEMBERS:
                self._judge_pyramid(name)

    # deadlines

    def _joined_30_days(self, agent: str) -> None:
        facts = self.net.agents[agent]
        assert self._event is not None
        numbers = entry_loading.breach(
            self.thresholds(), facts.early_fen, facts.first_sale, facts.joined_at
        )
        if numbers is not None:
            cites = [facts.join_cite, *facts.early_cites, self._event.cite]
            self._raise(entry_loading.RULE, agent, (), numbers, cites)
        self._judge_cover(agent)

    def _dispute_due(self, dispute: str) -> None:
        agent, opened, answered, cite = self._disputes[dispute]
        assert self.now is not None and self._event is not None
        numbers = dispute_overdue.breach(opened, answered, self.now)
        if numbers is not None:
            numbers = {"dispute": dispute, **numbers}
            cites = [cite, self._event.cite]
            self._raise(dispute_overdue.RULE, agent, (dispute,), numbers, cites)

    def _period_end(self, period: str) -> None:
        if period in self._judged:
            return  # a PeriodClosed came before its end was passed, or after
        self._judged.add(period)
        own, team = self.net.close(period)
        assert self._event is not None
        # Subtrees first, so a pyramid-risk alert the push-downs below set off shows
        # every condition that holds, not only the open alert.
        roots = set(team) | {root for root, on in self._internal.items() if on}
        for root in roots:
            inside = team.get(root)
            self._internal[root] = inside is not None and pyramid_risk.internal_selling(
                inside.shipped, inside.retail
            )
        for agent, sums in sorted(own.items()):
            numbers = push_down.breach(sums.shipped, sums.retail, period)
            if numbers is not None:
                cites = [*sums.cites, self._event.cite]
                self._raise(push_down.RULE, agent, (period,), numbers, cites)
        for root in sorted(roots):
            self._judge_pyramid(root)

    def _period_active(self, at: datetime) -> str:
        # Nearly every sale falls in the period of the one before: two comparisons
        # instead of a conversion to CST and a formatted string.
        active = self._active
        if active is not None and active[0] <= at < active[1]:
            return active[2]
        period = period_of(at)
        if period not in self._periods:
            self._periods.add(period)
            self._schedule(period_end(period), "period", period)
        self._active = (period_start(period), period_end(period), period)
        return period
