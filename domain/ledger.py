"""The ledger's command entry point: one object holding the services, one dispatch.

The API, the CLI and the journal importer all hand commands to Ledger.handle, so a
command means the same whichever door it came in by.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from domain.agents import commands as agent_cmds
from domain.agents.service import AgentService
from domain.compliance import commands as compliance_cmds
from domain.compliance.service import ComplianceService
from domain.errors import Refused
from domain.handling import Accepted, AggregateCache, Context
from domain.orders import commands as order_cmds
from domain.orders.service import OrderService
from domain.policy.service import IssuePolicy, PolicyService
from domain.ports import EventStore, KeyVault, RememberedRefusal
from domain.settlement.service import ClosePeriod, SettlementService


class Ledger:
    def __init__(
        self, store: EventStore, vault: KeyVault, cache: AggregateCache | None = None
    ) -> None:
        """`cache`: an AggregateCache for one sequential caller (the journal runner), a
        SharedAggregateCache for concurrent ones (the API's requests)."""
        self.store = store
        self.vault = vault
        self.agents = AgentService(store, vault, cache)
        self.orders = OrderService(store, cache)
        self.settlement = SettlementService(store, cache)
        self.policy = PolicyService(store, cache)
        self.compliance = ComplianceService(store)
        a, o, c = self.agents, self.orders, self.compliance
        # Each command type: its journal name (what a remembered refusal says it was) and
        # the service that judges it.
        self._routes: dict[type, tuple[str, Callable[[Context, Any], Awaitable[Accepted]]]] = {
            IssuePolicy: ("policy", self.policy.issue),
            order_cmds.ListProduct: ("product", o.list_product),
            agent_cmds.Join: ("join", a.join),
            agent_cmds.Promote: ("promote", a.promote),
            agent_cmds.Demote: ("demote", a.demote),
            agent_cmds.Warn: ("warn", a.warn),
            agent_cmds.Suspend: ("suspend", a.suspend),
            agent_cmds.Reinstate: ("reinstate", a.reinstate),
            agent_cmds.Terminate: ("terminate", a.terminate),
            agent_cmds.Forget: ("forget", a.forget),
            order_cmds.Purchase: ("purchase", o.purchase),
            order_cmds.RecordSale: ("sale", o.record_sale),
            order_cmds.ReturnSale: ("return", o.return_sale),
            order_cmds.Buyback: ("buyback", o.buyback),
            ClosePeriod: ("close_period", self.settlement.close_period),
            compliance_cmds.Tick: ("tick", c.tick),
            compliance_cmds.OpenDispute: ("open_dispute", c.open_dispute),
            compliance_cmds.AnswerDispute: ("answer_dispute", c.answer_dispute),
            compliance_cmds.ResolveDispute: ("resolve_dispute", c.resolve_dispute),
            compliance_cmds.AcknowledgeAlert: ("acknowledge_alert", c.acknowledge_alert),
            compliance_cmds.ResolveAlert: ("resolve_alert", c.resolve_alert),
        }

    async def handle(self, ctx: Context, command: object) -> Accepted:
        """Judge and record one command; raises Refused (nothing recorded) if it breaks
        a rule.

        Under an idempotency key the answer is kept either way: an acceptance by the
        store's key, a refusal in its table of refusals, so the same key answers the same
        refusal later, however the ledger has moved on since (a journal imported again, a
        client retrying), and compliance can list who was refused what."""
        found = self._routes.get(type(command))
        if found is None:
            raise TypeError(f"no service handles {type(command).__name__}")
        name, route = found
        key = ctx.idempotency_key
        if key is not None:
            kept = await self.store.refusal(ctx.tenant, key)
            if kept is not None:
                raise remembered(kept)
        try:
            return await route(ctx, command)
        except Refused as refusal:
            if key is None:
                raise
            kept = await self.store.remember_refusal(ctx.tenant, RememberedRefusal(
                key, name, refusal.rule, refusal.numbers, ctx.actor, _agent_of(command),
                command.at, ctx.request_id,  # type: ignore[attr-defined]
            ))
            if kept.id == 0:  # the key recorded events meanwhile: that answers
                first = await self.store.recorded(ctx.tenant, key)
                if first is not None:
                    return Accepted(first.first_position, first.last_position, replayed=True)
            raise remembered(kept) from None


def remembered(kept: RememberedRefusal) -> Refused:
    return Refused.again(kept.rule, kept.numbers, kept)


def _agent_of(command: object) -> str | None:
    """The agent a command is about, for listing refusals by agent: the one it names
    (agent, seller, buyer), none for a return (it names only the sale)."""
    for field in ("agent", "seller", "buyer"):
        value = getattr(command, field, None)
        if isinstance(value, str):
            return value
    return None
