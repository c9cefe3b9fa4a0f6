"""/v1/agents: join and the status commands (HQ), and HQ's reads of one agent."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response
from fastapi.responses import JSONResponse

from api import views
from api.commands import command_options, etag, run
from api.deps import (
    Compliance,
    Cursor,
    HQReader,
    IdempotencyKey,
    IfMatch,
    Limit,
    MinPosition,
    Operator,
    ServicesDep,
    Steward,
    decode_cursor,
    fresh,
    page_of,
)
from api.errors import problems
from api.routes import resource
from api.schemas.agents import (
    AgentPublic,
    AgentSummary,
    DemoteCreate,
    DownlinePublic,
    ForgetCreate,
    JoinCreate,
    PromoteCreate,
    StatusCreate,
    StockPublic,
)
from api.schemas.common import AsOf, Id, Page, PathId, Period
from domain.events import streams
from projections.tree.queries import current_agents

router = resource("/v1/agents", "agents")
AgentId = PathId
COMMAND = command_options(401, 403, 409, 412, 422)
READ = problems(401, 403, 404, 422, 503)


@router.post("", summary="join: an agent joins under a sponsor (or HQ)", **COMMAND)
async def join(body: JoinCreate, who: Operator, services: ServicesDep,
               key: IdempotencyKey = None) -> JSONResponse:
    return await run(services, who, "join", body.fields(), key)


@router.post("/{agent}/promote", summary="promote to a higher tier", **COMMAND)
async def promote(agent: AgentId, body: PromoteCreate, who: Operator, services: ServicesDep,
                  key: IdempotencyKey = None, if_match: IfMatch = None) -> JSONResponse:
    return await run(services, who, "promote", {**body.model_dump(mode="json"), "agent": agent},
                     key, if_match=(streams.agent(agent), if_match))


@router.post("/{agent}/demote", summary="demote to a lower tier", **COMMAND)
async def demote(agent: AgentId, body: DemoteCreate, who: Operator, services: ServicesDep,
                 key: IdempotencyKey = None, if_match: IfMatch = None) -> JSONResponse:
    return await run(services, who, "demote", {**body.model_dump(mode="json"), "agent": agent},
                     key, if_match=(streams.agent(agent), if_match))


def _status_route(name: str, summary: str) -> None:
    async def command(agent: AgentId, body: StatusCreate, who: Steward, services: ServicesDep,
                      key: IdempotencyKey = None, if_match: IfMatch = None) -> JSONResponse:
        return await run(services, who, name, {**body.model_dump(mode="json"), "agent": agent},
                         key, if_match=(streams.agent(agent), if_match))

    command.__name__ = name
    router.post(f"/{{agent}}/{name}", summary=summary, **COMMAND)(command)


_status_route("warn", "warn an agent")
_status_route("suspend", "suspend an agent (it may not buy or sell)")
_status_route("reinstate", "reinstate a suspended agent")
_status_route("terminate", "terminate an agent")


@router.post("/{agent}/forget", summary="erase an agent's personal data (amounts kept)",
             **COMMAND)
async def forget(agent: AgentId, body: ForgetCreate, who: Compliance, services: ServicesDep,
                 key: IdempotencyKey = None, if_match: IfMatch = None) -> JSONResponse:
    return await run(services, who, "forget", {**body.model_dump(mode="json"), "agent": agent},
                     key, if_match=(streams.agent(agent), if_match))


@router.get("", response_model=Page[AgentSummary], responses=READ,
            summary="every agent as it stands now, by id")
async def list_agents(who: HQReader, services: ServicesDep, limit: Limit = 50,
                      cursor: Cursor = None, sponsor: Id | None = None,
                      min_position: MinPosition = None) -> Page[AgentSummary]:
    await fresh(services, "tree", min_position)
    after = decode_cursor(cursor, 1)
    rows = await current_agents(services.pool, services.tenant, after=after[0] if after else "",
                                sponsor=sponsor, limit=limit + 1)
    return page_of([AgentSummary(**dict(r)) for r in rows], limit, lambda item: (item.agent,))


@router.get("/{agent}", response_model=AgentPublic, responses=READ,
            summary="one agent, personal data masked; ETag for If-Match")
async def get_agent(agent: AgentId, who: HQReader, services: ServicesDep,
                    response: Response) -> AgentPublic:
    found = await views.agent(services, agent)
    response.headers["ETag"] = etag(found.version)
    return found


@router.get("/{agent}/stock", response_model=StockPublic, responses=READ,
            summary="units on hand, now or as of a business time")
async def agent_stock(agent: AgentId, who: HQReader, services: ServicesDep,
                      as_of: Annotated[AsOf, Query()] = None,
                      min_position: MinPosition = None) -> StockPublic:
    await fresh(services, "stock", min_position)
    return await views.stock(services, agent, as_of)


@router.get("/{agent}/downline", response_model=DownlinePublic, responses=READ,
            summary="the agent's downline: counts and net retail")
async def agent_downline(agent: AgentId, who: HQReader, services: ServicesDep,
                         period: Period | None = None,
                         as_of: Annotated[AsOf, Query()] = None,
                         min_position: MinPosition = None) -> DownlinePublic:
    await fresh(services, "tree", min_position)
    return await views.downline(services, agent, period, as_of)
