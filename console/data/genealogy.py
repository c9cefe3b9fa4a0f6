"""团队 Genealogy as of any date: a node's direct recruits, a page at a time, loaded when
it is expanded (never the whole tree), with their team size, net retail and pyramid-risk
flags then; a chart of a chosen subtree (at most CHART nodes); the path to jump to an
agent. The tree read model keeps every version of a node with the interval it was
valid, so the tree as it stood on a date is the same index scans as today's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from api.deps import Services
from console.data.moments import period_at
from projections.tree import queries
from projections.tree.queries import Member, Node

PAGE = 50
CHART = 500
# DOMAIN.md's pyramid shape (2013 opinion): 3 levels counting the root, 30 members.
SHAPE_LEVELS, SHAPE_MEMBERS = 3, 30


@dataclass(frozen=True, slots=True)
class Children:
    sponsor: str | None  # None: the agents at the top
    as_of: datetime | None
    period: str
    rows: tuple[Member, ...]
    next_after: str | None


def pyramid_shape(m: Member) -> bool:
    """The subtree has the shape the rule watches (it is a risk only with a factor: the
    open pyramid-risk alert, Member.pyramid_risk, says when it is)."""
    return m.levels >= SHAPE_LEVELS and m.team + 1 >= SHAPE_MEMBERS


async def children(services: Services, sponsor: str | None, *, as_of: datetime | None,
                   after: str = "", limit: int = PAGE) -> Children:
    period = period_at(as_of)
    rows = await queries.children(services.pool, services.tenant, sponsor, period=period,
                                  after=after, limit=limit + 1, at=as_of)
    more = len(rows) > limit
    rows = rows[:limit]
    return Children(sponsor, as_of, period, tuple(rows), rows[-1].agent if more else None)


async def chart(services: Services, agent: str, *, as_of: datetime | None,
                limit: int = CHART) -> list[Node]:
    """`agent`'s subtree as it stood then, the nearest levels first, at most `limit`."""
    return await queries.subtree(services.pool, services.tenant, agent, limit=limit,
                                 at=as_of)


async def jump(services: Services, agent: str, *, as_of: datetime | None) -> list[str] | None:
    """The agents from the top down to `agent` (the nodes to expand); None: not there then."""
    node = await queries.agent_as_of(services.pool, services.tenant, agent, at=as_of)
    return None if node is None else queries.path_up(node.path)
