"""Replay for disputes: an agent, its stock and its place in the tree as of any business
time, and the timeline of the events of an agent, a sale or a statement."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import BaseModel, Field

from api import statements, views
from api.deps import (
    Cursor,
    HQReader,
    Limit,
    Services,
    ServicesDep,
    decode_position,
    page_of,
)
from api.errors import ApiError, ApiRule, problems
from api.events import EventPublic, public
from api.routes import resource
from api.schemas.agents import StockPublic
from api.schemas.common import AsOf, Page, PathId
from domain.events import streams
from domain.periods import shown
from domain.settlement.model import statement_stream
from eventstore import reads
from projections.tree import queries

router = resource("/v1", "replay")
IdPath = PathId
PeriodPath = Annotated[str, Path(pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$")]
READ = problems(401, 403, 404, 422)


class PlacePublic(BaseModel):
    sponsor: str | None
    depth: int
    tier: str
    status: str
    direct: int = Field(description="direct recruits then")
    total: int = Field(description="whole downline then")


class AgentAsOf(BaseModel):
    agent: str
    as_of: str
    place: PlacePublic | None = Field(description="null: not joined yet")
    stock: StockPublic


async def timeline(services: Services, streams_: list[str], cursor: str | None,
                   limit: int) -> Page[EventPublic]:
    found = await reads.events_of_streams(services.pool, services.tenant, streams_,
                                          after=decode_position(cursor), limit=limit + 1)
    return page_of([public(e) for e in found], limit, lambda item: (item.position,))


@router.get("/agents/{agent}/as-of", response_model=AgentAsOf, responses=READ,
            summary="an agent, its stock and its place in the tree at a business time")
async def agent_as_of(agent: IdPath, as_of: Annotated[AsOf, Query()], who: HQReader,
                      services: ServicesDep) -> AgentAsOf:
    if as_of is None:
        raise ApiError(422, ApiRule.INVALID_REQUEST, "as_of is required")
    node = await queries.agent_as_of(services.pool, services.tenant, agent, at=as_of)
    place = None if node is None else PlacePublic(
        sponsor=node.sponsor, depth=node.depth, tier=node.tier, status=node.status,
        direct=node.direct, total=node.total)
    return AgentAsOf(agent=agent, as_of=shown(as_of), place=place,
                     stock=await views.stock(services, agent, as_of))


@router.get("/agents/{agent}/timeline", response_model=Page[EventPublic], responses=READ,
            summary="every event of an agent and of its stock, in log order")
async def agent_timeline(agent: IdPath, who: HQReader, services: ServicesDep,
                         limit: Limit = 100, cursor: Cursor = None) -> Page[EventPublic]:
    return await timeline(services, [streams.agent(agent), streams.stock(agent)], cursor, limit)


@router.get("/sales/{sale}/timeline", response_model=Page[EventPublic], responses=READ,
            summary="every event of a sale (recorded, returns)")
async def sale_timeline(sale: IdPath, who: HQReader, services: ServicesDep,
                        limit: Limit = 100, cursor: Cursor = None) -> Page[EventPublic]:
    return await timeline(services, [streams.sale(sale)], cursor, limit)


@router.get("/statements/{agent}/{period}/timeline", response_model=Page[EventPublic],
            responses=READ,
            summary="the statement's event and every event of the sales it cites")
async def statement_timeline(agent: IdPath, period: PeriodPath, who: HQReader,
                             services: ServicesDep, limit: Limit = 100,
                             cursor: Cursor = None) -> Page[EventPublic]:
    found = await statements.one(services, agent, period)
    cited = {line.sale_event.rpartition("@")[0] for line in found.items}
    return await timeline(services, [statement_stream(agent, period), *sorted(cited)],
                          cursor, limit)
