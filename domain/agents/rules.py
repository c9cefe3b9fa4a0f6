"""The rules a command about an agent must pass. Each returns a Refused or None; the
service raises the one that answers first (domain.errors precedence)."""

from __future__ import annotations

from domain.agents.commands import Join
from domain.agents.model import Agent
from domain.errors import Refused
from domain.money import format_cny
from domain.policy.model import Policy


def unknown_agent(agent: Agent | None, name: str) -> Refused | None:
    return Refused("unknown-agent", agent=name) if agent is None else None


def unknown_tier(policy: Policy, tier: str) -> Refused | None:
    if policy.share(tier) is None:
        return Refused("unknown-tier", tier=tier, policy_version=policy.version)
    return None


def must_be_active(agent: Agent | None) -> Refused | None:
    if agent is not None and not agent.active:
        return Refused("agent-inactive", agent=agent.agent, status=agent.status)
    return None


def join_sponsor(cmd: Join, sponsor: Agent | None) -> list[Refused | None]:
    if cmd.sponsor is None:
        return []
    if sponsor is None:
        return [Refused("unknown-sponsor", sponsor=cmd.sponsor)]
    if not sponsor.active:
        return [Refused("sponsor-inactive", sponsor=cmd.sponsor, status=sponsor.status)]
    return []


def join_depth(policy: Policy, depth: int) -> Refused | None:
    if depth > policy.max_depth:
        return Refused("depth-limit", depth=depth, limit=policy.max_depth)
    return None


def join_fee(cmd: Join) -> Refused | None:
    # 入门费: no fee and no purchase may buy the right to join (hard, whatever the policy).
    if cmd.fee > 0 or cmd.required_purchase:
        return Refused(
            "join-fee",
            fee=format_cny(cmd.fee),
            limit="0.00",
            required_purchase=cmd.required_purchase,
        )
    return None


def tier_move(policy: Policy, agent: Agent, tier: str, upward: bool) -> Refused | None:
    """A promotion goes to a higher tier, a demotion to a lower one."""
    if policy.share(tier) is None or policy.share(agent.tier) is None:
        return None  # unknown-tier answers
    if upward != policy.is_above(tier, agent.tier):
        return Refused("tier-order", agent=agent.agent, tier=agent.tier, to_tier=tier)
    return None


def promotion_evidence(policy: Policy, tier: str, own: int, downline: int) -> Refused | None:
    """Promotion by net retail sales only (own and direct downline's), never head count."""
    need = policy.promotion.get(tier)
    if need is None:
        return None  # the policy sets no threshold: HQ decides, the evidence is recorded
    if own < need[0] or downline < need[1]:
        return Refused(
            "promotion-evidence",
            tier=tier,
            own_net=format_cny(own),
            own_needed=format_cny(need[0]),
            downline_net=format_cny(downline),
            downline_needed=format_cny(need[1]),
        )
    return None
