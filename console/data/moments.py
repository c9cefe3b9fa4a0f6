"""The instant a page is "as of", and the period it falls in."""

from __future__ import annotations

from datetime import UTC, date, datetime

from domain.periods import last_instant_of, period_of


def as_of(day: date | None) -> datetime | None:
    """A date entered on a page: the end of that day, China time (None: now)."""
    return None if day is None else last_instant_of(day)


def period_at(at: datetime | None) -> str:
    return period_of(at or datetime.now(UTC))
