"""代理 Agents: find by id prefix, filter by tier, status, depth and "in the downline
of", a page at a time by id (keyset: the next page starts after the last id shown)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from api.deps import Services
from console.data.moments import period_at
from projections.tree.queries import AgentFilter, Member, find_agents

PAGE = 50


@dataclass(frozen=True, slots=True)
class AgentsPage:
    period: str  # of the net retail shown
    rows: tuple[Member, ...]
    next_after: str | None  # the id to start the next page after; None: the last page


async def agents(services: Services, where: AgentFilter, *, after: str = "",
                 limit: int = PAGE, now: datetime | None = None) -> AgentsPage:
    period = period_at(now)
    rows = await find_agents(services.pool, services.tenant, where, period=period,
                             after=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return AgentsPage(period, tuple(rows), rows[-1].agent if more else None)
