"""Settlement periods: calendar months in China Standard Time (UTC+8).

Times are stored in UTC; a rule that speaks of days, months or birthdays judges them
on the CST calendar, since that is the calendar the brand and its agents live by.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

CST = timezone(timedelta(hours=8), "CST")


def require_aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("business time must carry its UTC offset")
    return at.astimezone(UTC)


def cst_date(at: datetime) -> date:
    return at.astimezone(CST).date()


def cst_day_end(day: date) -> datetime:
    """The first instant after this CST day, in UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=CST).astimezone(UTC) + timedelta(days=1)


def last_instant_of(day: date) -> datetime:
    """The last instant of this CST day (the store keeps microseconds), in UTC: what "as
    of a date" means, so that everything dated that day counts and nothing after it."""
    return cst_day_end(day) - timedelta(microseconds=1)


def shown(at: datetime) -> str:
    """A moment as people and the API see it: ISO 8601 in China time (+08:00)."""
    return require_aware(at).astimezone(CST).isoformat()


def period_of(at: datetime) -> str:
    """The period (e.g. '2026-01') a moment belongs to, on the CST calendar."""
    local = at.astimezone(CST)
    return f"{local.year:04d}-{local.month:02d}"


def parse_period(text: str) -> tuple[int, int]:
    year, sep, month = text.partition("-")
    if not sep or len(year) != 4 or len(month) != 2 or not (year + month).isdigit():
        raise ValueError(f"period {text!r} is not YYYY-MM")
    if not 1 <= int(month) <= 12:
        raise ValueError(f"period {text!r} has no such month")
    return int(year), int(month)


def period_start(period: str) -> datetime:
    """The first instant of the period, in UTC."""
    year, month = parse_period(period)
    return datetime(year, month, 1, tzinfo=CST).astimezone(UTC)


def next_period(period: str) -> str:
    year, month = parse_period(period)
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


def previous_period(period: str) -> str:
    year, month = parse_period(period)
    return f"{year - 1:04d}-12" if month == 1 else f"{year:04d}-{month - 1:02d}"


def period_end(period: str) -> datetime:
    """The first instant after the period, in UTC (periods are half-open)."""
    return period_start(next_period(period))


def last_periods(at: datetime, count: int) -> list[str]:
    """The `count` whole periods before the one `at` falls in, oldest first."""
    periods: list[str] = []
    current = period_of(at)
    for _ in range(count):
        current = previous_period(current)
        periods.append(current)
    return periods[::-1]


def period_stream(period: str) -> str:
    """The stream a period's settlement facts (PeriodClosed…) are recorded in."""
    parse_period(period)
    return f"period-{period}"
