"""Products (SKU) and their suggested retail price, in stream "product-<sku>"."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from eventsourcing.domain import Aggregate


class Product(Aggregate):
    TOPIC = "Product"

    class Event(Aggregate.Event):
        pass

    class Listed(Event, Aggregate.Created):
        TOPIC = "ProductListed"
        sku: str
        name: str
        retail_price: int  # suggested retail price, fen

        def apply(self, product: Product) -> None:
            product.sku = self.sku
            product.name = self.name
            product.retail_price = self.retail_price
            product.listed_at = self.timestamp

    class Priced(Event):
        TOPIC = "ProductPriced"
        name: str
        retail_price: int

        def apply(self, product: Product) -> None:
            product.name = self.name
            product.retail_price = self.retail_price

    Created = Listed  # the library looks for 'Created'; one class, one topic

    if TYPE_CHECKING:
        sku: str
        name: str
        retail_price: int
        listed_at: datetime
