"""/v1/periods, /v1/statements, /v1/kpis: monthly settlement and what it issued."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from fastapi.responses import JSONResponse

from api import statements
from api.commands import CommandAccepted, run
from api.deps import (
    Cursor,
    HQReader,
    IdempotencyKey,
    Limit,
    MinPosition,
    Operator,
    ServicesDep,
    decode_cursor,
    fresh,
    page_of,
)
from api.errors import problems
from api.routes import resource
from api.schemas.common import AsOf, Id, Page, PathId, Period, cny
from api.schemas.settlement import (
    CloseCreate,
    KpisPublic,
    StatementExplained,
    StatementPublic,
    StatementSummary,
)
from projections.kpis import kpis_of

router = resource("/v1", "settlement")
PeriodPath = Annotated[str, Path(pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$")]
AgentPath = PathId
READ = problems(401, 403, 404, 422, 503)


@router.post("/periods/{period}/close", status_code=201, response_model=CommandAccepted,
             responses=problems(401, 403, 409, 422),
             summary="close_period: issue every agent's statement for the month")
async def close_period(period: PeriodPath, body: CloseCreate, who: Operator,
                       services: ServicesDep, key: IdempotencyKey = None) -> JSONResponse:
    return await run(services, who, "close_period",
                     {**body.model_dump(mode="json"), "period": period}, key)


@router.get("/statements", response_model=Page[StatementSummary], responses=READ,
            summary="issued statements by period and agent")
async def list_statements(who: HQReader, services: ServicesDep, agent: Id | None = None,
                          period: Period | None = None, limit: Limit = 50,
                          cursor: Cursor = None,
                          min_position: MinPosition = None) -> Page[StatementSummary]:
    await fresh(services, "statements", min_position)
    found = await statements.page(services, agent=agent, period=period,
                                  after=decode_cursor(cursor, 2), limit=limit + 1)
    return page_of(found, limit, lambda item: (item.period, item.agent))


@router.get("/statements/{agent}/{period}", response_model=StatementPublic, responses=READ,
            summary="one statement with every line")
async def get_statement(agent: AgentPath, period: PeriodPath, who: HQReader,
                        services: ServicesDep,
                        min_position: MinPosition = None) -> StatementPublic:
    await fresh(services, "statements", min_position)
    return await statements.one(services, agent, period)


@router.get("/statements/{agent}/{period}/explain", response_model=StatementExplained,
            responses=READ,
            summary="each line: the events it cites, policy version and bracket")
async def explain_statement(agent: AgentPath, period: PeriodPath, who: HQReader,
                            services: ServicesDep) -> StatementExplained:
    return await statements.explain(services, agent, period)


@router.get("/kpis", response_model=KpisPublic, responses=READ,
            summary="the brand's health figures for one period")
async def kpis(period: Annotated[Period, Query()], who: HQReader, services: ServicesDep,
               as_of: Annotated[AsOf, Query()] = None) -> KpisPublic:
    found = await kpis_of(services.pool, services.tenant, period, as_of=as_of)
    return KpisPublic(
        period=found.period, net_retail=cny(found.net_retail_fen), customers=found.customers,
        repurchase_rate_30d=found.repurchase_rate_30d, active_agents=found.active_agents,
        retail_per_active_agent=(None if found.retail_per_active_agent_fen is None
                                 else cny(found.retail_per_active_agent_fen)),
        new_agents=found.new_agents, retention_3m=found.retention_3m,
        payout_share=found.payout_share,
    )
