"""The service through a database that goes away and comes back, and /ready and /health
telling the truth (issue 16): while PostgreSQL is down every /v1 answer is a 503
problem (`database-unavailable`, Retry-After), /ready is 503 saying why, and once it is
back both serve again without the service being restarted."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import asyncpg

from api.app import create_app
from config.settings import Settings
from console.pages import SESSION_COOKIE
from eventstore.principals import Role
from tests.api.conftest import Api, running_api
from tests.api.test_authorisation import (
    ALLOWED,
    AT,
    CONSOLE,
    PARAMS,
    PUBLIC,
    QUERY,
    _brand,
    operations,
)
from tests.console.test_roles import session_of

PROBLEM = "application/problem+json"
# Answered before the database is asked: who am I from the token alone, which this test
# keeps known (in service it is looked up again after a second, and that answers 503
# too); the export refuses first for want of the brand's signing key (a file).
NO_DATABASE = {"GET /v1/me": 200, "GET /v1/exports": 409}
BOUND = 12.0  # seconds an answer may take while the database is away: the store's 10 s


def sale(name: str) -> dict[str, Any]:
    return {"sale": name, "seller": "A1", "customer": "C9", "at": AT.format(5, 9),
            "lines": [{"sku": "TEA-01", "qty": 1, "unit_price": "99.00"}]}


def caller(name: str) -> str:
    allowed = ALLOWED[name]
    return "admin" if "admin" in allowed else sorted(allowed)[0]


async def eventually_status(api: Api, method: str, path: str, status: int, *,
                            who: str | None = "admin", within: float = 30.0,
                            **kw: Any) -> Any:
    started = time.monotonic()
    while (answer := await api.call(method, path, who, **kw)).status_code != status:
        if time.monotonic() - started > within:
            raise AssertionError(f"{method} {path}: not {status} within {within} s:"
                                 f" {answer.status_code} {answer.text[:300]}")
        await asyncio.sleep(0.1)
    return answer


def assert_unavailable(name: str, answer: Any) -> None:
    assert answer.status_code == 503, (name, answer.status_code, answer.text[:300])
    assert answer.headers["content-type"] == PROBLEM, name
    assert answer.headers["retry-after"].isdigit(), name
    assert answer.json()["rule"] == "database-unavailable", (name, answer.text[:300])


async def test_while_the_database_is_down_every_v1_answer_is_a_503_problem_then_all_serve_again(
    own_postgres, tenant
):
    """Before: plain-text 500s while it was down, /ready 200, and after it came back no
    command was ever recorded again."""
    async with running_api(own_postgres.url, tenant) as api:
        # Tokens known for the whole test: every route meets the outage in its own
        # reads, not only in the token look-up (which answers the same 503 after 1 s).
        api.app.state.services.tokens.ttl = 3600.0
        await _brand(api)
        for who in api.tokens:
            assert (await api.call("GET", "/v1/me", who)).status_code == 200
        await eventually_status(api, "GET", "/ready", 200, who=None)
        console = {"Cookie": f"{SESSION_COOKIE}={await session_of(api, Role.COMPLIANCE)}"}

        own_postgres.kill()
        slowest = 0.0
        for method, path in operations(api.app):
            name = f"{method} {path}"
            if name in PUBLIC or name in CONSOLE:  # the console: sessions, not /v1
                continue
            url = re.sub(r"\{(\w+)\}", lambda m: PARAMS[m.group(1)], path)
            started = time.monotonic()
            answer = await api.call(method, url, caller(name), params=QUERY.get(name),
                                    json={} if method == "POST" else None)
            slowest = max(slowest, time.monotonic() - started)
            if NO_DATABASE.get(name) == answer.status_code:
                continue
            if method == "POST" and answer.status_code == 422:
                # An empty command is malformed whatever the database does: judged first.
                assert answer.json()["rule"] == "invalid-request", name
                continue
            assert_unavailable(name, answer)
        started = time.monotonic()
        answer = await api.call("POST", "/v1/sales", json=sale("S-OUT"), key="S-OUT")
        assert_unavailable("a sale during the outage", answer)
        slowest = max(slowest, time.monotonic() - started)
        assert slowest < BOUND, slowest

        ready = await api.call("GET", "/ready", None)
        assert ready.status_code == 503
        assert ready.headers["content-type"] == PROBLEM
        assert ready.headers["retry-after"].isdigit()
        assert ready.json()["rule"] == "not-ready"
        assert [r["check"] for r in ready.json()["reasons"]] == ["database"]
        assert "cannot commit" in ready.json()["detail"]
        health = await api.call("GET", "/health", None)
        assert (health.status_code, health.json()) == (200, {"status": "ok"})
        # A person at the console reads a page in their language, not a problem+json.
        page = await api.client.get("/console/", headers=console)
        assert page.status_code == 503 and page.headers["retry-after"].isdigit()
        assert page.headers["content-type"].startswith("text/html")
        assert "暂时无法连接账本数据库" in page.text, page.text[:300]

        await asyncio.to_thread(own_postgres.start)
        back = time.monotonic()
        await eventually_status(api, "GET", "/ready", 200, who=None)
        # The sale the outage refused, sent again with its key as Retry-After says.
        recorded = await eventually_status(api, "POST", "/v1/sales", 201,
                                           json=sale("S-OUT"), key="S-OUT")
        print(f"writes resumed {time.monotonic() - back:.2f} s after the database was back")
        position = recorded.json()["last_position"]
        # Its read model follows once the background's retry (every 2 s) finds the
        # database again; until then a read of one's own write says 503, Retry-After: 1.
        await eventually_status(api, "GET", "/v1/sales/S-OUT", 200,
                                params={"min_position": position})
        assert (await api.call("GET", "/v1/agents")).status_code == 200
        assert (await api.client.get("/console/", headers=console)).status_code == 200
        again = await api.call("POST", "/v1/sales", json=sale("S-OUT"), key="S-OUT")
        assert (again.status_code, again.json()["last_position"]) == (201, position)
        assert again.headers.get("idempotent-replayed") == "true"


async def test_ready_names_a_halted_projection_and_its_position(api: Api, database_url):
    await _brand(api)
    # A row the sales projection will meet again: its copy of the sale fails (unique
    # key), a failure of the projection, not of the database, so it halts there.
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(
            "INSERT INTO rm_sales.sales (tenant, sale, seller, sold_at, period, units,"
            " amount, position) VALUES ($1, 'S-HALT', 'A1', now(), '2026-01', 1, 1, 0)",
            api.tenant)
    finally:
        await admin.close()
    started = time.monotonic()
    while (await api.call("GET", "/health")).json()["projections"]["sales"]["lag"]:
        assert time.monotonic() - started < 20, "sales never caught up"
        await asyncio.sleep(0.05)
    recorded = (await api.call("POST", "/v1/sales", json=sale("S-HALT"))).json()
    position = recorded["first_position"]  # the first event it cannot get past
    ready = await eventually_status(api, "GET", "/ready", 503, who=None)
    body = ready.json()
    assert ready.headers["content-type"] == PROBLEM
    halted = [r for r in body["reasons"] if r["check"] == "projection-halted"]
    assert [(r["projection"], r["position"]) for r in halted] == [("sales", position)]
    assert f"projection sales halted at position {position}" in body["detail"]


async def test_ready_is_not_ready_while_the_read_models_lag_more_than_the_setting(
    database_url, tenant
):
    settings = Settings(database_url=database_url, tenant=tenant, ready_max_lag=0)
    app = create_app(settings, background=False)  # nobody runs the projections
    async with running_api(database_url, tenant) as api, app.router.lifespan_context(app):
        await _brand(api)
        head = await api.app.state.services.store.head(tenant)
        import httpx

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://lagging") as client:
            lagging = await client.get("/ready")
        assert lagging.status_code == 503
        lags = {r["projection"]: r["lag"] for r in lagging.json()["reasons"]
                if r["check"] == "projection-lag"}
        assert lags and all(0 < lag <= head for lag in lags.values()), lagging.json()
        # The service that runs them, with the default threshold, is ready.
        await eventually_status(api, "GET", "/ready", 200, who=None)


async def test_health_says_only_ok_to_anyone_and_the_details_to_hq(api: Api) -> None:
    for who in (None, "agent", "regulator"):
        answer = await api.call("GET", "/health", who)
        assert (answer.status_code, answer.json()) == (200, {"status": "ok"}), who
    answer = await api.call("GET", "/health", None,
                            headers={"Authorization": "Bearer wl_not-a-token"})
    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})
    for who in ("admin", "operations", "compliance", "auditor"):
        details = (await api.call("GET", "/health", who)).json()
        assert details["status"] == "ok"
        assert details["database"].startswith("postgresql://")
        assert "@" not in details["database"]
        assert details["postgresql"]
        assert details["weiledger"] == api.app.version
        assert set(details["projections"]) >= {"tree", "sales", "stock"}
        assert all(p["lag"] >= 0 for p in details["projections"].values())
