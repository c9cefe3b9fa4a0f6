"""Shared field types. Money is a decimal string of CNY (never a float); times carry
their UTC offset, and are shown in China time (`shown`); identifiers are the brand's own."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Generic, TypeVar

from fastapi import Path
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    WithJsonSchema,
)

from domain import bounds
from domain.money import format_cny
from domain.periods import last_instant_of, shown

T = TypeVar("T")

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"  # the brand's identifiers: agents, sales, …
Id = Annotated[str, Field(min_length=1, max_length=bounds.MAX_ID, pattern=ID_PATTERN,
                          examples=["A1"])]
PathId = Annotated[str, Path(min_length=1, max_length=bounds.MAX_ID, pattern=ID_PATTERN)]
# No control character (C0, DEL, C1), as domain.bounds says and the parser checks again
# for every way in (a lone surrogate too, which no pattern here can name). `\S` alone let
# a NUL through: it is not a space.
_CLEAN = r"[^\x00-\x1f\x7f-\x9f]"
Text = Annotated[str, Field(min_length=1, max_length=bounds.MAX_TEXT,
                            pattern=rf"^{_CLEAN}*[^\s\x00-\x1f\x7f-\x9f]{_CLEAN}*$")]
OptionalText = Annotated[str, Field(max_length=bounds.MAX_TEXT, pattern=rf"^{_CLEAN}*$")]
Money = Annotated[str, Field(pattern=r"^[0-9]{1,9}(\.[0-9]{1,2})?$", examples=["99.00"],
                             description="CNY as a decimal string")]
SignedMoney = Annotated[str, Field(pattern=r"^-?[0-9]{1,9}(\.[0-9]{1,2})?$", examples=["-12.50"])]
Qty = Annotated[StrictInt, Field(ge=1, le=bounds.MAX_QTY)]
Flag = StrictBool
Period = Annotated[str, Field(pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$", examples=["2026-01"])]
Tier = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_-]*$",
                            examples=["partner"])]


def _plausible(at: datetime | None) -> datetime | None:
    first, last = bounds.YEARS
    if at is not None and not first <= at.year <= last:
        raise ValueError(f"business time must fall in {first}..{last}")
    return at


def _time_text(value: object) -> object:
    # pydantic takes a number, or a string of digits, as seconds since 1970.
    if not isinstance(value, str) or not re.match(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ]", value):
        raise ValueError("a time is written as ISO 8601 text, YYYY-MM-DDTHH:MM:SS+08:00")
    return value


def _date_text(value: object) -> object:
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("a date is written YYYY-MM-DD")
    return value


def _years_pattern() -> str:
    """The years of bounds.YEARS as the start of a pattern, so the document says them."""
    first, last = bounds.YEARS
    assert first % 100 == 0 and last == first + 99, "one whole century"
    return f"^{first // 100}[0-9]{{2}}-"


def _in_years(day: date) -> date:
    first, last = bounds.YEARS
    if not first <= day.year <= last:
        raise ValueError(f"a business date must fall in {first}..{last}")
    return day


# A calendar date written YYYY-MM-DD, in the years the ledger keeps: a bare number is no
# date (pydantic took `0` as 1970-01-01), nor is a date whose CST midnight has no UTC.
BusinessDate = Annotated[date, BeforeValidator(_date_text), AfterValidator(_in_years),
                         WithJsonSchema({"type": "string", "format": "date",
                                         "pattern": f"{_years_pattern()}[0-9]{{2}}-[0-9]{{2}}$"})]
# A time with its offset, written as text, in the years the ledger keeps.
BusinessTime = Annotated[AwareDatetime, BeforeValidator(_time_text), AfterValidator(_plausible),
                         WithJsonSchema({"type": "string", "format": "date-time",
                                         "pattern": _years_pattern()})]
At = Annotated[BusinessTime | None, Field(
    description="business time, with its offset; default: now", examples=[None])]
def _day_or_time(value: object) -> object:
    """A date alone is the end of that day, China time; anything else must be a time
    with its offset, written as text (AwareDatetime and _time_text say so)."""
    if isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        return last_instant_of(_in_years(date.fromisoformat(value)))
    return _time_text(value)


AsOf = Annotated[AwareDatetime, BeforeValidator(_day_or_time), AfterValidator(_plausible),
                 WithJsonSchema({"anyOf": [
                     {"type": "string", "format": "date",
                      "pattern": f"{_years_pattern()}[0-9]{{2}}-[0-9]{{2}}$"},
                     {"type": "string", "format": "date-time", "pattern": _years_pattern()}]}),
                 Field(description="a date (the end of that day, China time) or a time with"
                                   " its offset", examples=["2026-03-15"])] | None
Cny = Annotated[str, Field(description="CNY as a decimal string", examples=["99.00"])]


def cny(fen: int) -> str:
    return format_cny(int(fen))


def shown_or_none(moment: datetime | None) -> str | None:
    """A time the API may not have, shown as every time it shows (domain.periods.shown)."""
    return None if moment is None else shown(moment)


class CommandBody(BaseModel):
    """A command's body: no field the command does not take. Its integers and booleans
    are strict (Qty, Flag): an integer is an integer, never `true`, `"1"` or `1.0`; the
    whole model cannot be, since FastAPI hands it the JSON as Python objects and a
    strict datetime would then refuse its ISO string."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null: last")
