"""Refusals: a command that breaks a rule answers with a stable rule code and numbers.

The codes are part of the API (problem+json `rule`, journal summaries), so they never
change meaning. When one command breaks several rules, exactly one answers, chosen by
the precedence DOMAIN.md gives: unknown references, duplicates, status, identity,
structure, money, then quantities and time.
"""

from __future__ import annotations

from collections.abc import Iterable

Number = str | int | bool | None

# Precedence, highest first. Within a group, DOMAIN.md's order.
PRECEDENCE: tuple[tuple[str, ...], ...] = (
    # unknown references
    (
        "unknown-sponsor",
        "unknown-agent",
        "unknown-product",
        "unknown-sale",
        "unknown-tier",
        "unknown-dispute",
        "unknown-alert",
    ),
    # duplicates
    ("already-joined", "duplicate-sale", "already-forgotten", "duplicate-dispute"),
    # status
    ("sponsor-inactive", "agent-inactive", "not-suspended", "already-resolved"),
    # identity
    ("invalid-id-number", "under-age"),
    # structure
    ("depth-limit", "not-your-downline", "tier-order"),
    # money
    ("join-fee", "tier-price", "price-floor", "buyback-price", "hard-limit", "promotion-evidence"),
    # quantities and time
    (
        "insufficient-stock",
        "return-window",
        "return-exceeds-sale",
        "not-resalable",
        "buyback-window",
        "period-closed",
        "period-open",
        "policy-version",
    ),
)
RULES: tuple[str, ...] = tuple(rule for group in PRECEDENCE for rule in group)
_RANK = {rule: i for i, rule in enumerate(RULES)}


class Refused(Exception):
    """A command judged and refused; nothing was recorded.

    `numbers` are what a person needs to see why: the limit and the value that broke it
    (money as decimal CNY strings, never floats).
    """

    def __init__(self, rule: str, **numbers: Number) -> None:
        if rule not in _RANK:
            raise ValueError(f"unknown rule code {rule!r}: add it to domain/errors.py")
        self.rule = rule
        self.numbers: dict[str, Number] = numbers
        detail = ", ".join(f"{k}={v}" for k, v in numbers.items())
        super().__init__(f"{rule}: {detail}" if detail else rule)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Refused) and (self.rule, self.numbers) == (
            other.rule,
            other.numbers,
        )

    def __hash__(self) -> int:
        return hash(self.rule)


def rank(rule: str) -> int:
    return _RANK[rule]


def first(refusals: Iterable[Refused | None]) -> Refused | None:
    """The refusal that answers when several rules break (None: all rules hold)."""
    found = [r for r in refusals if r is not None]
    return min(found, key=lambda r: _RANK[r.rule]) if found else None


def judge(*refusals: Refused | None) -> None:
    """Raise the highest-precedence refusal, if any."""
    answer = first(refusals)
    if answer is not None:
        raise answer
