"""The HTTP application. Everything is built inside create_app: nothing at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api import errors, openapi
from api.deps import MaybeHQReader, Services
from api.routes import routers
from api.startup import Startup
from config.runtime import serving_gc
from config.settings import Settings
from console import app as console
from eventstore.database import server_version
from eventstore.errors import DatabaseUnavailable, database_errors
from projections.status import projection_status

DESCRIPTION = """
Agent hierarchy and order ledger with anti-pyramid rules enforced.

**Authentication**: every `/v1` call needs `Authorization: Bearer <token>`. The first
token comes from `weiledger users create-admin`; more from `weiledger users token`
(`weiledger serve --demo` prints an HQ and an agent token). Click *Authorize* above.

**Commands** answer `201` with the log positions they recorded. Send an
`Idempotency-Key` header to retry safely: the same key answers as the first time
(header `Idempotent-Replayed: true`) and records nothing new. A refused command answers
`422` (or `409` for a duplicate) as `application/problem+json` with a stable `rule`
code and the numbers that broke it; nothing is recorded.

**Reads** come from read models that follow the log: pass a command's `last_position`
as `min_position` to read your own write. Lists page with `next_cursor`. Money is a
decimal string of CNY; times carry their UTC offset.
"""


async def unready(services: Services, max_lag: int) -> list[dict[str, Any]]:
    """Why the service is not ready, one entry a reason (none: ready)."""
    cannot = await services.store.cannot_commit()
    if cannot is not None:
        return [{"check": "database", "detail": f"appends cannot commit: {cannot}"}]
    try:
        statuses = await projection_status(services.pool, services.store, services.tenant)
    except DatabaseUnavailable as error:
        return [{"check": "database", "detail": f"database unavailable: {error.reason}"}]
    reasons: list[dict[str, Any]] = []
    for s in statuses:
        if s.halted_at is not None:
            reasons.append({"check": "projection-halted", "projection": s.name,
                            "position": s.halted_at,
                            "detail": f"projection {s.name} halted at position"
                                      f" {s.halted_at}: {s.error}"})
        elif s.lag > max_lag:
            reasons.append({"check": "projection-lag", "projection": s.name, "lag": s.lag,
                            "detail": f"projection {s.name} is {s.lag} events behind"
                                      f" (more than {max_lag})"})
    return reasons


def app_from_environment() -> FastAPI:
    """The app of one of several serving processes (uvicorn's factory): each reads the
    settings from the environment its parent, `weiledger serve --workers N`, gave it."""
    app = create_app(Settings())
    serving_gc()
    return app


def create_app(settings: Settings, *, background: bool = True) -> FastAPI:
    """`background`: take part in running the projection runner and the watchers (one
    of the processes serving the tenant runs them: projections/background.py)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Yields at once; the database is opened (and waited for) behind it.
        async with Startup(settings, app.state, background=background) as startup:
            app.state.startup = startup
            yield

    app = FastAPI(
        title="weiledger",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # for /health and /ready; the resources' routes carry them already (resource()).
        responses=errors.problems(*errors.ANY_ROUTE),
        # console.app serves both from vendored assets (no CDN: they work offline).
        docs_url=None, redoc_url=None,
    )
    errors.install(app)
    openapi.install(app)
    console.mount(app, settings)
    for router in routers():
        # Flat, not include_router: FastAPI (0.137 and later) resolves an included
        # router's routes again on every request, about a tenth of a sale's CPU.
        # (Flat routes do not see app.dependency_overrides; nothing here uses them.)
        app.router.routes.extend(router.routes)

    # The bearer is optional here (anyone may ask whether the process lives).
    @app.get("/health", tags=["operations"], openapi_extra={"security": [{}]})
    async def health(request: Request, principal: MaybeHQReader) -> dict[str, Any]:
        """Liveness: `ok` while the process answers, whatever the database does. To HQ
        roles, also which database (never its credentials), the versions and how far
        each read model has got."""
        if principal is None:
            return {"status": "ok"}
        details: dict[str, Any] = {
            "status": "ok",
            "database": settings.describe_database(),
            "weiledger": request.app.version,
        }
        services: Services | None = request.app.state.services
        if services is None:  # alive, but the database is not open yet
            return {**details, "leading": False, "postgresql": None,
                    "database_unavailable": request.app.state.startup.waiting}
        background = request.app.state.background
        details["leading"] = background.leading
        if background.watchers is not None:
            details["watchers"] = {"position": background.watchers.position}
        try:
            with database_errors():
                details["postgresql"] = await server_version(services.pool)
            details["head"] = await services.store.head(services.tenant)
            details["projections"] = {
                s.name: {"position": s.position, "lag": s.lag, "halted_at": s.halted_at}
                for s in await projection_status(services.pool, services.store,
                                                 services.tenant)
            }
        except DatabaseUnavailable as error:
            details["postgresql"] = None
            details["database_unavailable"] = error.reason
        return details

    @app.get("/ready", tags=["operations"])
    async def ready(request: Request) -> JSONResponse:
        """Ready to serve: the database is open, the write path can commit, no read model
        has halted, and none lags more than WEILEDGER_READY_MAX_LAG events; else 503
        saying why."""
        waiting = request.app.state.startup.waiting
        if waiting is not None:
            reasons = [{"check": "database", "detail": waiting}]
        else:
            reasons = await unready(request.app.state.services, settings.ready_max_lag)
        if not reasons:
            return JSONResponse({"status": "ready"})
        problem = errors.ApiError(
            503, errors.ApiRule.NOT_READY, "; ".join(r["detail"] for r in reasons),
            headers={"Retry-After": str(errors.RETRY_UNAVAILABLE_SECONDS)})
        return JSONResponse({**problem.problem(request.url.path), "reasons": reasons}, 503,
                            headers=problem.headers, media_type=errors.PROBLEM)

    return app
