"""代理 Agents: find by id prefix, filter, page by id; and an agent's page, as of a date."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.responses import HTMLResponse

from console.data.agent import agent_page
from console.data.agents import agents as agents_of
from console.pages import Reader, partial, render
from console.routes import page_router
from console.routes.inputs import agent_id, day, moment, prefix, whole
from projections.tree.queries import AgentFilter

router = page_router()
STATUSES = ("active", "suspended", "terminated")


@router.get("/console/agents")
async def agents(visit: Reader, q: str | None = None, tier: str | None = None,
                 status: str | None = None, depth: str | None = None,
                 under: str | None = None, after: str | None = None,
                 as_of: str | None = None) -> HTMLResponse:
    tiers = [t for t, _ in (await visit.services.ledger.policy.in_force(
        visit.services.tenant, datetime.now(UTC))).tiers]
    where = AgentFilter(prefix=prefix(q), tier=tier if tier in tiers else None,
                        status=status if status in STATUSES else None,
                        depth=whole(depth, 1, 100), under=agent_id(under))
    found = await agents_of(visit.services, where, after=agent_id(after) or "",
                            as_of=moment(as_of))
    if visit.htmx:
        return partial(visit, "agents/_rows.html", found=found, where=where,
                       as_of_day=day(as_of))
    return render(visit, "agents/index.html", found=found, where=where, tiers=tiers,
                  statuses=STATUSES, as_of_day=day(as_of))


@router.get("/console/agents/{agent}")
async def agent(visit: Reader, agent: str, as_of: str | None = None) -> HTMLResponse:
    chosen = agent_id(agent)
    found = None if chosen is None else await agent_page(visit.services, chosen,
                                                         as_of=moment(as_of))
    status = 404 if found is None or (found.member is None and not found.timeline) else 200
    return render(visit, "agents/agent.html", status, found=found, agent=agent,
                  as_of_day=day(as_of))
