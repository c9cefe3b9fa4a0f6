"""The rules of stock purchases, retail sales, returns and buy-back. Each returns a
Refused or None; the service raises the one that answers first."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal

from domain.agents.model import Agent
from domain.errors import Refused
from domain.money import format_cny, round_fen, share_of
from domain.orders.commands import OrderLine
from domain.orders.products import Product
from domain.orders.sales import Sale
from domain.orders.stock import Batch, Stock
from domain.policy.model import Policy


def unknown_products(
    lines: tuple[OrderLine, ...], products: Mapping[str, Product | None]
) -> list[Refused | None]:
    return [Refused("unknown-product", sku=ln.sku) for ln in lines if products[ln.sku] is None]


def seller_is_sponsor(buyer: Agent, seller: Agent) -> Refused | None:
    # An agent sells stock to its DIRECT downline only: the buyer's own sponsor.
    if buyer.sponsor != seller.agent:
        return Refused(
            "not-your-downline", buyer=buyer.agent, seller=seller.agent, sponsor=buyer.sponsor
        )
    return None


def seller_tier_above(policy: Policy, buyer: Agent, seller: Agent) -> Refused | None:
    known = policy.share(buyer.tier) is not None and policy.share(seller.tier) is not None
    if known and not policy.is_above(seller.tier, buyer.tier):
        return Refused("tier-order", seller_tier=seller.tier, buyer_tier=buyer.tier)
    return None


def tier_price(policy: Policy, tier: str, product: Product) -> int | None:
    share = policy.share(tier)
    return None if share is None else share_of(product.retail_price, share)


def tier_prices(
    policy: Policy, buyer: Agent, lines: tuple[OrderLine, ...], products: Mapping[str, Product]
) -> list[Refused | None]:
    found: list[Refused | None] = []
    for line in lines:
        price = tier_price(policy, buyer.tier, products[line.sku])
        if line.unit_price is not None and price is not None and line.unit_price != price:
            found.append(
                Refused(
                    "tier-price",
                    sku=line.sku,
                    tier=buyer.tier,
                    unit_price=format_cny(line.unit_price),
                    tier_price=format_cny(price),
                )
            )
    return found


def enough_stock(stock: Stock | None, lines: tuple[OrderLine, ...]) -> list[Refused | None]:
    found: list[Refused | None] = []
    for line in lines:
        on_hand = stock.on_hand(line.sku) if stock else 0
        if line.qty > on_hand:
            found.append(Refused("insufficient-stock", sku=line.sku, qty=line.qty, on_hand=on_hand))
    return found


def price_floor(
    policy: Policy, lines: tuple[OrderLine, ...], products: Mapping[str, Product]
) -> list[Refused | None]:
    # 控价: compared exactly (unit >= retail x share), no rounding at the boundary.
    found: list[Refused | None] = []
    for line in lines:
        retail = products[line.sku].retail_price
        assert line.unit_price is not None
        if Decimal(line.unit_price) < Decimal(retail) * policy.price_floor:
            floor = -round_fen(-Decimal(retail) * policy.price_floor)  # rounded up
            found.append(
                Refused(
                    "price-floor",
                    sku=line.sku,
                    unit_price=format_cny(line.unit_price),
                    floor=format_cny(floor),
                    retail_price=format_cny(retail),
                )
            )
    return found


def returnable(sale: Sale, lines: tuple[OrderLine, ...]) -> list[Refused | None]:
    found: list[Refused | None] = []
    for line in lines:
        left = sale.returnable(line.sku)
        if line.qty > left:
            found.append(
                Refused(
                    "return-exceeds-sale",
                    sale=sale.sale,
                    sku=line.sku,
                    qty=line.qty,
                    returnable=left,
                )
            )
    return found


def return_window(
    policy: Policy, sale: Sale, at: datetime, reason: str | None, hq_approved: bool
) -> Refused | None:
    # 七天无理由: within the window anyone may return; later only with HQ's approval
    # and a stated reason (quality, dispute).
    if at - sale.sold_at <= timedelta(days=policy.return_days):
        return None
    if hq_approved and reason and reason.strip():
        return None
    return Refused(
        "return-window",
        sale=sale.sale,
        days=(at - sale.sold_at).days,
        window_days=policy.return_days,
        hq_approved=hq_approved,
    )


def buyback_batches(
    policy: Policy, stock: Stock, line: OrderLine, at: datetime
) -> tuple[list[tuple[Batch, int]], int]:
    """Units of `line` HQ may buy back, oldest eligible batch first; and how many are
    eligible (bought within the window, still on hand)."""
    since = at - timedelta(days=policy.buyback_days)
    eligible = [
        b for b in stock.batches if b.sku == line.sku and b.qty > 0 and b.bought_at >= since
    ]
    taken: list[tuple[Batch, int]] = []
    left = line.qty
    for batch in eligible:
        n = min(left, batch.qty)
        if n:
            taken.append((batch, n))
            left -= n
    return taken, sum(b.qty for b in eligible)


def buyback_price(policy: Policy, line: OrderLine, batch: Batch) -> Refused | None:
    # At least 90% of the price paid (the DSA code's buy-back), compared exactly.
    if line.unit_price is None:
        return None
    if Decimal(line.unit_price) < Decimal(batch.unit_price) * policy.buyback_share:
        return Refused(
            "buyback-price",
            sku=line.sku,
            unit_price=format_cny(line.unit_price),
            price_paid=format_cny(batch.unit_price),
            minimum=format_cny(-round_fen(-Decimal(batch.unit_price) * policy.buyback_share)),
        )
    return None
