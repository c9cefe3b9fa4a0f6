"""/v1/refusals: commands refused under an idempotency key (journal lines, API commands),
remembered so the key answers the same refusal again; read by compliance and HQ."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from api.deps import Cursor, HQReader, Limit, ServicesDep, decode_position, page_of
from api.errors import ApiError, problems
from api.routes import resource
from api.schemas.common import AsOf, Id, Page
from api.schemas.refusals import RefusalPublic
from domain.errors import RULES, Rule
from domain.periods import shown
from domain.ports import RememberedRefusal

router = resource("/v1/refusals", "refusals")
Since = Annotated[AsOf, Query(alias="from", description="refused at or after")]
Until = Annotated[AsOf, Query(alias="to", description="refused before")]
# The codes a refusal may carry, named in the document (any other is refused below).
RuleCode = Annotated[str, Query(json_schema_extra={"enum": [str(rule) for rule in RULES]})]
READ = problems(400, 401, 403, 422)


@router.get("", response_model=Page[RefusalPublic], responses=READ,
            summary="refusals in the order they were made")
async def list_refusals(
    who: HQReader, services: ServicesDep, rule: RuleCode | None = None, agent: Id | None = None,
    since: Since = None, until: Until = None,
    limit: Limit = 50, cursor: Cursor = None,
) -> Page[RefusalPublic]:
    if rule is not None and rule not in RULES:
        raise ApiError(422, Rule.MALFORMED, f"no rule {rule!r}")
    found = await services.store.read_refusals(
        services.tenant, after_id=decode_position(cursor), rule=rule, agent=agent,
        since=since, until=until, limit=limit + 1,
    )
    return page_of([_public(r) for r in found], limit, lambda item: (item.id,))


def _public(r: RememberedRefusal) -> RefusalPublic:
    assert r.recorded_at is not None  # the store's
    return RefusalPublic(
        id=r.id, command=r.command, rule=r.rule, numbers=dict(r.numbers), actor=r.actor,
        agent=r.agent, business_time=shown(r.business_time),
        recorded_at=shown(r.recorded_at), head_position=r.head_position,
    )
