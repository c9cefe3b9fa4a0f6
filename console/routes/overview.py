"""总览 Overview: one period (a CST month) against the same days of the one before."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi.responses import HTMLResponse

from console.data.overview import Overview
from console.data.overview import overview as overview_of
from console.i18n import N_
from console.pages import Reader, Visit, partial, render
from console.routes import page_router
from console.routes.inputs import period_or
from domain.periods import period_of, previous_period

router = page_router()


def _months(now: datetime, count: int = 13) -> list[str]:
    found = [period_of(now)]
    for _ in range(count - 1):
        found.append(previous_period(found[-1]))
    return found


def _charts(found: Overview, rule_name: Callable[[str], str]) -> dict[str, Any]:
    months = [p for p, _ in found.monthly_net_retail]
    retail = {
        "tooltip": {"trigger": "axis"},
        "xAxis": {"type": "category", "data": months},
        "yAxis": {"type": "value"},
        "series": [{"type": "bar", "data": [fen / 100 for _, fen in found.monthly_net_retail]}],
    }
    rules = sorted(found.raised_by_rule)
    alerts = {
        "tooltip": {"trigger": "axis"},
        "xAxis": {"type": "value", "minInterval": 1},
        "yAxis": {"type": "category", "data": [rule_name(r) for r in rules]},
        "series": [{"type": "bar", "data": [found.raised_by_rule[r] for r in rules]}],
        "grid": {"left": 160},
    }
    return {"retail": retail, "alerts": alerts}


@router.get("/console/")
async def overview(visit: Reader, period: str | None = None) -> HTMLResponse:
    now = datetime.now(UTC)
    chosen = period_or(period, period_of(now))
    found = await overview_of(visit.services, chosen, now=now)

    def rule_name(code: str) -> str:
        return str(visit.translations.pgettext("rule", code))

    return render(visit, "overview.html", found=found, months=_months(now),
                  charts=_charts(found, rule_name), now=now, head=found.head)


@router.get("/console/overview/chain")
async def chain(visit: Reader) -> HTMLResponse:
    """The chain's tile, which the page refreshes by itself (htmx)."""
    return partial(visit, "overview/_chain.html", head=await chain_head(visit))


async def chain_head(visit: Visit) -> int:
    return await visit.services.store.head(visit.services.tenant)


# Codes shown through _() in the templates, named here so the catalogues hold them.
SHOWN_CODES = (N_("warning"), N_("critical"), N_("active"), N_("suspended"),
               N_("terminated"), N_("raised"), N_("acknowledged"), N_("resolved"),
               N_("opened"), N_("answered"))
