"""Commands about products, stock and sales. Their shape is checked where they are
parsed (domain.journal); here only what the rules rely on: quantities above zero, no
negative price, lines one per SKU (and priced, for a sale)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.periods import require_aware


@dataclass(frozen=True, slots=True)
class OrderLine:
    sku: str
    qty: int
    unit_price: int | None = None  # fen

    def __post_init__(self) -> None:
        if self.qty <= 0:
            raise ValueError(f"qty of {self.sku} must be a positive integer")
        if self.unit_price is not None and self.unit_price < 0:
            raise ValueError(f"unit_price of {self.sku} must not be negative")


def _lines(lines: tuple[OrderLine, ...], priced: bool) -> None:
    if not lines:
        raise ValueError("lines must not be empty")
    skus = [line.sku for line in lines]
    if len(set(skus)) != len(skus):
        raise ValueError("one line per sku")
    if priced and any(line.unit_price is None for line in lines):
        raise ValueError("every line needs a unit_price")


@dataclass(frozen=True, slots=True)
class ListProduct:
    at: datetime
    sku: str
    name: str
    retail_price: int  # fen

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", require_aware(self.at))
        if self.retail_price <= 0:
            raise ValueError("retail_price must be above zero")


@dataclass(frozen=True, slots=True)
class Purchase:
    at: datetime
    buyer: str
    seller: str | None  # None: HQ
    lines: tuple[OrderLine, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", require_aware(self.at))
        _lines(self.lines, priced=False)


@dataclass(frozen=True, slots=True)
class RecordSale:
    at: datetime
    sale: str
    seller: str
    customer: str | None
    lines: tuple[OrderLine, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", require_aware(self.at))
        _lines(self.lines, priced=True)


@dataclass(frozen=True, slots=True)
class ReturnSale:
    at: datetime
    sale: str
    lines: tuple[OrderLine, ...]
    reason: str | None = None
    hq_approved: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", require_aware(self.at))
        _lines(self.lines, priced=False)


@dataclass(frozen=True, slots=True)
class Buyback:
    at: datetime
    agent: str
    lines: tuple[OrderLine, ...]  # unit_price None: HQ pays the price paid
    resalable: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", require_aware(self.at))
        _lines(self.lines, priced=False)
