"""What every alert rule reads of the policy in force, and the severities."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from domain.errors import Number
from domain.policy.model import Policy

Numbers = dict[str, Number]

WARNING, CRITICAL = "warning", "critical"
SEVERITIES = (WARNING, CRITICAL)  # lowest first


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The numbers of one policy version that the rules read."""

    policy_version: int
    hoarding_share: Decimal  # 0.70
    cover_days: int  # 90
    entry_loading_fen: int  # 2,000.00
    tax_flag_fen: int  # 50,000.00
    overrides_on: bool  # any override level switched on

    @classmethod
    def of(cls, policy: Policy) -> Thresholds:
        return cls(
            policy_version=policy.version,
            hoarding_share=policy.hoarding_share,
            cover_days=policy.cover_days,
            entry_loading_fen=policy.entry_loading_fen,
            tax_flag_fen=policy.tax_flag_fen,
            overrides_on=policy.override_levels > 0,
        )
