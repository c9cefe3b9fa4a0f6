"""Hard limits: what no policy version may say, whatever HQ wants.

They are the marks of pyramid selling (禁止传销条例 Art. 7) and the direct-selling
ceilings (直销管理条例 Art. 24: own sales only, at most 30%), plus the depth ceiling.
"""

from __future__ import annotations

from decimal import Decimal

from domain.errors import Refused
from domain.money import format_cny
from domain.policy.model import Policy

MAX_COMMISSION_SHARE = Decimal("0.30")
MAX_OVERRIDE_LEVELS = 1
MAX_DEPTH = 5


def breach(policy: Policy) -> Refused | None:
    """The first hard limit the policy breaks, as a `hard-limit` refusal."""
    if policy.join_fee_fen != 0:
        return Refused(
            "hard-limit", limit="join_fee", value=format_cny(policy.join_fee_fen), allowed="0.00"
        )
    if policy.required_purchase:
        return Refused("hard-limit", limit="required_purchase", value=True, allowed=False)
    if policy.pay_on_recruits:
        return Refused("hard-limit", limit="pay_on_recruits", value=True, allowed=False)
    if policy.commission_on_purchases:
        return Refused("hard-limit", limit="commission_on_purchases", value=True, allowed=False)
    if policy.override_levels > MAX_OVERRIDE_LEVELS or policy.override_levels < 0:
        return Refused(
            "hard-limit",
            limit="override_levels",
            value=policy.override_levels,
            allowed=MAX_OVERRIDE_LEVELS,
        )
    if policy.commission_cap > MAX_COMMISSION_SHARE:
        return Refused(
            "hard-limit",
            limit="commission_cap",
            value=str(policy.commission_cap),
            allowed=str(MAX_COMMISSION_SHARE),
        )
    top_rate = max(b.rate for b in policy.brackets)
    override = policy.override_rate if policy.override_levels else Decimal(0)
    if top_rate + override > MAX_COMMISSION_SHARE:
        # Rates that could pay more than 30% of a sale would be a cap in name only.
        return Refused(
            "hard-limit",
            limit="commission_rates",
            value=str(top_rate + override),
            allowed=str(MAX_COMMISSION_SHARE),
        )
    if not 1 <= policy.max_depth <= MAX_DEPTH:
        return Refused("hard-limit", limit="max_depth", value=policy.max_depth, allowed=MAX_DEPTH)
    return None
