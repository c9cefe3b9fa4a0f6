"""代理 Agents: find by id prefix, filter by tier, status, depth and "in the downline
of", a page at a time by id (keyset: the next page starts after the last id shown), as
they stand now or as they stood at the end of a past day (the tree's versions then, the
alerts open then, net retail of that day's period up to it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from api.deps import Services
from console.data.moments import period_at
from projections.tree.queries import AgentFilter, Member, find_agents

PAGE = 50


@dataclass(frozen=True, slots=True)
class AgentsPage:
    as_of: datetime | None  # None: now
    period: str  # of the net retail shown
    rows: tuple[Member, ...]
    next_after: str | None  # the id to start the next page after; None: the last page


async def agents(services: Services, where: AgentFilter, *, after: str = "",
                 limit: int = PAGE, as_of: datetime | None = None,
                 now: datetime | None = None) -> AgentsPage:
    """`now` pins the clock, whose period a list as of now shows (the bench's brand
    lives in the past)."""
    period = period_at(as_of or now)
    rows = await find_agents(services.pool, services.tenant, where, period=period,
                             after=after, limit=limit + 1, at=as_of)
    more = len(rows) > limit
    rows = rows[:limit]
    return AgentsPage(as_of, period, tuple(rows), rows[-1].agent if more else None)
