"""Products, stock purchases, retail sales, returns and buy-backs (the journal's fields)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas.common import At, CommandBody, Flag, Id, Money, OptionalText, Qty, Text


class PriceLine(CommandBody):
    sku: Id
    qty: Qty
    unit_price: Money | None = Field(None, description="when given, must be the tier price")


class SaleLine(CommandBody):
    sku: Id
    qty: Qty
    unit_price: Money


class UnitsLine(CommandBody):
    sku: Id
    qty: Qty


class ProductCreate(CommandBody):
    at: At = None
    sku: Id
    name: Text
    retail_price: Money = Field(description="suggested retail price")


class PurchaseCreate(CommandBody):
    at: At = None
    buyer: Id
    seller: Id | None = Field(description="null: HQ; else the buyer's sponsor")
    lines: list[PriceLine] = Field(min_length=1, max_length=50)


class OrderCreate(CommandBody):
    """An agent orders stock for itself: from HQ (seller null) or its upline, now (an
    agent's own commands carry the server's time)."""

    seller: Id | None = Field(None, description="null: HQ; else your sponsor")
    lines: list[PriceLine] = Field(min_length=1, max_length=50)


class SaleCreate(CommandBody):
    at: At = None
    sale: Id
    seller: Id
    customer: Id | None = None
    lines: list[SaleLine] = Field(min_length=1, max_length=50)


class MySaleCreate(CommandBody):
    """An agent's retail sale, recorded now (the server's time). Its id is the server's
    (SaleAccepted.sale), never the client's: an id of the agent's choosing could answer
    duplicate-sale for another agent's sale and so tell that it exists."""

    customer: Id | None = None
    lines: list[SaleLine] = Field(min_length=1, max_length=50)


class ReturnCreate(CommandBody):
    at: At = None
    lines: list[UnitsLine] = Field(min_length=1, max_length=50)
    reason: OptionalText | None = Field(None, description="needed after the 7-day window")
    hq_approved: Flag | None = Field(None, description="HQ approved a late return")


class MyReturnCreate(CommandBody):
    """An agent records its customer's return within the window (no HQ approval), now
    (the server's time)."""

    lines: list[UnitsLine] = Field(min_length=1, max_length=50)
    reason: OptionalText | None = None


class BuybackCreate(CommandBody):
    at: At = None
    agent: Id
    lines: list[PriceLine] = Field(min_length=1, max_length=50)
    resalable: Flag | None = None


class ProductPublic(BaseModel):
    sku: str
    name: str
    retail_price: str = Field(description="CNY")


class SaleLinePublic(BaseModel):
    sku: str
    qty: int
    unit_price: str = Field(description="CNY")
    returned: int


class SalePublic(BaseModel):
    sale: str
    seller: str
    sold_at: str
    amount: str = Field(description="CNY")
    lines: list[SaleLinePublic]


class SaleSummary(BaseModel):
    sale: str
    seller: str
    sold_at: str
    period: str
    units: int
    amount: str
    returned_units: int
    returned_amount: str
