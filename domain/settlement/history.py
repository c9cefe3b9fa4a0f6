"""Settlement re-derived from the event log alone.

Events are read in position order: sales, returns and joins become facts for the pure
Ledger, and each PeriodClosed closes the Ledger's period where it stands in the log, so
what a close saw is exactly what the log held before it. The same walk serves a new
close, the preview of the open period, and `verify-payouts`, which compares what it
re-derives with the StatementIssued events actually recorded.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from domain.events import Codec, streams
from domain.policy.book import PolicyBook, policy_in_force
from domain.ports import EventStore, RecordedEvent
from domain.settlement.facts import AdjustmentFact, ReturnFact, SaleFact, Statement
from domain.settlement.ledger import Ledger
from domain.settlement.model import IssuedStatement, statement_from_event
from domain.settlement.plan import CommissionPlan, plan_from_policy

PAGE = 10_000
READS = (
    "AgentJoined",
    "RetailSaleRecorded",
    "SaleReturned",
    "PeriodClosed",
    "StatementIssued",
    "PolicyIssued",
    "PolicyBookOpened",
    "DisputeResolved",
)
_codec = Codec()
_CLOSE_READS = tuple(n for n in READS if n != "StatementIssued")
_FACTS = ("AgentJoined", "RetailSaleRecorded", "SaleReturned", "DisputeResolved")


async def events_of(
    store: EventStore, tenant: str, names: tuple[str, ...], upto: int | None = None,
    after: int = 0,
) -> AsyncIterator[RecordedEvent]:
    while True:
        page = await store.read_all(
            tenant, after=after, upto_position=upto, names=names, limit=PAGE
        )
        for event in page:
            yield event
        if len(page) < PAGE:
            return
        after = page[-1].position


def cite(event: RecordedEvent) -> str:
    """How a statement line names the event it comes from: stream@version."""
    return f"{event.stream}@{event.version}"


@dataclass
class Replay:
    """The settlement ledger as the log stands, and what the log says was issued.

    `position`: the log is read through there; `replay(since=)` goes on from it. Without
    `audit` (a close, which needs only the ledger) neither the statements issued nor those
    re-derived are kept: they grow with every close and only `verify-payouts` reads them."""

    ledger: Ledger
    plans: _Plans
    audit: bool = True
    position: int = 0
    sponsors: dict[str, str | None] = field(default_factory=dict)  # agent -> sponsor
    derived: dict[str, tuple[Statement, ...]] = field(default_factory=dict)
    issued: dict[str, list[Statement]] = field(default_factory=dict)
    closed: list[str] = field(default_factory=list)
    # What the events state beside their lines, which `verify-payouts` holds against
    # them: each StatementIssued's total, keyed (period, agent), and each PeriodClosed's
    # (statements, total_fen).
    stated_totals: dict[tuple[str, str], int] = field(default_factory=dict)
    closes: dict[str, tuple[int, int]] = field(default_factory=dict)


class _Plans:
    """The commission plan in force at any business time, as the policy book says."""

    def __init__(self) -> None:
        self.book: PolicyBook | None = None
        self._by_version: dict[int, CommissionPlan] = {}  # asked once per sale: remember

    def __call__(self, at: datetime) -> CommissionPlan:
        policy = policy_in_force(self.book, at)
        plan = self._by_version.get(policy.version)
        if plan is None:
            plan = self._by_version[policy.version] = plan_from_policy(policy)
        return plan


def _fields(recorded: RecordedEvent) -> Any:
    """An event's fields, read straight from its payload: a close reads a million sales,
    and building each event object costs more than the maths. An event stored under an
    older class version is decoded by the library, which upcasts it."""
    state = _codec.mapper.transcoder.decode(recorded.payload)
    if "class_version" in state:
        return _codec.decode(recorded)
    return SimpleNamespace(**state)


async def replay(store: EventStore, tenant: str, upto: int | None = None,
                 progress: Callable[[int], None] | None = None, *,
                 since: Replay | None = None, audit: bool = True) -> Replay:
    """`progress(n)`: n more positions of the log read (through `upto`, when given).

    `since`: a replay of the log's start, carried on IN PLACE through what was recorded
    after its position and returned (the log only grows, so what it read still stands):
    a close then reads the events since the last one instead of all history. Its
    position moves with each event applied, so a read that fails midway leaves it whole
    and current there."""
    if since is None:
        plans = _Plans()
        since = Replay(Ledger(plans), plans, audit)
    result = since
    sponsors = result.sponsors
    reached = result.position
    names = READS if result.audit else _CLOSE_READS
    async for recorded in events_of(store, tenant, names, upto, result.position):
        if progress is not None:
            progress(recorded.position - reached)
            reached = recorded.position
        name = recorded.name
        event: Any = _fields(recorded) if name in _FACTS else _codec.decode(recorded)
        if name == "AgentJoined":
            # One string per agent, however many of its sales the ledger holds.
            agent = sys.intern(event.agent)
            sponsors[agent] = event.sponsor if event.sponsor is None else sys.intern(
                event.sponsor)
        elif name == "RetailSaleRecorded":
            units = sum(line["qty"] for line in event.lines)
            seller = sys.intern(event.seller)
            result.ledger.record_sale(
                SaleFact(event.sale, seller, recorded.business_time, units,
                         event.amount, cite(recorded), sponsors.get(seller))
            )
        elif name == "SaleReturned":
            units = sum(line["qty"] for line in event.lines)
            result.ledger.record_return(
                ReturnFact(streams.sale_of(recorded.stream), recorded.business_time, units,
                           event.amount, cite(recorded))
            )
        elif name == "PeriodClosed":
            issued = result.ledger.close(event.period)
            if result.audit:
                result.derived[event.period] = issued
            result.closed.append(event.period)
            result.closes[event.period] = (event.statements, event.total_fen)
        elif name == "StatementIssued":
            assert isinstance(event, IssuedStatement.Issued)
            result.issued.setdefault(event.period, []).append(statement_from_event(event))
            result.stated_totals[event.period, event.agent] = event.total_fen
        elif name == "DisputeResolved" and event.adjustment_fen:
            result.ledger.record_adjustment(
                AdjustmentFact(event.agent, recorded.business_time, event.adjustment_fen,
                               recorded.stream.removeprefix("dispute-"), cite(recorded))
            )
        elif name in ("PolicyBookOpened", "PolicyIssued"):
            result.plans.book = event.mutate(result.plans.book)
        result.position = recorded.position
    if progress is not None and upto is not None:
        progress(max(upto - reached, 0))  # the rest of the log holds nothing it reads
    return result
