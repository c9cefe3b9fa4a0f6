"""/v1/policies: the versioned rule set; a new version is issued by compliance."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictInt

from api.commands import CommandAccepted, run
from api.deps import (
    Compliance,
    Cursor,
    HQReader,
    IdempotencyKey,
    Limit,
    ServicesDep,
    decode_position,
    page_of,
)
from api.errors import ApiError, ApiRule, problems
from api.events import fields_of
from api.routes import resource
from api.schemas.common import At, BusinessTime, CommandBody, Page
from domain.errors import Rule
from domain.events import streams
from domain.policy.model import DEFAULT_POLICY, to_document

router = resource("/v1/policies", "policy")
READ = problems(401, 403, 404, 422)


class PolicyCreate(CommandBody):
    """The journal's `policy` command; its top-level rule fields go in `document`."""

    at: At = None
    version: StrictInt | None = Field(None, ge=2, le=10_000, description="null: the next version")
    effective_from: BusinessTime | None = Field(None, description="null: from `at`")
    document: dict[str, Any] = Field(
        description="rules to change; absent keys keep the version in force",
        examples=[{"max_depth": 3}],
    )


class PolicyPublic(BaseModel):
    version: int
    effective_from: str | None = Field(description="null: the default, from the start")
    document: dict[str, Any]


@router.post("", status_code=201, response_model=CommandAccepted,
             responses=problems(401, 403, 409, 422),
             summary="policy: issue a new policy version (hard limits refused)")
async def issue(body: PolicyCreate, who: Compliance, services: ServicesDep,
                key: IdempotencyKey = None) -> JSONResponse:
    reserved = {"at", "cmd", "version", "effective_from"} & set(body.document)
    if reserved:
        raise ApiError(422, Rule.MALFORMED, f"document may not hold {', '.join(sorted(reserved))}")
    fields = {**body.document, **body.model_dump(mode="json", exclude={"document"})}
    return await run(services, who, "policy", fields, key)


async def _versions(services: ServicesDep) -> list[PolicyPublic]:
    found = [PolicyPublic(version=DEFAULT_POLICY.version, effective_from=None,
                          document=to_document(DEFAULT_POLICY))]
    for event in await services.store.read_stream(services.tenant, streams.POLICY):
        if event.name == "PolicyIssued":
            data = fields_of(event)
            found.append(PolicyPublic(version=data["version"],
                                      effective_from=data["effective_from"],
                                      document=data["document"]))
    return found


@router.get("", response_model=Page[PolicyPublic], responses=READ,
            summary="every policy version, oldest first")
async def versions(who: HQReader, services: ServicesDep, limit: Limit = 50,
                   cursor: Cursor = None) -> Page[PolicyPublic]:
    after = decode_position(cursor)
    found = [p for p in await _versions(services) if p.version > after]
    return page_of(found, limit, lambda item: (item.version,))


@router.get("/{version}", response_model=PolicyPublic, responses=READ,
            summary="one policy version")
async def version(version: Annotated[int, Path(ge=1, le=10_000)], who: HQReader,
                  services: ServicesDep) -> PolicyPublic:
    for found in await _versions(services):
        if found.version == version:
            return found
    raise ApiError(404, ApiRule.UNKNOWN_POLICY, f"no policy version {version}", version=version)
