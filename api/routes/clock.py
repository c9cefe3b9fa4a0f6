"""/v1/clock: business time passes (the journal's `tick`), so deadlines are judged."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from api.commands import CommandAccepted, run
from api.deps import IdempotencyKey, ServicesDep, Steward
from api.errors import problems
from api.routes import resource
from api.schemas.common import At, CommandBody

router = resource("/v1/clock", "clock")


class TickCreate(CommandBody):
    at: At = None


@router.post("/tick", status_code=201, response_model=CommandAccepted,
             responses=problems(401, 403, 409, 422), summary="tick: time passes to `at`")
async def tick(body: TickCreate, who: Steward, services: ServicesDep,
               key: IdempotencyKey = None) -> JSONResponse:
    return await run(services, who, "tick", body.model_dump(mode="json"), key)
