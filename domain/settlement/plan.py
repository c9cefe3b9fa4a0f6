"""The commission plan: the numbers of a policy version that settlement needs.

A plan is cut from a policy (`plan_from_policy`) rather than being the policy itself, so
the maths depends on a dozen numbers and an export verifier can build one from a
PolicyIssued document without the rest of the domain. The hard limits (policy/limits.py)
are checked here again, because a payout that breaks them must be impossible, not merely
refused upstream.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from typing import Protocol

from domain.policy.limits import MAX_COMMISSION_SHARE, MAX_OVERRIDE_LEVELS

D = Decimal


# DOMAIN.md, default policy (version 1): first 5,000.00 at 0%, to 20,000.00 at 3%, above at 5%.
DEFAULT_BRACKETS: tuple[tuple[int, Decimal], ...] = (
    (0, D("0")),
    (500_000, D("0.03")),
    (2_000_000, D("0.05")),
)
NO_OVERRIDE = D("0")


def _rate(name: str, value: object) -> None:
    # A float rate would make the fen depend on binary rounding: refuse it outright.
    if not isinstance(value, Decimal) or not value.is_finite() or not D(0) <= value <= D(1):
        raise ValueError(f"{name} must be a Decimal between 0 and 1, not {value!r}")


@dataclass(frozen=True, slots=True)
class CommissionPlan:
    """Personal retail bonus brackets, freeze, override, cap and tax flag of one version.

    `brackets` are (from_fen, rate), marginal like tax brackets: the rate applies to the
    part of the period's own net retail sales from `from_fen` up to the next bracket.
    """

    version: int = 1
    brackets: tuple[tuple[int, Decimal], ...] = DEFAULT_BRACKETS
    return_days: int = 7
    override_levels: int = 0
    override_rate: Decimal = NO_OVERRIDE
    cap: Decimal = MAX_COMMISSION_SHARE
    tax_flag_fen: int = 5_000_000

    def __post_init__(self) -> None:
        if not self.brackets or self.brackets[0][0] != 0:
            raise ValueError("the first bracket must start at 0")
        starts = [start for start, _ in self.brackets]
        if any(b <= a for a, b in pairwise(starts)):
            raise ValueError(f"bracket starts must rise strictly: {starts}")
        for i, (_, rate) in enumerate(self.brackets):
            _rate(f"bracket {i} rate", rate)
        _rate("override rate", self.override_rate)
        _rate("cap", self.cap)
        if not 0 <= self.override_levels <= MAX_OVERRIDE_LEVELS:
            raise ValueError(
                f"hard-limit: at most {MAX_OVERRIDE_LEVELS} override level, "
                f"not {self.override_levels}"
            )
        if self.cap > MAX_COMMISSION_SHARE:
            raise ValueError(
                f"hard-limit: commissions capped at {MAX_COMMISSION_SHARE} of a sale, "
                f"not {self.cap}"
            )
        if self.return_days < 0 or self.tax_flag_fen < 0:
            raise ValueError("return_days and tax_flag_fen must not be negative")

    @property
    def override_on(self) -> bool:
        return self.override_levels >= 1


DEFAULT_PLAN = CommissionPlan()


class BracketNumbers(Protocol):
    @property
    def from_fen(self) -> int: ...
    @property
    def rate(self) -> Decimal: ...


class PolicyNumbers(Protocol):
    """The part of a policy version settlement reads (domain.policy's Policy fits it)."""

    @property
    def version(self) -> int: ...
    @property
    def brackets(self) -> Sequence[BracketNumbers]: ...
    @property
    def return_days(self) -> int: ...
    @property
    def override_levels(self) -> int: ...
    @property
    def override_rate(self) -> Decimal: ...
    @property
    def commission_cap(self) -> Decimal: ...
    @property
    def tax_flag_fen(self) -> int: ...


def plan_from_policy(policy: PolicyNumbers) -> CommissionPlan:
    return CommissionPlan(
        version=policy.version,
        brackets=tuple((b.from_fen, b.rate) for b in policy.brackets),
        return_days=policy.return_days,
        override_levels=policy.override_levels,
        override_rate=policy.override_rate,
        cap=policy.commission_cap,
        tax_flag_fen=policy.tax_flag_fen,
    )
