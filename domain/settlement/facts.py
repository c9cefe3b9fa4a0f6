"""What settlement reads and what it writes, as plain frozen values.

Inputs are facts, not events: the projection builds them from RetailSaleRecorded and
SaleReturned, and an offline verifier builds the same facts from an export, so both run
one piece of maths. Outputs are statements made of lines, each line citing the fact it
came from. Money is integer fen; rates are Decimal; never a float.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

from domain.periods import period_of, require_aware


def _count(name: str, value: int, *, positive: bool) -> None:
    # bool is an int subclass; True units is a bug upstream, not one unit.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, not {type(value).__name__}")
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{name} must be {'above' if positive else 'at least'} zero: {value}")


@dataclass(frozen=True, slots=True)
class SaleFact:
    """A retail sale (零售), the only base for commissions.

    `amount_fen` is what the customer paid for all `units`. `sponsor` is the seller's
    direct sponsor when the sale happened (None: HQ); only an override reads it.
    `source` cites the event the fact came from (its position or id).
    """

    sale_id: str
    seller: str
    business_time: datetime
    units: int
    amount_fen: int
    source: str
    sponsor: str | None = None
    # The period the sale belongs to, for good: a rolled-over line keeps it. Derived once
    # here, since a close asks for it of every sale, twice.
    period: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Normalised to UTC so that facts from different offsets compare and hash alike.
        object.__setattr__(self, "business_time", require_aware(self.business_time))
        # Interned: a carried settlement ledger holds a fact per sale of the history.
        object.__setattr__(self, "period", sys.intern(period_of(self.business_time)))
        _count("sale units", self.units, positive=True)
        _count("sale amount_fen", self.amount_fen, positive=False)


@dataclass(frozen=True, slots=True)
class ReturnFact:
    """A customer's return (退货) of `units` of a sale, refunding `amount_fen`.

    Whether it was within the 7 days or approved late by HQ is the orders rules' business;
    settlement only asks whether the sale was already paid when the return happened:
    before payment it shrinks the sale, after payment it is clawed back.
    """

    sale_id: str
    business_time: datetime
    units: int
    amount_fen: int
    source: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "business_time", require_aware(self.business_time))
        _count("returned units", self.units, positive=True)
        _count("return amount_fen", self.amount_fen, positive=False)


@dataclass(frozen=True, slots=True)
class AdjustmentFact:
    """What a resolved dispute (申诉) found owed to the agent (+) or by it (-).

    It is not a commission and no cap applies; it goes on the agent's next statement
    as an "adjustment" line citing the resolution.
    """

    agent: str
    business_time: datetime
    amount_fen: int
    dispute_id: str
    source: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "business_time", require_aware(self.business_time))
        if not isinstance(self.amount_fen, int) or isinstance(self.amount_fen, bool):
            raise ValueError("adjustment amount_fen must be an integer")
        if self.amount_fen == 0:
            raise ValueError("an adjustment of 0 fen is no adjustment")


LineKind = Literal["bracket", "override", "clawback", "adjustment"]


@dataclass(frozen=True, slots=True)
class Line:
    """One payout line: `rate` of `base_fen`, rounded to the fen half up, is `amount_fen`.

    `period` is the line's own period (the sale's), which may be earlier than the
    statement's when the sale rolled over. A clawback line is negative, keeps the rate,
    bracket, period and policy version of the line it reverses, and cites the return.
    `capped_fen` is what the 30% cap took off this line (0 almost always). An
    adjustment line cites its dispute in `sale_id` and the resolution in `sale_source`,
    at rate 1 of its amount.
    """

    kind: LineKind
    agent: str
    sale_id: str
    sale_source: str
    period: str
    base_fen: int
    rate: Decimal
    amount_fen: int
    policy_version: int
    bracket: int | None = None  # index into the plan's brackets (0: the first, 0% one)
    return_source: str | None = None
    capped_fen: int = 0


@dataclass(frozen=True, slots=True)
class Statement:
    """One agent's payout for one period (结算单), line by line."""

    agent: str
    period: str
    lines: tuple[Line, ...]
    tax_flag: bool  # total above the plan's threshold: to be declared
    policy_version: int  # the plan in force at the close, which set the tax threshold

    @property
    def total_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)
