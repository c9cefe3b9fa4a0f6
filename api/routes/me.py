"""/v1/me: who is asking, and an agent's self-service. Every path here is the caller's
own data: the agent comes from the token, never from the request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api import compliance, statements, views
from api.commands import DisputeAccepted, SaleAccepted, assigned_id, command_options, run
from api.deps import (
    AgentSelf,
    CurrentPrincipal,
    Cursor,
    IdempotencyKey,
    Limit,
    MinPosition,
    ServicesDep,
    decode_cursor,
    decode_position,
    fresh,
    page_of,
)
from api.errors import problems
from api.routes import resource
from api.schemas.agents import AgentPublic, DownlinePublic, StockPublic
from api.schemas.common import Page, PathId, Period
from api.schemas.compliance import AlertPublic, DisputePublic, MyDisputeCreate
from api.schemas.orders import MyReturnCreate, MySaleCreate, OrderCreate, SalePublic, SaleSummary
from api.schemas.settlement import StatementExplained, StatementPublic, StatementSummary
from eventstore.principals import Principal

router = resource("/v1/me", "me (agent self-service)")
IdPath = PathId
PeriodPath = Annotated[str, Path(pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$")]
COMMAND = command_options(401, 403, 404, 409, 422)
READ = problems(401, 403, 404, 422, 503)


class MePublic(BaseModel):
    principal: str
    name: str
    role: str
    agent: str | None


def _me(who: Principal) -> str:
    assert who.agent is not None  # the agent role always names its agent
    return who.agent


@router.get("", response_model=MePublic, responses=problems(401), summary="who am I")
async def whoami(who: CurrentPrincipal) -> MePublic:
    return MePublic(principal=who.principal, name=who.name, role=who.role.value,
                    agent=who.agent)


@router.get("/profile", response_model=AgentPublic, responses=READ,
            summary="my profile (personal data masked)")
async def profile(who: AgentSelf, services: ServicesDep) -> AgentPublic:
    return await views.agent(services, _me(who))


@router.get("/stock", response_model=StockPublic, responses=READ, summary="my stock on hand")
async def stock(who: AgentSelf, services: ServicesDep,
                min_position: MinPosition = None) -> StockPublic:
    await fresh(services, "stock", min_position)
    return await views.stock(services, _me(who), None)


@router.post("/sales", summary="record my retail sale (the answer names its id)",
             **{**COMMAND, "response_model": SaleAccepted})
async def record_sale(body: MySaleCreate, who: AgentSelf, services: ServicesDep,
                      key: IdempotencyKey = None) -> JSONResponse:
    sale = {"sale": assigned_id("S", who, key)}
    return await run(services, who, "sale",
                     {**body.model_dump(mode="json"), **sale, "seller": _me(who)}, key,
                     assigned=sale)


@router.post("/sales/{sale}/returns", summary="record a return of my sale (within 7 days;"
             " refused agent-inactive unless I am active)",
             **COMMAND)
async def record_return(sale: IdPath, body: MyReturnCreate, who: AgentSelf,
                        services: ServicesDep, key: IdempotencyKey = None) -> JSONResponse:
    await views.sale(services, sale, seller=_me(who))  # 404 unless it is mine
    await services.ledger.agents.judge_own_trading(services.tenant, _me(who))
    return await run(services, who, "return", {**body.model_dump(mode="json"), "sale": sale},
                     key)


@router.post("/purchases", summary="order stock from HQ or my sponsor", **COMMAND)
async def order(body: OrderCreate, who: AgentSelf, services: ServicesDep,
                key: IdempotencyKey = None) -> JSONResponse:
    fields = {**body.model_dump(mode="json", exclude_none=True), "buyer": _me(who),
              "seller": body.seller}
    return await run(services, who, "purchase", fields, key)


@router.get("/sales", response_model=Page[SaleSummary], responses=READ, summary="my sales")
async def my_sales(who: AgentSelf, services: ServicesDep, period: Period | None = None,
                   limit: Limit = 50, cursor: Cursor = None,
                   min_position: MinPosition = None) -> Page[SaleSummary]:
    await fresh(services, "sales", min_position)
    after = decode_cursor(cursor, 1)
    found = await views.sales(services, seller=_me(who), period=period,
                              after=str(after[0]) if after else "", limit=limit + 1)
    return page_of(found, limit, lambda item: (item.sale,))


@router.get("/sales/{sale}", response_model=SalePublic, responses=READ, summary="my sale")
async def my_sale(sale: IdPath, who: AgentSelf, services: ServicesDep,
                  min_position: MinPosition = None) -> SalePublic:
    await fresh(services, "sales", min_position)
    return await views.sale(services, sale, seller=_me(who))


@router.get("/statements", response_model=Page[StatementSummary], responses=READ,
            summary="my statements")
async def my_statements(who: AgentSelf, services: ServicesDep, limit: Limit = 50,
                        cursor: Cursor = None) -> Page[StatementSummary]:
    found = await statements.page(services, agent=_me(who), period=None,
                                  after=decode_cursor(cursor, 2), limit=limit + 1)
    return page_of(found, limit, lambda item: (item.period, item.agent))


@router.get("/statements/{period}", response_model=StatementPublic, responses=READ,
            summary="my statement with every line")
async def my_statement(period: PeriodPath, who: AgentSelf,
                       services: ServicesDep) -> StatementPublic:
    return await statements.one(services, _me(who), period)


@router.get("/statements/{period}/explain", response_model=StatementExplained,
            responses=READ, summary="my statement explained line by line")
async def my_statement_explained(period: PeriodPath, who: AgentSelf,
                                 services: ServicesDep) -> StatementExplained:
    return await statements.explain(services, _me(who), period)


@router.get("/alerts", response_model=Page[AlertPublic], responses=READ,
            summary="alerts raised about me")
async def my_alerts(who: AgentSelf, services: ServicesDep, limit: Limit = 50,
                    cursor: Cursor = None) -> Page[AlertPublic]:
    found = await compliance.alerts(services, agent=_me(who), status=None, rule=None,
                                    after=decode_position(cursor), limit=limit + 1)
    return page_of(found, limit, lambda item: (item.position,))


@router.get("/downline", response_model=DownlinePublic, responses=READ,
            summary="my downline: counts and net retail, no personal data")
async def my_downline(who: AgentSelf, services: ServicesDep,
                      period: Period | None = None) -> DownlinePublic:
    return await views.downline(services, _me(who), period, None)


@router.get("/disputes", response_model=Page[DisputePublic], responses=READ,
            summary="my disputes")
async def my_disputes(who: AgentSelf, services: ServicesDep, limit: Limit = 50,
                      cursor: Cursor = None) -> Page[DisputePublic]:
    found = await compliance.disputes(services, agent=_me(who), status=None,
                                      after=decode_position(cursor), limit=limit + 1)
    return page_of(found, limit, lambda item: (item.position,))


@router.post("/disputes", summary="open a dispute about my sale or statement (the answer"
             " names its id)", **{**COMMAND, "response_model": DisputeAccepted})
async def open_my_dispute(body: MyDisputeCreate, who: AgentSelf, services: ServicesDep,
                          key: IdempotencyKey = None) -> JSONResponse:
    kind, _, ref = body.subject.partition(":")
    if kind == "sale":
        await views.sale(services, ref, seller=_me(who))  # 404 unless it is mine
    dispute = {"dispute": assigned_id("D", who, key)}
    return await run(services, who, "open_dispute",
                     {**body.model_dump(mode="json"), **dispute, "agent": _me(who)}, key,
                     assigned=dispute)


@router.get("/disputes/{dispute}", response_model=DisputePublic, responses=READ,
            summary="my dispute")
async def my_dispute(dispute: IdPath, who: AgentSelf, services: ServicesDep,
                     min_position: MinPosition = None) -> DisputePublic:
    await fresh(services, "disputes", min_position)
    return await compliance.dispute(services, dispute, agent=_me(who))
