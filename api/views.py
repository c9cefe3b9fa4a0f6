"""Reads shared by the HQ routes and the agent's own routes (one code path, so an agent
sees of itself exactly what HQ sees of it, masked)."""

from __future__ import annotations

from datetime import datetime

from api.commands import stream_version
from api.deps import Services
from api.errors import ApiError
from api.schemas.agents import (
    AgentPublic,
    DownlinePublic,
    PersonalPublic,
    RecruitPublic,
    StockPublic,
)
from api.schemas.common import cny, shown_or_none
from api.schemas.orders import SaleLinePublic, SalePublic, SaleSummary
from domain.errors import Rule
from domain.events import Codec, streams
from domain.periods import shown
from projections.sales.queries import sales as sales_of
from projections.stock.queries import stock_of
from projections.tree.queries import downline_summary

_codec = Codec()


async def agent(services: Services, agent: str) -> AgentPublic:
    view = await services.ledger.agents.get(services.tenant, agent)
    if view is None:
        raise ApiError(404, Rule.UNKNOWN_AGENT, f"no agent {agent}", agent=agent)
    personal = await services.ledger.agents.personal_data(services.tenant, agent)
    return AgentPublic(
        agent=view.agent, sponsor=view.sponsor, tier=view.tier, depth=view.depth,
        status=view.status, forgotten=view.forgotten, direct_recruits=len(view.downline),
        personal=PersonalPublic(name=personal.name, id_number=personal.id_number,
                                phone=personal.phone),
        version=await stream_version(services, streams.agent(agent)),
    )


async def stock(services: Services, agent: str, as_of: datetime | None) -> StockPublic:
    if as_of is None:
        units = await stock_of(services.pool, services.tenant, agent)
    else:
        # Replayed from the stock stream up to that business time: exact, and no read
        # model needs to keep every past balance.
        events = await services.store.read_stream(services.tenant, streams.stock(agent))
        before = [e for e in events if e.business_time <= as_of]
        found = _codec.replay(before) if before else None
        units = found.units() if found is not None else {}
    return StockPublic(agent=agent, as_of=shown_or_none(as_of), units=units)


async def downline(
    services: Services, agent: str, period: str | None, as_of: datetime | None
) -> DownlinePublic:
    found = await downline_summary(
        services.pool, services.tenant, agent, period=period, at=as_of
    )
    return DownlinePublic(
        agent=agent, period=period, direct=found.direct, total=found.total,
        active=found.active, by_level={str(k): v for k, v in found.by_level.items()},
        net_retail=cny(found.net_retail_fen),
        recruits=[
            RecruitPublic(agent=r.agent, tier=r.tier, status=r.status, downline=r.downline,
                          net_retail=cny(r.net_retail_fen))
            for r in found.recruits
        ],
    )


async def sales(
    services: Services, *, seller: str | None, period: str | None, after: str, limit: int
) -> list[SaleSummary]:
    rows = await sales_of(services.pool, services.tenant, seller=seller, period=period,
                          after=after, limit=limit)
    return [
        SaleSummary(sale=r["sale"], seller=r["seller"], sold_at=shown(r["sold_at"]),
                    period=r["period"], units=r["units"], amount=cny(r["amount"]),
                    returned_units=r["returned_units"],
                    returned_amount=cny(r["returned_amount"]))
        for r in rows
    ]


async def sale(services: Services, sale_id: str, seller: str | None = None) -> SalePublic:
    """One sale; with `seller`, only if that agent sold it (404 otherwise, not 403, so an
    agent learns nothing of another's sales)."""
    found = await services.ledger.orders.sale(services.tenant, sale_id)
    if found is None or (seller is not None and found.seller != seller):
        raise ApiError(404, Rule.UNKNOWN_SALE, f"no sale {sale_id}", sale=sale_id)
    return SalePublic(
        sale=found.sale, seller=found.seller, sold_at=shown(found.sold_at),
        amount=cny(found.amount),
        lines=[SaleLinePublic(sku=line["sku"], qty=line["qty"],
                              unit_price=cny(line["unit_price"]),
                              returned=found.returned.get(line["sku"], 0))
               for line in found.lines],
    )
