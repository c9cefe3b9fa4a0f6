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
from domain.handling import Accepted, AggregateCache, Context
from domain.orders import commands as order_cmds
from domain.orders.service import OrderService
from domain.policy.service import IssuePolicy, PolicyService
from domain.ports import EventStore, KeyVault
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
        self.settlement = SettlementService(store)
        self.policy = PolicyService(store, cache)
        self.compliance = ComplianceService(store)
        a, o, c = self.agents, self.orders, self.compliance
        self._routes: dict[type, Callable[[Context, Any], Awaitable[Accepted]]] = {
            IssuePolicy: self.policy.issue,
            order_cmds.ListProduct: o.list_product,
            agent_cmds.Join: a.join,
            agent_cmds.Promote: a.promote,
            agent_cmds.Demote: a.demote,
            agent_cmds.Warn: a.warn,
            agent_cmds.Suspend: a.suspend,
            agent_cmds.Reinstate: a.reinstate,
            agent_cmds.Terminate: a.terminate,
            agent_cmds.Forget: a.forget,
            order_cmds.Purchase: o.purchase,
            order_cmds.RecordSale: o.record_sale,
            order_cmds.ReturnSale: o.return_sale,
            order_cmds.Buyback: o.buyback,
            ClosePeriod: self.settlement.close_period,
            compliance_cmds.Tick: c.tick,
            compliance_cmds.OpenDispute: c.open_dispute,
            compliance_cmds.AnswerDispute: c.answer_dispute,
            compliance_cmds.ResolveDispute: c.resolve_dispute,
            compliance_cmds.AcknowledgeAlert: c.acknowledge_alert,
            compliance_cmds.ResolveAlert: c.resolve_alert,
        }

    async def handle(self, ctx: Context, command: object) -> Accepted:
        """Judge and record one command; raises Refused (nothing recorded) if it breaks
        a rule."""
        route = self._routes.get(type(command))
        if route is None:
            raise TypeError(f"no service handles {type(command).__name__}")
        return await route(ctx, command)
