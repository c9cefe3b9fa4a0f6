"""The rules a command about an agent must pass, each named after the code it answers
with. Each returns a Refused or None; the service raises the one that answers first
(domain.errors precedence)."""

from __future__ import annotations

from datetime import datetime

from domain.agents.commands import Join
from domain.agents.identity import ADULT_AGE, age_on, birth_date, mask_id_number
from domain.agents.model import SUSPENDED, TERMINATED, Agent
from domain.errors import Number, Refused, Rule
from domain.money import format_cny
from domain.periods import cst_date
from domain.policy.model import Policy

# unknown references


def unknown_agent(agent: Agent | None, name: str) -> Refused | None:
    return Refused(Rule.UNKNOWN_AGENT, agent=name) if agent is None else None


def unknown_sponsor(cmd: Join, sponsor: Agent | None) -> Refused | None:
    if cmd.sponsor is not None and sponsor is None:
        return Refused(Rule.UNKNOWN_SPONSOR, sponsor=cmd.sponsor)
    return None


def unknown_tier(policy: Policy, tier: str) -> Refused | None:
    if policy.share(tier) is None:
        return Refused(Rule.UNKNOWN_TIER, tier=tier, policy_version=policy.version)
    return None


# duplicates


def already_joined(existing: Agent | None, name: str) -> Refused | None:
    return Refused(Rule.ALREADY_JOINED, agent=name) if existing is not None else None


def duplicate_identity(holder: Agent | None, number: str) -> Refused | None:
    """One person, one agent per brand: `holder` is the agent (any status but
    forgotten) that holds the 身份证 number already, or None. Names only the masked
    number: whose it is, HQ reads from the agents."""
    if holder is None:
        return None
    return Refused(Rule.DUPLICATE_IDENTITY, id_number=mask_id_number(number))


def already_forgotten(agent: Agent) -> Refused | None:
    return Refused(Rule.ALREADY_FORGOTTEN, agent=agent.agent) if agent.forgotten else None


# status


def sponsor_inactive(cmd: Join, sponsor: Agent | None) -> Refused | None:
    if sponsor is not None and not sponsor.active:
        return Refused(Rule.SPONSOR_INACTIVE, sponsor=cmd.sponsor, status=sponsor.status)
    return None


def agent_inactive(agent: Agent | None, *, unless_terminated: bool = False) -> Refused | None:
    """An agent must be active to act or be acted on; a warning, a demotion or a
    termination refuses only a terminated one (a terminated agent stays terminated)."""
    if agent is None:
        return None
    if agent.status == TERMINATED or (not unless_terminated and not agent.active):
        return Refused(Rule.AGENT_INACTIVE, agent=agent.agent, status=agent.status)
    return None


def not_suspended(agent: Agent) -> Refused | None:
    """Only a suspended agent is reinstated."""
    if agent.status != SUSPENDED:
        return Refused(Rule.NOT_SUSPENDED, agent=agent.agent, status=agent.status)
    return None


# identity, judged on the CST calendar day of `at`


def invalid_id_number(number: str, at: datetime) -> Refused | None:
    born = birth_date(number)
    if born is None or born > cst_date(at):
        return Refused(Rule.INVALID_ID_NUMBER, id_number=mask_id_number(number))
    return None


def under_age(number: str, at: datetime) -> Refused | None:
    born = birth_date(number)
    today = cst_date(at)
    if born is None or born > today:
        return None  # invalid-id-number answers
    age = age_on(born, today)
    if age < ADULT_AGE:
        return Refused(Rule.UNDER_AGE, age=age, minimum=ADULT_AGE)
    return None


# structure


def depth_limit(policy: Policy, depth: int) -> Refused | None:
    if depth > policy.max_depth:
        return Refused(Rule.DEPTH_LIMIT, depth=depth, limit=policy.max_depth)
    return None


def tier_order(
    policy: Policy, higher: str, lower: str, *, same: bool = False, **numbers: Number
) -> Refused | None:
    """`higher` must be a tier above `lower`: a promotion's new tier above the one held,
    a stock seller's tier above its buyer's; a demotion's held tier above the new one,
    where the same tier (`same`) passes. Unknown tiers: unknown-tier answers."""
    if policy.share(higher) is None or policy.share(lower) is None:
        return None
    if policy.is_above(higher, lower) or (same and not policy.is_above(lower, higher)):
        return None
    return Refused(Rule.TIER_ORDER, **numbers)


# money


def join_fee(cmd: Join) -> Refused | None:
    # 入门费: no fee and no purchase may buy the right to join (hard, whatever the policy).
    if cmd.fee > 0 or cmd.required_purchase:
        return Refused(
            Rule.JOIN_FEE,
            fee=format_cny(cmd.fee),
            limit="0.00",
            required_purchase=cmd.required_purchase,
        )
    return None


def promotion_evidence(policy: Policy, tier: str, own: int, downline: int) -> Refused | None:
    """Promotion by net retail sales only (own and direct downline's), never head count."""
    need = policy.promotion.get(tier)
    if need is None:
        return None  # the policy sets no threshold: HQ decides, the evidence is recorded
    if own < need[0] or downline < need[1]:
        return Refused(
            Rule.PROMOTION_EVIDENCE,
            tier=tier,
            own_net=format_cny(own),
            own_needed=format_cny(need[0]),
            downline_net=format_cny(downline),
            downline_needed=format_cny(need[1]),
        )
    return None
