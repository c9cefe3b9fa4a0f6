"""The rules of closing periods, each named after the code it answers with. Each
returns a Refused or None; the service raises the one that answers first."""

from __future__ import annotations

from datetime import datetime

from domain.errors import Number, Refused, Rule
from domain.periods import period_end


def period_closed(period: str, closed: bool, **numbers: Number) -> Refused | None:
    """Once a period is closed, nothing may be recorded with a business time inside it
    (its statements were issued from what it held), and it is not closed again."""
    return Refused(Rule.PERIOD_CLOSED, period=period, **numbers) if closed else None


def period_open(period: str, at: datetime) -> Refused | None:
    """A period closes at the first instant of the next month (CST), not before."""
    ends = period_end(period)
    if at < ends:
        return Refused(Rule.PERIOD_OPEN, period=period, ends_at=ends.isoformat())
    return None
