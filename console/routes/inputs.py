"""What a console page takes in its query string: a period, a date, an agent id, a
position. An entry that is not one is dropped (the page shows its default and says so)
rather than refused: a person typed it, and the page they asked for still helps."""

from __future__ import annotations

import re
from datetime import date, datetime

from console.data.moments import as_of
from domain import bounds
from domain.periods import parse_period

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")


def period_or(text: str | None, default: str) -> str:
    try:
        parse_period(text or "")
    except ValueError:
        return default
    return str(text)


def day(text: str | None) -> date | None:
    """A date entered YYYY-MM-DD in the years the ledger keeps (else None)."""
    if not text or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        return None
    try:
        found = date.fromisoformat(text)
    except ValueError:
        return None
    first, last = bounds.YEARS
    return found if first <= found.year <= last else None


def moment(text: str | None) -> datetime | None:
    """An "as of" date: the end of that day, China time (None: now)."""
    return as_of(day(text))


def agent_id(text: str | None) -> str | None:
    text = (text or "").strip()
    return text if text and len(text) <= bounds.MAX_ID and _ID.match(text) else None


def prefix(text: str | None) -> str:
    """An id prefix: the characters an id may hold, at most an id's length."""
    text = (text or "").strip()[: bounds.MAX_ID]
    return text if re.fullmatch(r"[A-Za-z0-9._:-]*", text) else ""


def whole(text: str | None, low: int = 0, high: int = 10**12) -> int | None:
    if not text or not text.isdigit():
        return None
    value = int(text)
    return value if low <= value <= high else None
