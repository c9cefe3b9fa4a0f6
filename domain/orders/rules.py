"""The rules of stock purchases, retail sales, returns and buy-back, each named after
the code it answers with. Each returns a Refused or None (or a list, one per line); the
service raises the one that answers first."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from domain.agents.model import Agent
from domain.errors import Refused, Rule
from domain.money import format_cny, round_fen, share_of
from domain.orders.commands import OrderLine
from domain.orders.products import Product
from domain.orders.sales import Sale
from domain.orders.stock import Batch, Stock
from domain.policy.model import Policy

# unknown references


def unknown_product(
    lines: tuple[OrderLine, ...], products: Mapping[str, Product | None]
) -> list[Refused | None]:
    return [Refused(Rule.UNKNOWN_PRODUCT, sku=ln.sku) for ln in lines if products[ln.sku] is None]


def unknown_sale(sale: Sale | None, name: str) -> Refused | None:
    return Refused(Rule.UNKNOWN_SALE, sale=name) if sale is None else None


# duplicates


def duplicate_sale(existing: Sale | None, name: str) -> Refused | None:
    return Refused(Rule.DUPLICATE_SALE, sale=name) if existing is not None else None


# structure


def not_your_downline(buyer: Agent, seller: str) -> Refused | None:
    # An agent sells stock to its DIRECT downline only: the buyer's own sponsor. Judged
    # on the name alone, before whether that seller exists or its status: a buyer
    # learns nothing about an agent that is not its sponsor.
    if buyer.sponsor != seller:
        return Refused(
            Rule.NOT_YOUR_DOWNLINE, buyer=buyer.agent, seller=seller, sponsor=buyer.sponsor
        )
    return None


# money


def tier_unit_price(policy: Policy, tier: str, product: Product) -> int | None:
    """What a buyer of `tier` pays for one unit (None: the policy has no such tier)."""
    share = policy.share(tier)
    return None if share is None else share_of(product.retail_price, share)


def tier_price(
    policy: Policy, buyer: Agent, lines: tuple[OrderLine, ...], products: Mapping[str, Product]
) -> list[Refused | None]:
    found: list[Refused | None] = []
    for line in lines:
        price = tier_unit_price(policy, buyer.tier, products[line.sku])
        if line.unit_price is not None and price is not None and line.unit_price != price:
            found.append(
                Refused(
                    Rule.TIER_PRICE,
                    sku=line.sku,
                    tier=buyer.tier,
                    unit_price=format_cny(line.unit_price),
                    tier_price=format_cny(price),
                )
            )
    return found


def price_floor(
    policy: Policy, lines: tuple[OrderLine, ...], products: Mapping[str, Product]
) -> list[Refused | None]:
    return [
        Refused(Rule.PRICE_FLOOR, sku=sku, unit_price=format_cny(price),
                floor=format_cny(bound), retail_price=format_cny(retail))
        for sku, price, retail, bound in _priced_beyond(lines, products, policy.price_floor, -1)
    ]


def price_ceiling(
    policy: Policy, lines: tuple[OrderLine, ...], products: Mapping[str, Product]
) -> list[Refused | None]:
    # 控价 means no gouging either, as no dumping.
    return [
        Refused(Rule.PRICE_CEILING, sku=sku, unit_price=format_cny(price),
                ceiling=format_cny(bound), retail_price=format_cny(retail))
        for sku, price, retail, bound in _priced_beyond(lines, products, policy.price_ceiling, 1)
    ]


def _priced_beyond(
    lines: tuple[OrderLine, ...], products: Mapping[str, Product], share: Decimal, side: int
) -> Iterator[tuple[str, int, int, int]]:
    """(sku, unit price, suggested retail, bound) of each line priced below (side -1) or above
    (side 1) `share` of the suggested retail price. Compared exactly, no rounding at
    the boundary; the bound shown is the nearest fen on the allowed side."""
    for line in lines:
        retail = products[line.sku].retail_price
        assert line.unit_price is not None
        limit = Decimal(retail) * share
        if (Decimal(line.unit_price) - limit) * side > 0:
            rounding = ROUND_CEILING if side < 0 else ROUND_FLOOR
            yield line.sku, line.unit_price, retail, int(limit.to_integral_value(rounding=rounding))


# quantities and time


def insufficient_stock(stock: Stock | None, lines: tuple[OrderLine, ...]) -> list[Refused | None]:
    found: list[Refused | None] = []
    for line in lines:
        on_hand = stock.on_hand(line.sku) if stock else 0
        if line.qty > on_hand:
            found.append(
                Refused(Rule.INSUFFICIENT_STOCK, sku=line.sku, qty=line.qty, on_hand=on_hand)
            )
    return found


def return_exceeds_sale(sale: Sale, lines: tuple[OrderLine, ...]) -> list[Refused | None]:
    found: list[Refused | None] = []
    for line in lines:
        left = sale.returnable(line.sku)
        if line.qty > left:
            found.append(
                Refused(
                    Rule.RETURN_EXCEEDS_SALE,
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
        Rule.RETURN_WINDOW,
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
            Rule.BUYBACK_PRICE,
            sku=line.sku,
            unit_price=format_cny(line.unit_price),
            price_paid=format_cny(batch.unit_price),
            minimum=format_cny(-round_fen(-Decimal(batch.unit_price) * policy.buyback_share)),
        )
    return None


def not_resalable(agent: str, resalable: bool) -> Refused | None:
    """HQ buys back only units it can sell again."""
    return None if resalable else Refused(Rule.NOT_RESALABLE, agent=agent)


def buyback_window(policy: Policy, line: OrderLine, eligible: int) -> Refused | None:
    """Only units bought within the window (and still on hand) are bought back."""
    if line.qty > eligible:
        return Refused(
            Rule.BUYBACK_WINDOW,
            sku=line.sku,
            qty=line.qty,
            eligible=eligible,
            days=policy.buyback_days,
        )
    return None
