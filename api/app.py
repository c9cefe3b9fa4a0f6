"""The HTTP application. Everything is built inside create_app: nothing at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api import errors
from api.routes import routers
from api.startup import Startup
from config.runtime import serving_gc
from config.settings import Settings
from eventstore.database import migrated, server_version

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
    )
    errors.install(app)
    for router in routers():
        # Flat, not include_router: FastAPI (0.137 and later) resolves an included
        # router's routes again on every request, about a tenth of a sale's CPU.
        # (Flat routes do not see app.dependency_overrides; nothing here uses them.)
        app.router.routes.extend(router.routes)

    @app.get("/health", tags=["operations"])
    async def health(request: Request) -> dict[str, Any]:
        """Liveness, and which database this service uses (never its credentials)."""
        waiting = request.app.state.startup.waiting  # alive, but not yet connected
        version = None if waiting else await server_version(request.app.state.pool)
        return {
            "status": "ok",
            "database": settings.describe_database(),
            "postgresql": version,
        }

    @app.get("/ready", tags=["operations"])
    async def ready(request: Request) -> JSONResponse:
        waiting = request.app.state.startup.waiting
        if waiting is not None:
            return JSONResponse({"status": "not ready", "reason": waiting}, 503)
        try:
            await migrated(request.app.state.pool)
        except Exception as error:  # answer not-ready rather than 500
            return JSONResponse({"status": "not ready", "reason": type(error).__name__}, 503)
        return JSONResponse({"status": "ready"})

    return app
