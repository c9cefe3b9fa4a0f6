"""The rules a policy version must pass, each named after the code it answers with."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from domain.errors import Refused, Rule
from domain.money import format_cny
from domain.policy.limits import MAX_COMMISSION_SHARE, MAX_DEPTH, MAX_OVERRIDE_LEVELS
from domain.policy.model import Policy


def hard_limit(policy: Policy) -> Refused | None:
    """The first hard limit the policy breaks, as a `hard-limit` refusal."""
    if policy.join_fee_fen != 0:
        return Refused(
            Rule.HARD_LIMIT, limit="join_fee", value=format_cny(policy.join_fee_fen), allowed="0.00"
        )
    if policy.required_purchase:
        return Refused(Rule.HARD_LIMIT, limit="required_purchase", value=True, allowed=False)
    if policy.pay_on_recruits:
        return Refused(Rule.HARD_LIMIT, limit="pay_on_recruits", value=True, allowed=False)
    if policy.commission_on_purchases:
        return Refused(Rule.HARD_LIMIT, limit="commission_on_purchases", value=True, allowed=False)
    if policy.override_levels > MAX_OVERRIDE_LEVELS or policy.override_levels < 0:
        return Refused(
            Rule.HARD_LIMIT,
            limit="override_levels",
            value=policy.override_levels,
            allowed=MAX_OVERRIDE_LEVELS,
        )
    if policy.commission_cap > MAX_COMMISSION_SHARE:
        return Refused(
            Rule.HARD_LIMIT,
            limit="commission_cap",
            value=str(policy.commission_cap),
            allowed=str(MAX_COMMISSION_SHARE),
        )
    top_rate = max(b.rate for b in policy.brackets)
    override = policy.override_rate if policy.override_levels else Decimal(0)
    if top_rate + override > MAX_COMMISSION_SHARE:
        # Rates that could pay more than 30% of a sale would be a cap in name only.
        return Refused(
            Rule.HARD_LIMIT,
            limit="commission_rates",
            value=str(top_rate + override),
            allowed=str(MAX_COMMISSION_SHARE),
        )
    if not 1 <= policy.max_depth <= MAX_DEPTH:
        return Refused(
            Rule.HARD_LIMIT, limit="max_depth", value=policy.max_depth, allowed=MAX_DEPTH
        )
    return None


def policy_version(version: int, effective: datetime, latest: Policy) -> Refused | None:
    """Versions follow one another, each in force no earlier than the one before."""
    if version != latest.version + 1 or (
        latest.effective_from is not None and effective < latest.effective_from
    ):
        return Refused(Rule.POLICY_VERSION, version=version, expected=latest.version + 1)
    return None
