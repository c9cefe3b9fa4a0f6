"""An agent's stock, in stream "stock-<agent>": batches in, units out, never negative.

Units leave in first-in-first-out order (to the downline, at retail, to HQ's buy-back);
a sale remembers which batches its units came from, so a return puts them back there.
Batches carry the price paid and the purchase time, which buy-back needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate

Line = dict[str, Any]  # {"sku": str, "qty": int, "unit_price": int (fen)}, JSON-ready


@dataclass
class Batch:
    purchase: str
    sku: str
    bought_at: datetime
    unit_price: int
    qty: int  # units of it still on hand


class Stock(Aggregate):
    TOPIC = "Stock"

    class Event(Aggregate.Event):
        pass

    class Opened(Event, Aggregate.Created):
        TOPIC = "StockOpened"
        agent: str

        def apply(self, stock: Stock) -> None:
            stock.agent = self.agent
            stock.batches = []
            stock.allocations = {}
            stock.retail = []

    class Purchased(Event):
        """Units bought at the buyer's tier price from HQ (seller None) or the upline."""

        TOPIC = "StockPurchased"
        purchase: str
        seller: str | None
        lines: list[Line]

        def apply(self, stock: Stock) -> None:
            for line in self.lines:
                stock.batches.append(
                    Batch(
                        self.purchase, line["sku"], self.timestamp, line["unit_price"], line["qty"]
                    )
                )

    class Shipped(Event):
        """Units sold on to a direct downline agent (the other side of its purchase)."""

        TOPIC = "StockShipped"
        purchase: str
        buyer: str
        lines: list[Line]

        def apply(self, stock: Stock) -> None:
            for line in self.lines:
                stock.take(line["sku"], line["qty"])

    class Sold(Event):
        TOPIC = "StockSoldAtRetail"
        sale: str
        lines: list[Line]

        def apply(self, stock: Stock) -> None:
            taken: list[tuple[int, int]] = []
            for line in self.lines:
                taken += stock.take(line["sku"], line["qty"])
            stock.allocations[self.sale] = taken
            amount = sum(line["qty"] * line["unit_price"] for line in self.lines)
            stock.retail.append((self.timestamp, amount))

    class Returned(Event):
        """A customer returned units of a sale: they go back to the batches they left."""

        TOPIC = "StockReturned"
        sale: str
        lines: list[Line]

        def apply(self, stock: Stock) -> None:
            taken = stock.allocations[self.sale]
            for line in self.lines:
                left = line["qty"]
                for i in range(len(taken) - 1, -1, -1):
                    index, qty = taken[i]
                    if left == 0 or stock.batches[index].sku != line["sku"] or qty == 0:
                        continue
                    back = min(qty, left)
                    stock.batches[index].qty += back
                    taken[i] = (index, qty - back)
                    left -= back
            amount = sum(line["qty"] * line["unit_price"] for line in self.lines)
            stock.retail.append((self.timestamp, -amount))

    class BoughtBack(Event):
        """HQ bought back unsold units; lines name the batch each came from."""

        TOPIC = "BuybackCompleted"
        buyback: str
        lines: list[Line]  # + "purchase" (the batch) and "price_paid"

        def apply(self, stock: Stock) -> None:
            for line in self.lines:
                batch = next(
                    b
                    for b in stock.batches
                    if b.purchase == line["purchase"] and b.sku == line["sku"]
                )
                batch.qty -= line["qty"]

    Created = Opened  # the library looks for 'Created'; one class, one topic

    if TYPE_CHECKING:
        agent: str
        batches: list[Batch]
        allocations: dict[str, list[tuple[int, int]]]  # sale -> (batch index, units)
        retail: list[tuple[datetime, int]]  # (when, net retail amount in fen)

    def on_hand(self, sku: str) -> int:
        return sum(b.qty for b in self.batches if b.sku == sku)

    def units(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for b in self.batches:
            found[b.sku] = found.get(b.sku, 0) + b.qty
        return found

    def take(self, sku: str, qty: int) -> list[tuple[int, int]]:
        """Remove units first-in-first-out; the rules made sure there are enough."""
        taken: list[tuple[int, int]] = []
        for index, batch in enumerate(self.batches):
            if qty == 0:
                break
            if batch.sku != sku or batch.qty == 0:
                continue
            n = min(batch.qty, qty)
            batch.qty -= n
            qty -= n
            taken.append((index, n))
        if qty:
            raise ValueError(f"stock of {self.agent} would go negative on {sku}")
        return taken

    def net_retail(self, start: datetime, end: datetime) -> int:
        return sum(amount for at, amount in self.retail if start <= at < end)
