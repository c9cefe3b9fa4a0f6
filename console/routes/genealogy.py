"""团队 Genealogy as of any date: a tree-table whose rows load their children when
expanded (htmx, a page at a time), a jump to an agent (its path expanded), and a chart
of a chosen subtree."""

from __future__ import annotations

from typing import Any

from fastapi.responses import HTMLResponse

from console.data import genealogy
from console.pages import Reader, partial, render
from console.routes import page_router
from console.routes.inputs import agent_id, day, moment
from projections.tree.queries import Node

router = page_router()


def nested(nodes: list[Node], tier_name: Any) -> dict[str, Any] | None:
    """ECharts' tree data: the subtree's root with its children nested."""
    if not nodes:
        return None
    made: dict[str, dict[str, Any]] = {}
    for n in nodes:
        made[n.agent] = {"name": f"{n.agent} · {tier_name(n.tier)}", "children": []}
        if n.sponsor in made and n is not nodes[0]:
            made[n.sponsor]["children"].append(made[n.agent])
    return made[nodes[0].agent]


@router.get("/console/genealogy")
async def tree(visit: Reader, as_of: str | None = None, agent: str | None = None,
               chart: str | None = None) -> HTMLResponse:
    at = moment(as_of)
    top = await genealogy.children(visit.services, None, as_of=at)
    jumped = agent_id(agent)
    path = None if jumped is None else await genealogy.jump(visit.services, jumped, as_of=at)
    opened = []  # the children of each node on the path but its last, to show it expanded
    for sponsor in (path or [])[:-1]:
        opened.append(await genealogy.children(visit.services, sponsor, as_of=at))
    charted = agent_id(chart) or (path[0] if path else None)
    option = None
    if charted is not None:
        nodes = await genealogy.chart(visit.services, charted, as_of=at)
        data = nested(nodes, lambda t: str(visit.translations.pgettext("tier", t)))
        if data is not None:
            option = {"tooltip": {}, "series": [{
                "type": "tree", "data": [data], "initialTreeDepth": 2, "roam": True,
                "label": {"position": "left"}, "leaves": {"label": {"position": "right"}}}]}
    return render(visit, "genealogy/index.html", top=top, opened=opened, path=path or [],
                  jumped=jumped, as_of_day=day(as_of), charted=charted, option=option,
                  shape=genealogy.pyramid_shape)


@router.get("/console/genealogy/children")
async def children(visit: Reader, sponsor: str = "", as_of: str | None = None,
                   after: str | None = None) -> HTMLResponse:
    found = await genealogy.children(visit.services, agent_id(sponsor), as_of=moment(as_of),
                                     after=agent_id(after) or "")
    return partial(visit, "genealogy/_rows.html", found=found, opened=[], path=[],
                   as_of_day=day(as_of), shape=genealogy.pyramid_shape)
