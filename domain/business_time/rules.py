"""The rules of business time, each named after the code it answers with."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from domain.agents.model import Agent
from domain.errors import Refused, Rule
from domain.orders.commands import OrderLine
from domain.orders.products import Product
from domain.orders.sales import Sale

# How far ahead of the server's clock an HQ command's own time may be: clocks of two
# machines disagree by seconds, never by minutes.
SKEW = timedelta(minutes=5)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def future_time(at: datetime, now: datetime, skew: timedelta = SKEW) -> Refused | None:
    """An HQ command dated ahead of the server's clock (beyond the skew)."""
    if at > now + skew:
        return Refused(Rule.FUTURE_TIME, at=_iso(at), now=_iso(now),
                       skew_seconds=int(skew.total_seconds()))
    return None


def too_late(at: datetime, clock: datetime | None, allowance_hours: int) -> Refused | None:
    """A command dated earlier than the ledger's clock by more than the late-entry
    allowance: history is judged in order, with that much room for what came in late."""
    if clock is not None and at < clock - timedelta(hours=allowance_hours):
        return Refused(Rule.TOO_LATE, at=_iso(at), clock=_iso(clock),
                       allowance_hours=allowance_hours)
    return None


def before_join(at: datetime, agents: Iterable[Agent | None]) -> list[Refused | None]:
    """A command dated before an agent it speaks of joined."""
    return [
        Refused(Rule.BEFORE_JOIN, agent=a.agent, at=_iso(at), joined_at=_iso(a.joined_at))
        for a in agents
        if a is not None and at < a.joined_at
    ]


def before_listing(
    at: datetime, lines: tuple[OrderLine, ...], products: Mapping[str, Product | None]
) -> list[Refused | None]:
    """A command dated before a product it moves was listed."""
    found: list[Refused | None] = []
    for line in lines:
        product = products.get(line.sku)
        if product is not None and at < product.listed_at:
            found.append(Refused(Rule.BEFORE_LISTING, sku=line.sku, at=_iso(at),
                                 listed_at=_iso(product.listed_at)))
    return found


def before_sale(at: datetime, sale: Sale) -> Refused | None:
    """A return dated before the sale it returns."""
    if at < sale.sold_at:
        return Refused(Rule.BEFORE_SALE, sale=sale.sale, at=_iso(at),
                       sold_at=_iso(sale.sold_at))
    return None
