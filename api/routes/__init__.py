"""One router per resource, all under /v1. A new resource is one more module here and
one more line in ROUTERS (e.g. the regulator export: api/routes/exports.py)."""

from __future__ import annotations

from fastapi import APIRouter

from api.errors import ANY_ROUTE, problems


def resource(prefix: str, tag: str) -> APIRouter:
    """A resource's router. Its routes carry the problems any route may answer
    themselves, because the app takes them in flat, not with include_router (api/app.py)."""
    return APIRouter(prefix=prefix, tags=[tag], responses=problems(*ANY_ROUTE))


def routers() -> list[APIRouter]:
    from api.routes import (
        agents,
        alerts,
        clock,
        disputes,
        exports,
        me,
        orders,
        policies,
        refusals,
        settlement,
        timelines,
        tree,
    )

    return [
        me.router,
        agents.router,
        tree.router,
        orders.router,
        settlement.router,
        alerts.router,
        clock.router,
        disputes.router,
        policies.router,
        timelines.router,
        exports.router,
        refusals.router,
    ]
