"""The real app (lifespan, pool, background runner and watchers) on the test database,
for one fresh tenant per test, called in-process through httpx; a token per role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from api.app import create_app
from config.settings import Settings
from eventstore.principals import Role, create_principal, issue_token

ROLES = ("admin", "operations", "compliance", "auditor", "regulator", "agent")


@dataclass
class Api:
    app: FastAPI
    client: httpx.AsyncClient
    tenant: str
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, who: str | None) -> dict[str, str]:
        return {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}

    async def call(self, method: str, path: str, who: str | None = "admin", *,
                   json: Any = None, key: str | None = None,
                   headers: dict[str, str] | None = None,
                   params: dict[str, Any] | None = None) -> httpx.Response:
        sent = {**self.auth(who), **(headers or {})}
        if key is not None:
            sent["Idempotency-Key"] = key
        return await self.client.request(method, path, json=json, headers=sent, params=params)

    async def token(self, role: str, agent: str | None = None) -> str:
        pool = self.app.state.services.pool
        principal = await create_principal(pool, self.tenant, Role(role),
                                           f"test {role} {agent or ''}", agent)
        return (await issue_token(pool, principal)).token


@asynccontextmanager
async def running_api(database_url: str, tenant: str, *, pool_size: int = 12
                      ) -> AsyncIterator[Api]:
    settings = Settings(database_url=database_url, tenant=tenant, pool_size=pool_size)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        await app.state.startup.opened()  # the database is opened behind the lifespan
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            found = Api(app, client, tenant)
            for role in ROLES:
                found.tokens[role] = await found.token(role, "A1" if role == "agent" else None)
            found.tokens["other-agent"] = await found.token("agent", "B1")
            yield found


@pytest.fixture
async def api(database_url: str, tenant: str) -> AsyncIterator[Api]:
    async with running_api(database_url, tenant) as found:
        yield found
