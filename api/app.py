"""The HTTP application. Everything is built inside create_app: nothing at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from eventstore.postgres import PostgresEventStore
from ops.database import open_database
from ops.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_database(settings) as pool:
            store = PostgresEventStore(pool)
            app.state.pool = pool
            app.state.store = store
            try:
                yield
            finally:
                await store.close()

    app = FastAPI(
        title="weiledger",
        version="0.1.0",
        description="Agent hierarchy and order ledger with anti-pyramid rules enforced.",
        lifespan=lifespan,
    )

    @app.get("/health", tags=["operations"])
    async def health(request: Request) -> dict[str, Any]:
        """Liveness, and which database this service uses (never its credentials)."""
        version = await request.app.state.pool.fetchval("SHOW server_version")
        return {
            "status": "ok",
            "database": settings.describe_database(),
            "postgresql": version,
        }

    @app.get("/ready", tags=["operations"])
    async def ready(request: Request) -> JSONResponse:
        try:
            await request.app.state.pool.fetchval("SELECT 1 FROM schema_migrations LIMIT 1")
        except Exception as error:  # answer not-ready rather than 500
            return JSONResponse({"status": "not ready", "reason": type(error).__name__}, 503)
        return JSONResponse({"status": "ready"})

    return app
