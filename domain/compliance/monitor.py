"""The Monitor: every alert rule, run over the event log in position order.

Fed one recorded event at a time, it keeps the facts the rules need (facts.py) and
answers the breaches that event revealed. It knows no wall clock: its time is the
largest business time seen so far, and a deadline (30 days after joining, 48 hours
after a dispute opened, the end of a period) is judged when an event at or past it
arrives (a `tick`, a close, any command), before that event is applied. So the same
log always gives the same breaches, at the same positions: that is what lets a
restarted watcher replay from position 0 and raise only what it had not yet raised.

How a breach is raised once, with its stable key, is judging.py's part.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from datetime import UTC
from typing import Any, cast

from eventsourcing.persistence import JSONTranscoder

from domain.compliance.alerts import STREAM_PREFIX
from domain.compliance.facts import MAX_CITES, AgentFacts
from domain.compliance.judging import Breach, Judging, Seen
from domain.compliance.rules import (
    days_of_cover,
    dispute_overdue,
    entry_loading,
    hoarding_70,
    recruiting_without_selling,
    tax_flag,
)
from domain.events import Codec
from domain.periods import cst_date, cst_day_end
from domain.policy.model import DEFAULT_POLICY, from_document
from domain.ports import LoggedEvent, RecordedEvent

_transcoder = Codec().mapper.transcoder
# raw_decode of the transcoder's own decoder (its object hook: datetimes, decimals)
# gives the same objects as _transcoder.decode without the whitespace matching around
# them: a fifth of decoding a sale's payload, and the library writes no whitespace.
_raw_decode = cast(JSONTranscoder, _transcoder).decoder.raw_decode  # events.py makes it so


def _decode(payload: bytes) -> dict[str, Any]:
    text = payload.decode("utf8")
    try:
        data, end = _raw_decode(text)
    except ValueError:
        end = -1
    if end != len(text) or not isinstance(data, dict):
        # Whitespace around it, or no JSON object: the library's way, errors and all.
        return cast(dict[str, Any], _transcoder.decode(payload))
    return data


def seen(e: RecordedEvent | LoggedEvent) -> Seen:
    """Decode only what the rules read; every event still moves the clock."""
    if e.name not in WATCHED:
        return Seen(e.position, e.stream, e.name, e.business_time, {})
    if e.payload is None:
        raise ValueError(f"{e.name} at {e.position} was read without its payload")
    return Seen(e.position, e.stream, e.name, e.business_time, _decode(e.payload))


def _units(lines: list[dict[str, Any]]) -> int:
    return sum(int(line["qty"]) for line in lines)


def _units_fen(lines: list[dict[str, Any]]) -> tuple[int, int]:
    """Units and fen of priced lines, in one pass (every sale comes here)."""
    units = fen = 0
    for line in lines:
        qty = int(line["qty"])
        units += qty
        fen += qty * int(line["unit_price"])
    return units, fen


def _stock_agent(stream: str) -> str:
    return stream.removeprefix("stock-")  # domain.events.streams.stock


class Monitor(Judging):
    """Every alert rule over the log: feed it each recorded event in position order."""

    def observe(self, e: Seen) -> list[Breach]:
        """The breaches this event reveals (deadlines it passes first, then itself)."""
        self._found, self._event = [], e
        at = e.at.astimezone(UTC)  # stores may hand back the offset the command carried
        self.now = at if self.now is None else max(self.now, at)
        self._pass_time()
        handler = _HANDLERS.get(e.name)
        if handler is not None:
            handler(self, e)
        return self._found

    def observe_recorded(self, e: RecordedEvent | LoggedEvent) -> list[Breach]:
        """A recorded event, or one read with read_log(payloads=WATCHED)."""
        return self.observe(seen(e))

    def _pass_time(self) -> None:
        assert self.now is not None
        while self._deadlines and self._deadlines[0][0] <= self.now:
            _, _, kind, ref = heapq.heappop(self._deadlines)
            _DEADLINES[kind](self, ref)
        # The CST date of every event costs two conversions; time only moves forward
        # (now is the largest seen), so the date can change only once now reaches the
        # end of the day last looked at.
        if self._day_end is not None and self.now < self._day_end:
            return
        today = cst_date(self.now)
        self._day_end = cst_day_end(today)
        if today != self.swept:
            # Days of cover also grows as old sales leave the trailing window, with no
            # event of the agent's own: look again once a day (CST) of business time.
            self.swept = today
            for agent in sorted(self.net.stocked):
                self._judge_cover(agent)

    # events

    def _joined(self, e: Seen) -> None:
        d = e.data
        facts = AgentFacts(d["agent"], d["sponsor"], int(d["depth"]), e.at, e.cite)
        above = self.net.join(facts)
        self._schedule(e.at + days_of_cover.MEMBERSHIP, "joined", facts.agent)
        for name in above:
            self._judge_pyramid(name)

    def _downline_joined(self, e: Seen) -> None:
        facts = self.net.agents.get(e.stream.removeprefix("agent-"))
        if facts is None:
            return
        facts.recruits.append((e.at, e.cite))
        facts.forget_before(e.at)
        window = recruiting_without_selling.WINDOW
        recruits = facts.recruits_in(e.at, window)
        numbers = recruiting_without_selling.breach(len(recruits), facts.sales_in(e.at, window))
        self._episode(recruiting_without_selling.RULE, facts.agent, numbers, recruits)

    def _purchased(self, e: Seen) -> None:
        agent = _stock_agent(e.stream)
        facts = self.net.agents.get(agent)
        if facts is None:
            return
        facts.forget_before(e.at)
        bought, cites = facts.bought_units(e.at, hoarding_70.WINDOW)
        sold = facts.retail_units(e.at)
        numbers = hoarding_70.breach(self.thresholds(), bought, sold)
        if numbers is not None:
            numbers = {"purchase": e.data["purchase"], **numbers}
            purchase = (e.data["purchase"],)
            self._raise(hoarding_70.RULE, agent, purchase, numbers, [e.cite, *cites])
        units, fen = _units_fen(e.data["lines"])
        facts.purchases.append((e.at, units, e.cite))
        if e.at <= facts.joined_at + entry_loading.PURCHASE_WINDOW:
            facts.early_fen += fen
            if len(facts.early_cites) < MAX_CITES:
                facts.early_cites.append(e.cite)
        self.net.stock(agent, units)
        self._judge_cover(agent)

    def _shipped(self, e: Seen) -> None:
        agent = _stock_agent(e.stream)
        units, fen = _units_fen(e.data["lines"])
        self.net.stock(agent, -units)
        if agent in self.net.agents:
            period = self._period_active(e.at)
            self.net.add_shipped(period, agent, fen, e.cite)
        self._judge_cover(agent)

    def _sold(self, e: Seen, sign: int) -> None:
        agent = _stock_agent(e.stream)
        units, fen = _units_fen(e.data["lines"])
        facts = self.net.stock(agent, -sign * units)
        if facts is None:
            return
        facts.retail.add(e.at, sign * units)
        if sign > 0:
            facts.sales.append(e.at)
            facts.first_sale = facts.first_sale or e.at
            self._ongoing.pop((recruiting_without_selling.RULE, agent), None)  # it sells after all
        self.net.add_retail(self._period_active(e.at), agent, sign * fen)
        self._judge_cover(agent)

    def _bought_back(self, e: Seen) -> None:
        agent = _stock_agent(e.stream)
        self.net.stock(agent, -_units(e.data["lines"]))
        self._judge_cover(agent)

    def _policy_issued(self, e: Seen) -> None:
        d = e.data
        self.policies.append(
            from_document(d["document"], int(d["version"]), d["effective_from"], DEFAULT_POLICY)
        )
        self._judge_pyramids()

    def _period_closed(self, e: Seen) -> None:
        period = e.data.get("period") or e.stream.removeprefix("period-")
        self._period_end(str(period))

    def _statement_issued(self, e: Seen) -> None:
        d = e.data
        total = d.get("total_fen", d.get("total"))
        if d.get("agent") is None or not isinstance(total, int):
            return
        # The statement's flag, decided at settlement by the version in force at the
        # period's end: that version's threshold is the limit, and it judged the alert.
        version = d.get("policy_version")
        t = self.thresholds_of(version) if isinstance(version, int) else self.thresholds()
        period = str(d["period"])
        numbers = tax_flag.breach(d.get("tax_flag") is True, total, t.tax_flag_fen, period)
        if numbers is not None:
            self._raise(tax_flag.RULE, str(d["agent"]), (period,), numbers, [e.cite], thresholds=t)

    def _dispute_opened(self, e: Seen) -> None:
        dispute = str(e.data["dispute"])
        self._disputes[dispute] = (str(e.data["agent"]), e.at, None, e.cite)
        self._schedule(e.at + dispute_overdue.ANSWER_WITHIN, "dispute", dispute)

    def _dispute_answered(self, e: Seen) -> None:
        dispute = str(e.data["dispute"])
        found = self._disputes.get(dispute)
        if found is not None and found[2] is None:
            self._disputes[dispute] = (found[0], found[1], e.at, found[3])

    def _alert_resolved(self, e: Seen) -> None:
        agent = self._open.pop(e.stream.removeprefix(STREAM_PREFIX), None)
        if agent is not None:
            self._count_open(agent, -1)


_HANDLERS: dict[str, Callable[[Monitor, Seen], None]] = {
    "AgentJoined": Monitor._joined,
    "DownlineJoined": Monitor._downline_joined,
    "StockPurchased": Monitor._purchased,
    "StockShipped": Monitor._shipped,
    "StockSoldAtRetail": lambda m, e: m._sold(e, +1),
    "StockReturned": lambda m, e: m._sold(e, -1),
    "BuybackCompleted": Monitor._bought_back,
    "PolicyIssued": Monitor._policy_issued,
    "PeriodClosed": Monitor._period_closed,
    "StatementIssued": Monitor._statement_issued,
    "DisputeOpened": Monitor._dispute_opened,
    "DisputeAnswered": Monitor._dispute_answered,
    "DisputeResolved": Monitor._dispute_answered,
    "AlertResolved": Monitor._alert_resolved,
}
WATCHED = frozenset(_HANDLERS)  # the names whose payload the rules read
_DEADLINES: dict[str, Callable[[Monitor, str], None]] = {
    "joined": Monitor._joined_30_days,
    "dispute": Monitor._dispute_due,
    "period": Monitor._period_end,
}
