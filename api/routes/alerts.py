"""/v1/alerts: what the watchers raised; acknowledge and resolve (compliance)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Response
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
    decode_position,
    fresh,
    page_of,
)
from api.errors import problems
from api.routes import resource
from api.schemas.common import Id, Page
from api.schemas.compliance import AcknowledgeCreate, AlertPublic, ResolveAlertCreate
from domain.compliance.alerts import alert_stream

router = resource("/v1/alerts", "alerts")
AlertId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:-]+$")]
Status = Literal["raised", "acknowledged", "resolved"]
COMMAND = command_options(401, 403, 409, 412, 422)
READ = problems(401, 403, 404, 422, 503)


@router.get("", response_model=Page[AlertPublic], responses=READ,
            summary="alerts in the order they were raised")
async def list_alerts(who: HQReader, services: ServicesDep, agent: Id | None = None,
                      status: Status | None = None, rule: Id | None = None,
                      limit: Limit = 50, cursor: Cursor = None,
                      min_position: MinPosition = None) -> Page[AlertPublic]:
    await fresh(services, "alerts", min_position)
    found = await compliance.alerts(services, agent=agent, status=status, rule=rule,
                                    after=decode_position(cursor), limit=limit + 1)
    return page_of(found, limit, lambda item: (item.position,))


@router.get("/{alert}", response_model=AlertPublic, responses=READ,
            summary="one alert; ETag for If-Match")
async def get_alert(alert: AlertId, who: HQReader, services: ServicesDep,
                    response: Response) -> AlertPublic:
    found = await compliance.alert(services, alert)
    response.headers["ETag"] = etag(await stream_version(services, alert_stream(alert)))
    return found


@router.post("/{alert}/acknowledge", summary="acknowledge_alert: someone is on it", **COMMAND)
async def acknowledge(alert: AlertId, body: AcknowledgeCreate, who: Compliance,
                      services: ServicesDep, key: IdempotencyKey = None,
                      if_match: IfMatch = None) -> JSONResponse:
    return await run(services, who, "acknowledge_alert",
                     {**body.model_dump(mode="json"), "alert": alert}, key,
                     if_match=(alert_stream(alert), if_match))


@router.post("/{alert}/resolve", summary="resolve_alert: closed, with the reason", **COMMAND)
async def resolve(alert: AlertId, body: ResolveAlertCreate, who: Compliance,
                  services: ServicesDep, key: IdempotencyKey = None,
                  if_match: IfMatch = None) -> JSONResponse:
    return await run(services, who, "resolve_alert",
                     {**body.model_dump(mode="json"), "alert": alert}, key,
                     if_match=(alert_stream(alert), if_match))
