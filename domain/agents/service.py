"""Application service for agents: join, promote, demote, warn, suspend, reinstate,
terminate, forget; and the reads the console and the scenario runner need."""

from __future__ import annotations

from dataclasses import dataclass

from domain.agents import rules
from domain.agents.commands import (
    AgentCommand,
    Demote,
    Forget,
    Join,
    Promote,
    Reinstate,
    Suspend,
    Terminate,
    Warn,
)
from domain.agents.identity import IDENTITY_SUBJECT, identity_digest, same_number
from domain.agents.model import Agent
from domain.agents.personal import ERASED_DATA, PersonalData, Unreadable, seal, subject, unseal
from domain.business_time import rules as time_rules
from domain.errors import Refused, judge
from domain.events import create, streams, trigger
from domain.handling import Accepted, AggregateCache, Context, Decision, Session, execute, load
from domain.orders.stock import Stock
from domain.periods import last_periods, period_end, period_start
from domain.policy.service import load_policy
from domain.ports import EventStore, KeyVault


@dataclass(frozen=True, slots=True)
class AgentView:
    agent: str
    sponsor: str | None
    tier: str
    depth: int
    status: str
    forgotten: bool
    downline: tuple[str, ...]


class AgentService:
    def __init__(
        self, store: EventStore, vault: KeyVault, cache: AggregateCache | None = None
    ) -> None:
        self.store = store
        self.vault = vault
        self.cache = cache

    async def _run(self, ctx: Context, cmd: AgentCommand, name: str, decide: Decision) -> Accepted:
        return await execute(self.store, ctx, cmd.at, name, decide, load_policy, self.cache)

    async def join(self, ctx: Context, cmd: Join) -> Accepted:
        digest = identity_digest(await self.vault.key_for(ctx.tenant, IDENTITY_SUBJECT),
                                 cmd.id_number)
        # Judged and recorded under the brand's identity claims, so that of two joins
        # with one number at once the second finds the first's.
        async with self.vault.identities(ctx.tenant) as claims:
            claimed_by = await claims.holder(digest)

            async def decide(s: Session) -> None:
                await self._decide_join(s, ctx, cmd, claimed_by)
                await claims.claim(digest, cmd.agent)  # before the append: see holder()

            return await self._run(ctx, cmd, "join", decide)

    async def _holder(self, s: Session, tenant: str, claimed_by: str | None,
                      number: str) -> Agent | None:
        """The agent that holds `number`, from the claim on its digest: a claim is
        trusted only as far as the claimant's own sealed data bears it out, so one left
        by a join that was not recorded (a crash, a conflict) or by a forgotten agent
        holds nothing."""
        if claimed_by is None:
            return None
        holder = await s.load(streams.agent(claimed_by), Agent)
        if holder is None or holder.forgotten:
            return None
        try:
            data = unseal(await self.vault.get(tenant, subject(claimed_by)), tenant,
                          claimed_by, holder.personal)
        except Unreadable:
            return None
        return holder if same_number(data.id_number, number) else None

    async def _decide_join(self, s: Session, ctx: Context, cmd: Join,
                           claimed_by: str | None) -> None:
        assert s.policy is not None
        sponsor = None
        if cmd.sponsor is not None:
            sponsor = await s.load(streams.agent(cmd.sponsor), Agent)
        existing = await s.load(streams.agent(cmd.agent), Agent)
        holder = await self._holder(s, ctx.tenant, claimed_by, cmd.id_number)
        depth = 1 if sponsor is None else sponsor.depth + 1
        judge(
            rules.unknown_sponsor(cmd, sponsor),
            rules.unknown_tier(s.policy, cmd.tier),
            rules.already_joined(existing, cmd.agent),
            rules.duplicate_identity(holder, cmd.id_number),
            rules.sponsor_inactive(cmd, sponsor),
            rules.invalid_id_number(cmd.id_number, cmd.at),
            rules.under_age(cmd.id_number, cmd.at),
            rules.depth_limit(s.policy, depth),
            rules.join_fee(cmd),
            *time_rules.before_join(cmd.at, (sponsor,)),
        )
        # Judged: only now does the person's key come into being.
        key = await self.vault.key_for(ctx.tenant, subject(cmd.agent))
        sealed = seal(
            key, ctx.tenant, cmd.agent, PersonalData(cmd.name, cmd.id_number, cmd.phone)
        )
        agent = create(
            Agent,
            Agent.Joined,
            streams.agent(cmd.agent),
            cmd.at,
            agent=cmd.agent,
            sponsor=cmd.sponsor,
            tier=cmd.tier,
            depth=depth,
            personal=sealed,
        )
        s.save(streams.agent(cmd.agent), agent)
        if sponsor is not None:
            # On the sponsor's stream too: the expected version makes a concurrent
            # suspension of the sponsor conflict instead of slipping past.
            trigger(sponsor, Agent.DownlineJoined, cmd.at, recruit=cmd.agent, tier=cmd.tier)
            s.save(streams.agent(sponsor.agent), sponsor)

    async def promote(self, ctx: Context, cmd: Promote) -> Accepted:
        async def decide(s: Session) -> None:
            assert s.policy is not None
            agent = await s.load(streams.agent(cmd.agent), Agent)
            judge(rules.unknown_agent(agent, cmd.agent), rules.unknown_tier(s.policy, cmd.tier))
            assert agent is not None
            judge(
                rules.agent_inactive(agent),
                rules.tier_order(
                    s.policy, cmd.tier, agent.tier, agent=agent.agent, tier=agent.tier,
                    to_tier=cmd.tier,
                ),
            )
            periods = last_periods(cmd.at, s.policy.promotion_periods)
            own = await _net_retail(s, agent.agent, periods)
            down = [await _net_retail(s, d, periods) for d in agent.downline]
            downline = sum(sum(d.values()) for d in down)
            judge(rules.promotion_evidence(s.policy, cmd.tier, sum(own.values()), downline))
            evidence = {
                "periods": periods,
                "own_net_fen": own,
                "downline_net_fen": {p: sum(d[p] for d in down) for p in periods},
            }
            trigger(
                agent,
                Agent.Promoted,
                cmd.at,
                from_tier=agent.tier,
                to_tier=cmd.tier,
                evidence=evidence,
            )
            s.save(streams.agent(cmd.agent), agent)

        return await self._run(ctx, cmd, "promote", decide)

    async def demote(self, ctx: Context, cmd: Demote) -> Accepted:
        async def decide(s: Session) -> None:
            assert s.policy is not None
            agent = await s.load(streams.agent(cmd.agent), Agent)
            judge(rules.unknown_agent(agent, cmd.agent), rules.unknown_tier(s.policy, cmd.tier))
            assert agent is not None
            judge(
                rules.agent_inactive(agent, unless_terminated=True),
                rules.tier_order(
                    s.policy, agent.tier, cmd.tier, same=True, agent=agent.agent,
                    tier=agent.tier, to_tier=cmd.tier,
                ),
            )
            trigger(
                agent,
                Agent.Demoted,
                cmd.at,
                from_tier=agent.tier,
                to_tier=cmd.tier,
                reason=cmd.reason,
            )
            s.save(streams.agent(cmd.agent), agent)

        return await self._run(ctx, cmd, "demote", decide)

    async def _status(
        self, ctx: Context, cmd: Warn | Suspend | Reinstate | Terminate, name: str
    ) -> Accepted:
        event, check = {
            "warn": (Agent.Warned, _not_terminated),
            "suspend": (Agent.Suspended, rules.agent_inactive),
            "reinstate": (Agent.Reinstated, rules.not_suspended),
            "terminate": (Agent.Terminated, _not_terminated),
        }[name]

        async def decide(s: Session) -> None:
            agent = await s.load(streams.agent(cmd.agent), Agent)
            judge(rules.unknown_agent(agent, cmd.agent))
            assert agent is not None
            judge(check(agent), *time_rules.before_join(cmd.at, (agent,)))
            trigger(agent, event, cmd.at, reason=cmd.reason)
            s.save(streams.agent(cmd.agent), agent)

        return await self._run(ctx, cmd, name, decide)

    async def warn(self, ctx: Context, cmd: Warn) -> Accepted:
        return await self._status(ctx, cmd, "warn")

    async def suspend(self, ctx: Context, cmd: Suspend) -> Accepted:
        return await self._status(ctx, cmd, "suspend")

    async def reinstate(self, ctx: Context, cmd: Reinstate) -> Accepted:
        return await self._status(ctx, cmd, "reinstate")

    async def terminate(self, ctx: Context, cmd: Terminate) -> Accepted:
        return await self._status(ctx, cmd, "terminate")

    async def forget(self, ctx: Context, cmd: Forget) -> Accepted:
        async def decide(s: Session) -> None:
            agent = await s.load(streams.agent(cmd.agent), Agent)
            judge(rules.unknown_agent(agent, cmd.agent))
            assert agent is not None
            judge(rules.already_forgotten(agent))
            # Key first: should the append fail, the person is erased anyway, and a
            # retried forget records the fact.
            await self.vault.destroy(ctx.tenant, subject(cmd.agent))
            await self.vault.erase_identity(ctx.tenant, cmd.agent)
            trigger(agent, Agent.Forgotten, cmd.at)
            s.save(streams.agent(cmd.agent), agent)

        return await self._run(ctx, cmd, "forget", decide)

    async def judge_own_trading(self, tenant: str, agent: str) -> None:
        """An agent recording its own sale, return or purchase must be active
        (agent-inactive otherwise). A sale and a purchase judge their agents themselves;
        a return does not (HQ records a customer's return whatever the seller's status
        now), so the agent's own return asks here first."""
        found = await _load(self.store, tenant, agent)
        judge(rules.unknown_agent(found, agent), rules.agent_inactive(found))

    # reads

    async def get(self, tenant: str, agent: str) -> AgentView | None:
        found = await _load(self.store, tenant, agent)
        if found is None:
            return None
        return AgentView(
            found.agent,
            found.sponsor,
            found.tier,
            found.depth,
            found.status,
            found.forgotten,
            tuple(found.downline),
        )

    async def personal_data(self, tenant: str, agent: str, *, reveal: bool = False) -> PersonalData:
        """Masked by default; in the clear only when asked (and allowed, by the caller).
        A forgotten agent's data cannot be produced at all: its key is gone."""
        found = await _load(self.store, tenant, agent)
        judge(rules.unknown_agent(found, agent))
        assert found is not None
        if found.forgotten:
            return ERASED_DATA
        key = await self.vault.get(tenant, subject(agent))
        try:
            data = unseal(key, tenant, agent, found.personal)
        except Unreadable:
            return ERASED_DATA
        return data if reveal else data.masked()


async def _load(store: EventStore, tenant: str, agent: str) -> Agent | None:
    return await load(store, tenant, streams.agent(agent), Agent)


def _not_terminated(agent: Agent) -> Refused | None:
    return rules.agent_inactive(agent, unless_terminated=True)


async def _net_retail(s: Session, agent: str, periods: list[str]) -> dict[str, int]:
    stock = await s.load(streams.stock(agent), Stock)
    return {p: stock.net_retail(period_start(p), period_end(p)) if stock else 0 for p in periods}
