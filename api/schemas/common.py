"""Shared field types. Money is a decimal string of CNY (never a float); times carry
their UTC offset; identifiers are the brand's own."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Generic, TypeVar

from fastapi import Path
from pydantic import AfterValidator, AwareDatetime, BaseModel, Field

from domain.money import format_cny

T = TypeVar("T")

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"  # the brand's identifiers: agents, sales, …
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=ID_PATTERN,
                          examples=["A1"])]
PathId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
Text = Annotated[str, Field(min_length=1, max_length=500,
                            pattern=r"^[^\x00-\x1f]*\S[^\x00-\x1f]*$")]
OptionalText = Annotated[str, Field(max_length=500, pattern=r"^[^\x00-\x1f]*$")]
Money = Annotated[str, Field(pattern=r"^[0-9]{1,9}(\.[0-9]{1,2})?$", examples=["99.00"],
                             description="CNY as a decimal string")]
SignedMoney = Annotated[str, Field(pattern=r"^-?[0-9]{1,9}(\.[0-9]{1,2})?$", examples=["-12.50"])]
Qty = Annotated[int, Field(ge=1, le=100_000)]
Period = Annotated[str, Field(pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$", examples=["2026-01"])]
Tier = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_-]*$",
                            examples=["partner"])]


def _plausible(at: datetime | None) -> datetime | None:
    if at is not None and not 2000 <= at.year <= 2099:
        raise ValueError("business time must fall in 2000..2099")
    return at


At = Annotated[AwareDatetime | None, AfterValidator(_plausible), Field(
    description="business time, with its offset; default: now", examples=[None])]
AsOf = Annotated[AwareDatetime | None, AfterValidator(_plausible)]
Cny = Annotated[str, Field(description="CNY as a decimal string", examples=["99.00"])]


def cny(fen: int) -> str:
    return format_cny(int(fen))


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null: last")
