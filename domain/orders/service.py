"""Application service for products, stock purchases, retail sales, returns and buy-back.

Every change that touches several streams (buyer's and seller's stock; a sale and its
seller's stock) is one append: all of it is recorded or none.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from domain.agents.model import Agent
from domain.agents.rules import agent_inactive, tier_order, unknown_agent, unknown_tier
from domain.business_time import rules as time_rules
from domain.errors import Refused, judge
from domain.events import create, streams, trigger
from domain.handling import Accepted, AggregateCache, Context, Decision, Session, execute, load
from domain.orders import rules
from domain.orders.commands import Buyback, ListProduct, OrderLine, Purchase, RecordSale, ReturnSale
from domain.orders.products import Product
from domain.orders.sales import Sale
from domain.orders.stock import Line, Stock
from domain.periods import period_of, period_stream
from domain.policy.service import load_policy
from domain.ports import EventStore
from domain.settlement import rules as settlement_rules
from domain.settlement.model import SettlementPeriod


async def period_closed(s: Session) -> Refused | None:
    """period-closed, judged on the period of the command's business time."""
    period = period_of(s.at)
    closed = await s.load(period_stream(period), SettlementPeriod)
    return settlement_rules.period_closed(period, closed is not None)


async def _stock(s: Session, agent: str) -> Stock:
    stock = await s.load(streams.stock(agent), Stock)
    if stock is None:
        stock = create(Stock, Stock.Opened, streams.stock(agent), s.at, agent=agent)
    return stock


async def _products(s: Session, lines: tuple[OrderLine, ...]) -> dict[str, Product | None]:
    return {ln.sku: await s.load(streams.product(ln.sku), Product) for ln in lines}


