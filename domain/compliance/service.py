"""Application service for compliance commands: tick, disputes, and alerts handled by
people. Alerts themselves are raised by the watchers (projections/watchers.py), never
by a command: a person may acknowledge or resolve a breach, not invent or erase one.
"""

from __future__ import annotations

from datetime import datetime

from domain.agents.model import Agent
from domain.agents.rules import unknown_agent
from domain.compliance.alerts import Alert, alert_stream
from domain.compliance.clock import CLOCK_STREAM, Clock
from domain.compliance.commands import (
    AcknowledgeAlert,
    AnswerDispute,
    OpenDispute,
    ResolveAlert,
    ResolveDispute,
    Tick,
)
from domain.compliance.disputes import RESOLVED, Dispute, dispute_stream, parse_subject
from domain.compliance.rules.refusals import (
    already_resolved,
    duplicate_dispute,
    unknown_alert,
    unknown_dispute,
)
from domain.errors import judge
from domain.events import create, streams, trigger
from domain.handling import Accepted, Context, Decision, Session, execute, load
from domain.orders.rules import unknown_sale
from domain.orders.sales import Sale
from domain.policy.service import load_policy
from domain.ports import EventStore


async def _dispute(s: Session, dispute: str) -> Dispute:
    found = await s.load(dispute_stream(dispute), Dispute)
    judge(unknown_dispute(found, dispute))
    assert found is not None
    judge(already_resolved(found.status == RESOLVED, dispute=dispute))
    return found


async def _alert(s: Session, alert: str) -> Alert:
    found = await s.load(alert_stream(alert), Alert)
    judge(unknown_alert(found, alert))
    assert found is not None
    judge(already_resolved(not found.open, alert=alert))
    return found


class ComplianceService:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    async def _run(self, ctx: Context, at: datetime, name: str, decide: Decision) -> Accepted:
        return await execute(self.store, ctx, at, name, decide, load_policy)

    async def tick(self, ctx: Context, cmd: Tick) -> Accepted:
        async def decide(s: Session) -> None:
            clock = await s.load(CLOCK_STREAM, Clock)
            if clock is None:
                clock = create(Clock, Clock.Started, CLOCK_STREAM, cmd.at)
            trigger(clock, Clock.Ticked, cmd.at)
            s.save(CLOCK_STREAM, clock)

        return await self._run(ctx, cmd.at, "tick", decide)

    async def open_dispute(self, ctx: Context, cmd: OpenDispute) -> Accepted:
        async def decide(s: Session) -> None:
            agent = await s.load(streams.agent(cmd.agent), Agent)
            kind, ref = parse_subject(cmd.subject)
            sale = await s.load(streams.sale(ref), Sale) if kind == "sale" else None
            existing = await s.load(dispute_stream(cmd.dispute), Dispute)
            judge(
                unknown_agent(agent, cmd.agent),
                unknown_sale(sale, ref) if kind == "sale" else None,
                duplicate_dispute(existing, cmd.dispute),
            )
            dispute = create(
                Dispute,
                Dispute.Opened,
                dispute_stream(cmd.dispute),
                cmd.at,
                dispute=cmd.dispute,
                agent=cmd.agent,
                subject=cmd.subject,
                text=cmd.text,
            )
            s.save(dispute_stream(cmd.dispute), dispute)

        return await self._run(ctx, cmd.at, "open_dispute", decide)

    async def answer_dispute(self, ctx: Context, cmd: AnswerDispute) -> Accepted:
        async def decide(s: Session) -> None:
            dispute = await _dispute(s, cmd.dispute)
            trigger(
                dispute,
                Dispute.Answered,
                cmd.at,
                dispute=cmd.dispute,
                agent=dispute.agent,
                text=cmd.text,
            )
            s.save(dispute_stream(cmd.dispute), dispute)

        return await self._run(ctx, cmd.at, "answer_dispute", decide)

    async def resolve_dispute(self, ctx: Context, cmd: ResolveDispute) -> Accepted:
        async def decide(s: Session) -> None:
            dispute = await _dispute(s, cmd.dispute)
            trigger(
                dispute,
                Dispute.Resolved,
                cmd.at,
                dispute=cmd.dispute,
                agent=dispute.agent,
                outcome=cmd.outcome,
                adjustment_fen=cmd.adjustment_fen,
                text=cmd.text,
            )
            s.save(dispute_stream(cmd.dispute), dispute)

        return await self._run(ctx, cmd.at, "resolve_dispute", decide)

    async def acknowledge_alert(self, ctx: Context, cmd: AcknowledgeAlert) -> Accepted:
        async def decide(s: Session) -> None:
            alert = await _alert(s, cmd.alert)
            trigger(alert, Alert.Acknowledged, cmd.at, by=ctx.actor, note=cmd.note)
            s.save(alert_stream(cmd.alert), alert)

        return await self._run(ctx, cmd.at, "acknowledge_alert", decide)

    async def resolve_alert(self, ctx: Context, cmd: ResolveAlert) -> Accepted:
        async def decide(s: Session) -> None:
            alert = await _alert(s, cmd.alert)
            trigger(alert, Alert.Resolved, cmd.at, by=ctx.actor, reason=cmd.reason)
            s.save(alert_stream(cmd.alert), alert)

        return await self._run(ctx, cmd.at, "resolve_alert", decide)

    # reads

    async def dispute(self, tenant: str, dispute: str) -> Dispute | None:
        return await load(self.store, tenant, dispute_stream(dispute), Dispute)

    async def alert(self, tenant: str, alert: str) -> Alert | None:
        return await load(self.store, tenant, alert_stream(alert), Alert)
