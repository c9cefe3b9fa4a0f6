"""A retail sale to an end customer, in stream "sale-<id>" (sale ids are the brand's)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from eventsourcing.domain import Aggregate

from domain.orders.stock import Line


class Sale(Aggregate):
    TOPIC = "Sale"

    class Event(Aggregate.Event):
        pass

    class Recorded(Event, Aggregate.Created):
        TOPIC = "RetailSaleRecorded"
        sale: str
        seller: str
        customer: str | None
        lines: list[Line]
        amount: int  # fen

        def apply(self, sale: Sale) -> None:
            sale.sale = self.sale
            sale.seller = self.seller
            sale.lines = self.lines
            sale.amount = self.amount
            sale.sold_at = self.timestamp
            sale.returned = {}

    class Returned(Event):
        TOPIC = "SaleReturned"
        lines: list[Line]
        amount: int  # fen refunded, at the sale's own unit prices
        reason: str | None
        hq_approved: bool
        within_window: bool

        def apply(self, sale: Sale) -> None:
            for line in self.lines:
                sale.returned[line["sku"]] = sale.returned.get(line["sku"], 0) + line["qty"]

    Created = Recorded  # the library looks for 'Created'; one class, one topic

    if TYPE_CHECKING:
        sale: str
        seller: str
        lines: list[Line]
        amount: int
        sold_at: datetime
        returned: dict[str, int]

    def returnable(self, sku: str) -> int:
        sold = sum(line["qty"] for line in self.lines if line["sku"] == sku)
        return sold - self.returned.get(sku, 0)

    def unit_price(self, sku: str) -> int:
        return next(line["unit_price"] for line in self.lines if line["sku"] == sku)