class OrderService:
    def __init__(self, store: EventStore, cache: AggregateCache | None = None) -> None:
        self.store = store
        self.cache = cache

    async def _run(
        self, ctx: Context, at: datetime, name: str, decide: Decision, reads: Iterable[str] = ()
    ) -> Accepted:
        """`reads`: the streams `decide` will load, read in one round trip up front."""
        prefetch = (streams.POLICY, period_stream(period_of(at)), *reads)
        return await execute(
            self.store, ctx, at, name, decide, load_policy, self.cache, prefetch
        )

    async def list_product(self, ctx: Context, cmd: ListProduct) -> Accepted:
        async def decide(s: Session) -> None:
            stream = streams.product(cmd.sku)
            product = await s.load(stream, Product)
            if product is None:
                product = create(
                    Product,
                    Product.Listed,
                    stream,
                    cmd.at,
                    sku=cmd.sku,
                    name=cmd.name,
                    retail_price=cmd.retail_price,
                )
            elif (product.name, product.retail_price) != (cmd.name, cmd.retail_price):
                trigger(
                    product, Product.Priced, cmd.at, name=cmd.name, retail_price=cmd.retail_price
                )
            s.save(stream, product)

        return await self._run(ctx, cmd.at, "product", decide)

    async def purchase(self, ctx: Context, cmd: Purchase) -> Accepted:
        async def decide(s: Session) -> None:
            assert s.policy is not None
            buyer = await s.load(streams.agent(cmd.buyer), Agent)
            seller = None
            if cmd.seller is not None:
                seller = await s.load(streams.agent(cmd.seller), Agent)
            products = await _products(s, cmd.lines)
            judge(unknown_agent(buyer, cmd.buyer))
            assert buyer is not None
            # Before anything about the seller (does it exist, its status): only the
            # buyer's own sponsor may sell to it, whoever else is named.
            judge(rules.not_your_downline(buyer, cmd.seller) if cmd.seller is not None else None)
            judge(
                unknown_agent(seller, cmd.seller) if cmd.seller is not None else None,
                *rules.unknown_product(cmd.lines, products),
            )
            known = {sku: p for sku, p in products.items() if p is not None}
            seller_stock = await _stock(s, seller.agent) if seller is not None else None
            judge(
                agent_inactive(buyer),
                agent_inactive(seller),
                tier_order(
                    s.policy, seller.tier, buyer.tier, seller_tier=seller.tier,
                    buyer_tier=buyer.tier,
                ) if seller else None,
                *rules.tier_price(s.policy, buyer, cmd.lines, known),
                *(rules.insufficient_stock(seller_stock, cmd.lines) if seller else []),
                *time_rules.before_join(cmd.at, (buyer, seller)),
                *time_rules.before_listing(cmd.at, cmd.lines, known),
                await period_closed(s),
            )
            lines: list[Line] = []
            for ln in cmd.lines:
                price = rules.tier_unit_price(s.policy, buyer.tier, known[ln.sku])
                if price is None:
                    judge(unknown_tier(s.policy, buyer.tier))
                    raise AssertionError("a tier without a share is unknown")
                lines.append({"sku": ln.sku, "qty": ln.qty, "unit_price": price})
            stock = await _stock(s, buyer.agent)
            purchase = f"{buyer.agent}-P{stock.version + 1}"
            trigger(
                stock, Stock.Purchased, cmd.at, purchase=purchase, seller=cmd.seller, lines=lines
            )
            s.save(streams.stock(buyer.agent), stock)
            if seller_stock is not None:
                trigger(
                    seller_stock,
                    Stock.Shipped,
                    cmd.at,
                    purchase=purchase,
                    buyer=buyer.agent,
                    lines=lines,
                )
                s.save(streams.stock(seller_stock.agent), seller_stock)

        agents = (cmd.buyer,) if cmd.seller is None else (cmd.buyer, cmd.seller)
        reads = [*map(streams.agent, agents), *map(streams.stock, agents),
                 *(streams.product(ln.sku) for ln in cmd.lines)]  # fmt: skip
        return await self._run(ctx, cmd.at, "purchase", decide, reads)

    async def record_sale(self, ctx: Context, cmd: RecordSale) -> Accepted:
        async def decide(s: Session) -> None:
            assert s.policy is not None
            seller = await s.load(streams.agent(cmd.seller), Agent)
            products = await _products(s, cmd.lines)
            existing = await s.load(streams.sale(cmd.sale), Sale)
            judge(
                unknown_agent(seller, cmd.seller),
                *rules.unknown_product(cmd.lines, products),
                rules.duplicate_sale(existing, cmd.sale),
            )
            assert seller is not None
            known = {sku: p for sku, p in products.items() if p is not None}
            stock = await _stock(s, seller.agent)
            judge(
                agent_inactive(seller),
                *rules.price_floor(s.policy, cmd.lines, known),
                *rules.price_ceiling(s.policy, cmd.lines, known),
                *rules.insufficient_stock(stock, cmd.lines),
                *time_rules.before_join(cmd.at, (seller,)),
                *time_rules.before_listing(cmd.at, cmd.lines, known),
                await period_closed(s),
            )
            lines: list[Line] = [
                {"sku": ln.sku, "qty": ln.qty, "unit_price": ln.unit_price} for ln in cmd.lines
            ]
            amount = sum(ln["qty"] * ln["unit_price"] for ln in lines)
            sale = create(
                Sale,
                Sale.Recorded,
                streams.sale(cmd.sale),
                cmd.at,
                sale=cmd.sale,
                seller=seller.agent,
                customer=cmd.customer,
                lines=lines,
                amount=amount,
            )
            s.save(streams.sale(cmd.sale), sale)
            trigger(stock, Stock.Sold, cmd.at, sale=cmd.sale, lines=lines)
            s.save(streams.stock(seller.agent), stock)

        reads = [streams.agent(cmd.seller), streams.stock(cmd.seller), streams.sale(cmd.sale),
                 *(streams.product(ln.sku) for ln in cmd.lines)]  # fmt: skip
        return await self._run(ctx, cmd.at, "sale", decide, reads)

    async def return_sale(self, ctx: Context, cmd: ReturnSale) -> Accepted:
        async def decide(s: Session) -> None:
            assert s.policy is not None
            sale = await s.load(streams.sale(cmd.sale), Sale)
            judge(rules.unknown_sale(sale, cmd.sale))
            assert sale is not None
            judge(
                rules.return_window(s.policy, sale, cmd.at, cmd.reason, cmd.hq_approved),
                *rules.return_exceeds_sale(sale, cmd.lines),
                time_rules.before_sale(cmd.at, sale),
                await period_closed(s),
            )
            lines: list[Line] = [
                {"sku": ln.sku, "qty": ln.qty, "unit_price": sale.unit_price(ln.sku)}
                for ln in cmd.lines
            ]
            within = rules.return_window(s.policy, sale, cmd.at, None, False) is None
            trigger(
                sale,
                Sale.Returned,
                cmd.at,
                lines=lines,
                amount=sum(ln["qty"] * ln["unit_price"] for ln in lines),
                reason=cmd.reason,
                hq_approved=cmd.hq_approved,
                within_window=within,
            )
            s.save(streams.sale(cmd.sale), sale)
            stock = await _stock(s, sale.seller)
            trigger(stock, Stock.Returned, cmd.at, sale=cmd.sale, lines=lines)
            s.save(streams.stock(sale.seller), stock)

        return await self._run(ctx, cmd.at, "return", decide, [streams.sale(cmd.sale)])

    async def buyback(self, ctx: Context, cmd: Buyback) -> Accepted:
        async def decide(s: Session) -> None:
            assert s.policy is not None
            agent = await s.load(streams.agent(cmd.agent), Agent)
            products = await _products(s, cmd.lines)
            judge(unknown_agent(agent, cmd.agent), *rules.unknown_product(cmd.lines, products))
            stock = await _stock(s, cmd.agent)
            found: list[Refused | None] = [rules.not_resalable(cmd.agent, cmd.resalable)]
            found += rules.insufficient_stock(stock, cmd.lines)
            lines: list[Line] = []
            for ln in cmd.lines:
                taken, eligible = rules.buyback_batches(s.policy, stock, ln, cmd.at)
                found.append(rules.buyback_window(s.policy, ln, eligible))
                for batch, qty in taken:
                    found.append(rules.buyback_price(s.policy, ln, batch))
                    price = batch.unit_price if ln.unit_price is None else ln.unit_price
                    lines.append(
                        {
                            "sku": ln.sku,
                            "qty": qty,
                            "unit_price": price,
                            "purchase": batch.purchase,
                            "price_paid": batch.unit_price,
                        }
                    )
            found += time_rules.before_join(cmd.at, (agent,))
            found += time_rules.before_listing(cmd.at, cmd.lines, products)
            found.append(await period_closed(s))
            judge(*found)
            buyback = f"{cmd.agent}-B{stock.version + 1}"
            trigger(stock, Stock.BoughtBack, cmd.at, buyback=buyback, lines=lines)
            s.save(streams.stock(cmd.agent), stock)

        reads = [streams.agent(cmd.agent), streams.stock(cmd.agent),
                 *(streams.product(ln.sku) for ln in cmd.lines)]  # fmt: skip
        return await self._run(ctx, cmd.at, "buyback", decide, reads)

    # reads

    async def stock(self, tenant: str, agent: str) -> dict[str, int]:
        """Units on hand per SKU (SKUs once held and now at zero included)."""
        found = await load(self.store, tenant, streams.stock(agent), Stock)
        return found.units() if found else {}

    async def product(self, tenant: str, sku: str) -> Product | None:
        return await load(self.store, tenant, streams.product(sku), Product)

    async def sale(self, tenant: str, sale: str) -> Sale | None:
        return await load(self.store, tenant, streams.sale(sale), Sale)
