"""/v1/tree: the agent tree now, as of a business time, or as of a log position."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import BaseModel

from api.deps import (
    Cursor,
    HQReader,
    Limit,
    MinPosition,
    ServicesDep,
    decode_cursor,
    encode_cursor,
    fresh,
)
from api.errors import ApiError, ApiRule, problems
from api.routes import resource
from api.schemas.common import AsOf, Id, Page
from projections.tree import queries

router = resource("/v1/tree", "tree")


class NodePublic(BaseModel):
    agent: str
    sponsor: str | None
    depth: int
    tier: str
    status: str
    direct: int
    total: int


@router.get("", response_model=Page[NodePublic], responses=problems(401, 403, 422, 503),
            summary="the tree in path order (an agent's subtree with `agent`)")
async def tree(who: HQReader, services: ServicesDep,
               as_of: Annotated[AsOf, Query(description="business time")] = None,
               position: Annotated[int | None, Query(ge=0, le=2**62)] = None,
               agent: Id | None = None, limit: Limit = 100, cursor: Cursor = None,
               min_position: MinPosition = None) -> Page[NodePublic]:
    if as_of is not None and position is not None:
        raise ApiError(422, ApiRule.AS_OF_BOTH, "ask as of a business time or a position, not both")
    await fresh(services, "tree", min_position)
    nodes = await queries.tree_as_of(services.pool, services.tenant, position=position,
                                     at=as_of, agent=agent)
    after = decode_cursor(cursor, 1)
    if after is not None:
        nodes = [n for n in nodes if n.path > str(after[0])]
    page = nodes[:limit]
    return Page(
        items=[NodePublic(agent=n.agent, sponsor=n.sponsor, depth=n.depth, tier=n.tier,
                          status=n.status, direct=n.direct, total=n.total) for n in page],
        next_cursor=encode_cursor(page[-1].path) if len(nodes) > limit else None,
    )
