"""/v1/disputes: open, answer, resolve (with an adjustment), and read."""

from __future__ import annotations

from typing import Literal

from fastapi import Response
from fastapi.responses import JSONResponse

from api import compliance
from api.commands import command_options, etag, run, stream_version
from api.deps import (
    Compliance,
    Cursor,
    HQReader,
    IdempotencyKey,
    IfMatch,
    Limit,
    MinPosition,
    ServicesDep,
    Steward,
    decode_position,
    fresh,
    page_of,
)
from api.errors import problems
from api.routes import resource
from api.schemas.common import Id, Page, PathId
from api.schemas.compliance import (
    AnswerCreate,
    DisputeCreate,
    DisputePublic,
    ResolveDisputeCreate,
)
from domain.compliance.disputes import dispute_stream

router = resource("/v1/disputes", "disputes")
DisputeId = PathId
Status = Literal["opened", "answered", "resolved"]
COMMAND = command_options(401, 403, 409, 412, 422)
READ = problems(401, 403, 404, 422, 503)


@router.post("", summary="open_dispute: on behalf of an agent", **COMMAND)
async def open_dispute(body: DisputeCreate, who: Steward, services: ServicesDep,
                       key: IdempotencyKey = None) -> JSONResponse:
    return await run(services, who, "open_dispute", body.model_dump(mode="json"), key)


@router.post("/{dispute}/answer", summary="answer_dispute: HQ's answer (due in 48 h)",
             **COMMAND)
async def answer(dispute: DisputeId, body: AnswerCreate, who: Compliance,
                 services: ServicesDep, key: IdempotencyKey = None,
                 if_match: IfMatch = None) -> JSONResponse:
    return await run(services, who, "answer_dispute",
                     {**body.model_dump(mode="json"), "dispute": dispute}, key,
                     if_match=(dispute_stream(dispute), if_match))


@router.post("/{dispute}/resolve", summary="resolve_dispute: outcome and adjustment",
             **COMMAND)
async def resolve(dispute: DisputeId, body: ResolveDisputeCreate, who: Compliance,
                  services: ServicesDep, key: IdempotencyKey = None,
                  if_match: IfMatch = None) -> JSONResponse:
    return await run(services, who, "resolve_dispute",
                     {**body.model_dump(mode="json"), "dispute": dispute}, key,
                     if_match=(dispute_stream(dispute), if_match))


@router.get("", response_model=Page[DisputePublic], responses=READ,
            summary="disputes in the order they were opened")
async def list_disputes(who: HQReader, services: ServicesDep, agent: Id | None = None,
                        status: Status | None = None, limit: Limit = 50,
                        cursor: Cursor = None,
                        min_position: MinPosition = None) -> Page[DisputePublic]:
    await fresh(services, "disputes", min_position)
    found = await compliance.disputes(services, agent=agent, status=status,
                                      after=decode_position(cursor), limit=limit + 1)
    return page_of(found, limit, lambda item: (item.position,))


@router.get("/{dispute}", response_model=DisputePublic, responses=READ,
            summary="one dispute; ETag for If-Match")
async def get_dispute(dispute: DisputeId, who: HQReader, services: ServicesDep,
                      response: Response, min_position: MinPosition = None) -> DisputePublic:
    await fresh(services, "disputes", min_position)
    found = await compliance.dispute(services, dispute)
    response.headers["ETag"] = etag(await stream_version(services, dispute_stream(dispute)))
    return found
