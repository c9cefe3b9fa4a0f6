"""Products, stock purchases, retail sales, returns and buy-backs (the journal's fields)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas.common import At, Id, Money, OptionalText, Qty, Text


class PriceLine(BaseModel):
    sku: Id
    qty: Qty
    unit_price: Money | None = Field(None, description="when given, must be the tier price")


class SaleLine(BaseModel):
    sku: Id
    qty: Qty
    unit_price: Money


class UnitsLine(BaseModel):
    sku: Id
    qty: Qty


class ProductCreate(BaseModel):
    at: At = None
    sku: Id
    name: Text
    retail_price: Money = Field(description="suggested retail price")


class PurchaseCreate(BaseModel):
    at: At = None
    buyer: Id
    seller: Id | None = Field(description="null: HQ; else the buyer's sponsor")
    lines: list[PriceLine] = Field(min_length=1, max_length=50)


class OrderCreate(BaseModel):
    """An agent orders stock for itself: from HQ (seller null) or its upline."""

    at: At = None
    seller: Id | None = Field(None, description="null: HQ; else your sponsor")
    lines: list[PriceLine] = Field(min_length=1, max_length=50)


class SaleCreate(BaseModel):
    at: At = None
    sale: Id
    seller: Id
    customer: Id | None = None
    lines: list[SaleLine] = Field(min_length=1, max_length=50)


class MySaleCreate(BaseModel):
    """An agent's retail sale. Its id is the server's (SaleAccepted.sale), never the
    client's: an id of the agent's choosing could answer duplicate-sale for another
    agent's sale and so tell that it exists."""

    at: At = None
    customer: Id | None = None
    lines: list[SaleLine] = Field(min_length=1, max_length=50)


class ReturnCreate(BaseModel):
    at: At = None
    lines: list[UnitsLine] = Field(min_length=1, max_length=50)
    reason: OptionalText | None = Field(None, description="needed after the 7-day window")
    hq_approved: bool | None = Field(None, description="HQ approved a late return")


class MyReturnCreate(BaseModel):
    """An agent records its customer's return within the window (no HQ approval)."""

    at: At = None
    lines: list[UnitsLine] = Field(min_length=1, max_length=50)
    reason: OptionalText | None = None


class BuybackCreate(BaseModel):
    at: At = None
    agent: Id
    lines: list[PriceLine] = Field(min_length=1, max_length=50)
    resalable: bool | None = None


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
