"""Refusals: a command that breaks a rule answers with a stable rule code and numbers.

The codes are part of the API (problem+json `rule`, journal summaries), so they never
change meaning. When one command breaks several rules, exactly one answers, chosen by
the precedence DOMAIN.md gives: unknown references, duplicates, status, identity,
structure, money, then quantities and time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

Number = str | int | bool | None


class Rule(StrEnum):
    """Every rule code the ledger answers with: DOMAIN.md's and those the rules added.

    A StrEnum compares and serialises as its code, so the API's problem+json, journal
    summaries and stored alerts read the same string they always did.
    """

    # refusals: unknown references
    UNKNOWN_SPONSOR = "unknown-sponsor"
    UNKNOWN_AGENT = "unknown-agent"
    UNKNOWN_PRODUCT = "unknown-product"
    UNKNOWN_SALE = "unknown-sale"
    UNKNOWN_TIER = "unknown-tier"
    UNKNOWN_DISPUTE = "unknown-dispute"
    UNKNOWN_ALERT = "unknown-alert"
    # duplicates
    ALREADY_JOINED = "already-joined"
    DUPLICATE_IDENTITY = "duplicate-identity"
    DUPLICATE_SALE = "duplicate-sale"
    ALREADY_FORGOTTEN = "already-forgotten"
    DUPLICATE_DISPUTE = "duplicate-dispute"
    # status
    SPONSOR_INACTIVE = "sponsor-inactive"
    AGENT_INACTIVE = "agent-inactive"
    NOT_SUSPENDED = "not-suspended"
    ALREADY_RESOLVED = "already-resolved"
    # identity
    INVALID_ID_NUMBER = "invalid-id-number"
    UNDER_AGE = "under-age"
    # structure
    DEPTH_LIMIT = "depth-limit"
    NOT_YOUR_DOWNLINE = "not-your-downline"
    TIER_ORDER = "tier-order"
    # money
    JOIN_FEE = "join-fee"
    TIER_PRICE = "tier-price"
    PRICE_FLOOR = "price-floor"
    PRICE_CEILING = "price-ceiling"
    BUYBACK_PRICE = "buyback-price"
    HARD_LIMIT = "hard-limit"
    PROMOTION_EVIDENCE = "promotion-evidence"
    # quantities and time
    INSUFFICIENT_STOCK = "insufficient-stock"
    RETURN_WINDOW = "return-window"
    RETURN_EXCEEDS_SALE = "return-exceeds-sale"
    NOT_RESALABLE = "not-resalable"
    BUYBACK_WINDOW = "buyback-window"
    FUTURE_TIME = "future-time"
    BEFORE_JOIN = "before-join"
    BEFORE_LISTING = "before-listing"
    BEFORE_SALE = "before-sale"
    PERIOD_CLOSED = "period-closed"
    TOO_LATE = "too-late"
    PERIOD_OPEN = "period-open"
    POLICY_VERSION = "policy-version"
    # alerts (raised by the watchers, never a refusal)
    HOARDING_70 = "hoarding-70"
    DAYS_OF_COVER = "days-of-cover"
    PUSH_DOWN = "push-down"
    ENTRY_LOADING = "entry-loading"
    RECRUITING_WITHOUT_SELLING = "recruiting-without-selling"
    PYRAMID_RISK = "pyramid-risk"
    TAX_FLAG = "tax-flag"
    DISPUTE_OVERDUE = "dispute-overdue"
    # a command of the wrong shape: answered before any rule judged it (no Refused)
    MALFORMED = "malformed"


R = Rule
# Precedence of the refusals, highest first. Within a group, DOMAIN.md's order.
PRECEDENCE: tuple[tuple[Rule, ...], ...] = (
    # unknown references
    (
        R.UNKNOWN_SPONSOR,
        R.UNKNOWN_AGENT,
        R.UNKNOWN_PRODUCT,
        R.UNKNOWN_SALE,
        R.UNKNOWN_TIER,
        R.UNKNOWN_DISPUTE,
        R.UNKNOWN_ALERT,
    ),
    # duplicates
    (
        R.ALREADY_JOINED,
        R.DUPLICATE_IDENTITY,
        R.DUPLICATE_SALE,
        R.ALREADY_FORGOTTEN,
        R.DUPLICATE_DISPUTE,
    ),
    # status
    (R.SPONSOR_INACTIVE, R.AGENT_INACTIVE, R.NOT_SUSPENDED, R.ALREADY_RESOLVED),
    # identity
    (R.INVALID_ID_NUMBER, R.UNDER_AGE),
    # structure
    (R.DEPTH_LIMIT, R.NOT_YOUR_DOWNLINE, R.TIER_ORDER),
    # money
    (
        R.JOIN_FEE,
        R.TIER_PRICE,
        R.PRICE_FLOOR,
        R.PRICE_CEILING,
        R.BUYBACK_PRICE,
        R.HARD_LIMIT,
        R.PROMOTION_EVIDENCE,
    ),
    # quantities and time
    (
        R.INSUFFICIENT_STOCK,
        R.RETURN_WINDOW,
        R.RETURN_EXCEEDS_SALE,
        R.NOT_RESALABLE,
        R.BUYBACK_WINDOW,
        R.FUTURE_TIME,
        R.BEFORE_JOIN,
        R.BEFORE_LISTING,
        R.BEFORE_SALE,
        R.PERIOD_CLOSED,
        R.TOO_LATE,
        R.PERIOD_OPEN,
        R.POLICY_VERSION,
    ),
)
RULES: tuple[Rule, ...] = tuple(rule for group in PRECEDENCE for rule in group)
_RANK: dict[str, int] = {rule: i for i, rule in enumerate(RULES)}


class Refused(Exception):
    """A command judged and refused; nothing was recorded.

    `numbers` are what a person needs to see why: the limit and the value that broke it
    (money as decimal CNY strings, never floats).
    """

    # Set when the answer is a refusal remembered under the command's idempotency key
    # (domain.ledger): a domain.ports.RememberedRefusal.
    remembered: object | None = None

    def __init__(self, rule: Rule, **numbers: Number) -> None:
        if rule not in _RANK:
            raise ValueError(f"unknown rule code {rule!r}: add it to domain/errors.py")
        self.rule = rule
        self.numbers: dict[str, Number] = numbers
        detail = ", ".join(f"{k}={v}" for k, v in numbers.items())
        super().__init__(f"{rule}: {detail}" if detail else rule)

    @classmethod
    def again(cls, rule: str, numbers: Mapping[str, Number], remembered: object) -> Refused:
        """A refusal answered again as it was first made: one remembered under the
        command's idempotency key (domain.ledger). Not a rule's decision: no rules
        function builds it."""
        refusal = cls(Rule(rule), **numbers)
        refusal.remembered = remembered
        return refusal

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
