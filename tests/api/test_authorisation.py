"""Who may call what: every route the app serves (app.routes, not the OpenAPI document,
which leaves out a route added with include_in_schema=False), called as every role, with
no token and with expired, revoked and other-tenant tokens, answers as the table below
says; an agent never sees another's data.

The table is written by hand, one line per operation: a route without a line, or whose
role check (api.deps.RoleCheck among its dependencies, or the console's
console.pages.SignedIn) admits other roles than its line, fails the test, so nobody
adds a route or a console page without deciding who may call it. The console's pages
answer sessions, not bearer tokens: tests/console/test_roles.py calls them as each
role."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route

from api.app import create_app
from api.deps import AgentSelf, RoleCheck
from config.settings import Settings
from console.pages import SignedIn
from eventstore.principals import Role, create_principal, issue_token, revoke
from tests.api.conftest import ROLES, Api

HQ = {"admin", "operations", "compliance", "auditor"}
OPS = {"admin", "operations"}
COMPLIANCE = {"admin", "compliance"}
STEWARD = {"admin", "operations", "compliance"}
AGENT = {"agent"}
ANYONE = set(ROLES)

ALLOWED: dict[str, set[str]] = {
    "GET /v1/me": ANYONE,
    "GET /v1/me/profile": AGENT,
    "GET /v1/me/stock": AGENT,
    "GET /v1/me/sales": AGENT,
    "POST /v1/me/sales": AGENT,
    "GET /v1/me/sales/{sale}": AGENT,
    "POST /v1/me/sales/{sale}/returns": AGENT,
    "POST /v1/me/purchases": AGENT,
    "GET /v1/me/statements": AGENT,
    "GET /v1/me/statements/{period}": AGENT,
    "GET /v1/me/statements/{period}/explain": AGENT,
    "GET /v1/me/alerts": AGENT,
    "GET /v1/me/downline": AGENT,
    "GET /v1/me/disputes": AGENT,
    "POST /v1/me/disputes": AGENT,
    "GET /v1/me/disputes/{dispute}": AGENT,
    "POST /v1/agents": OPS,
    "GET /v1/agents": HQ,
    "GET /v1/agents/{agent}": HQ,
    "POST /v1/agents/{agent}/promote": OPS,
    "POST /v1/agents/{agent}/demote": OPS,
    "POST /v1/agents/{agent}/warn": STEWARD,
    "POST /v1/agents/{agent}/suspend": STEWARD,
    "POST /v1/agents/{agent}/reinstate": STEWARD,
    "POST /v1/agents/{agent}/terminate": STEWARD,
    "POST /v1/agents/{agent}/forget": COMPLIANCE,
    "GET /v1/agents/{agent}/stock": HQ,
    "GET /v1/agents/{agent}/downline": HQ,
    "GET /v1/agents/{agent}/as-of": HQ,
    "GET /v1/agents/{agent}/timeline": HQ,
    "GET /v1/tree": HQ,
    "POST /v1/products": OPS,
    "GET /v1/products": HQ,
    "POST /v1/purchases": OPS,
    "POST /v1/sales": OPS,
    "GET /v1/sales": HQ,
    "GET /v1/sales/{sale}": HQ,
    "GET /v1/sales/{sale}/timeline": HQ,
    "POST /v1/sales/{sale}/returns": OPS,
    "POST /v1/buybacks": OPS,
    "POST /v1/periods/{period}/close": OPS,
    "GET /v1/statements": HQ,
    "GET /v1/statements/{agent}/{period}": HQ,
    "GET /v1/statements/{agent}/{period}/explain": HQ,
    "GET /v1/statements/{agent}/{period}/timeline": HQ,
    "GET /v1/kpis": HQ,
    "GET /v1/alerts": HQ,
    "GET /v1/alerts/{alert}": HQ,
    "POST /v1/alerts/{alert}/acknowledge": COMPLIANCE,
    "POST /v1/alerts/{alert}/resolve": COMPLIANCE,
    "GET /v1/refusals": HQ,
    "POST /v1/clock/tick": STEWARD,
    "POST /v1/disputes": STEWARD,
    "GET /v1/disputes": HQ,
    "GET /v1/disputes/{dispute}": HQ,
    "POST /v1/disputes/{dispute}/answer": COMPLIANCE,
    "POST /v1/disputes/{dispute}/resolve": COMPLIANCE,
    "POST /v1/policies": COMPLIANCE,
    "GET /v1/policies": HQ,
    "GET /v1/policies/{version}": HQ,
    # the regulator export (api/routes/exports.py): the regulator, and HQ but operations
    "GET /v1/exports": {"regulator", "auditor", "admin", "compliance"},
    # the HQ console (console/routes): HQ's people, signed in
    "POST /console/sign-out": HQ,
    "GET /console/": HQ,
    "GET /console/overview/chain": HQ,
    "GET /console/agents": HQ,
    "GET /console/agents/{agent}": HQ,
    "GET /console/genealogy": HQ,
    "GET /console/genealogy/children": HQ,
    "GET /console/events": HQ,
    "GET /console/events/{position}": HQ,
    "GET /console/users": HQ,
    "POST /console/users": {"admin"},
    "POST /console/users/{username}/password": {"admin"},
}
CONSOLE = {name for name in ALLOWED if name.split()[1].startswith("/console")}
# Routes anyone may call, without a token: liveness and the API's own documentation.
PUBLIC = {"GET /health", "GET /ready", "GET /openapi.json", "GET /docs",
          "GET /docs/oauth2-redirect", "GET /redoc",
          # the console's sign-in, its language and its static files
          "GET /console/sign-in", "POST /console/sign-in", "POST /console/language",
          "GET /console/static"}
# Tokens that must open nothing: each answers 401 on every route.
DEAD_TOKENS = ("expired", "revoked", "other-tenant")
PARAMS = {"agent": "B1", "sale": "S-B1", "period": "2026-01", "alert": "no-such-alert",
          "dispute": "D-B1", "version": "1"}
QUERY = {"GET /v1/kpis": {"period": "2026-01"},
         "GET /v1/agents/{agent}/as-of": {"as_of": "2026-01-20T00:00:00+08:00"}}
AT = "2026-01-{:02d}T{:02d}:00:00+08:00"


def operations(app: FastAPI) -> list[tuple[str, str]]:
    """Every method and path the app serves, whatever the OpenAPI document shows."""
    return [operation for route in app.routes for operation in operations_of(route)]


def _role_checks(dependant: Dependant) -> Iterator[RoleCheck | SignedIn]:
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, RoleCheck | SignedIn):
            yield dependency.call
        yield from _role_checks(dependency)


def declared_roles(app: FastAPI) -> dict[str, set[str] | None]:
    """Each operation's roles as its role check declares them; None: no role check."""
    declared: dict[str, set[str] | None] = {}
    for route in app.routes:
        checks = list(_role_checks(route.dependant)) if isinstance(route, APIRoute) else []
        roles = set.intersection(*({r.value for r in c.roles} for c in checks)) if checks \
            else None
        for method, path in operations_of(route):
            declared[f"{method} {path}"] = roles
    return declared


def operations_of(route: object) -> list[tuple[str, str]]:
    if isinstance(route, Mount) and route.path == "/console/static":
        return [("GET", route.path)]  # the console's vendored files, public
    assert isinstance(route, Route | APIRoute), f"{route!r}: a route the walk does not know"
    return [(m, route.path) for m in sorted(set(route.methods or ()) - {"HEAD"})]


def unguarded(app: FastAPI) -> set[str]:
    """Operations with neither a role check nor a place on the public list, and those
    whose role check admits other roles than their line of the table."""
    declared = declared_roles(app)
    return {name for name, roles in declared.items()
            if name not in PUBLIC and (roles is None or roles != ALLOWED.get(name))}


async def _brand(api: Api) -> None:
    """Two top-level agents, A1 (the agent token) and B1 (the other agent), each with
    stock, a sale and a dispute; B1 with a recruit."""
    lines = [
        ("POST", "/v1/products", {"sku": "TEA-01", "name": "tea", "retail_price": "99.00"}),
        ("POST", "/v1/agents", {"agent": "A1", "sponsor": None, "tier": "partner",
                                "name": "王芳", "id_number": "110101198903020007",
                                "phone": "13800000001"}),
        ("POST", "/v1/agents", {"agent": "B1", "sponsor": None, "tier": "partner",
                                "name": "李娜", "id_number": "110101198906101005",
                                "phone": "13800000002"}),
        ("POST", "/v1/agents", {"agent": "B2", "sponsor": "B1", "tier": "general",
                                "name": "张伟", "id_number": "110101198909182007",
                                "phone": "13800000003"}),
        ("POST", "/v1/purchases", {"buyer": "A1", "seller": None,
                                   "lines": [{"sku": "TEA-01", "qty": 10}]}),
        ("POST", "/v1/purchases", {"buyer": "B1", "seller": None,
                                   "lines": [{"sku": "TEA-01", "qty": 10}]}),
        ("POST", "/v1/sales", {"sale": "S-A1", "seller": "A1", "customer": "C1",
                               "lines": [{"sku": "TEA-01", "qty": 1, "unit_price": "99.00"}]}),
        ("POST", "/v1/sales", {"sale": "S-B1", "seller": "B1", "customer": "C2",
                               "lines": [{"sku": "TEA-01", "qty": 2, "unit_price": "99.00"}]}),
        ("POST", "/v1/disputes", {"dispute": "D-B1", "agent": "B1", "subject": "sale:S-B1",
                                  "text": "B1's own complaint"}),
    ]
    for n, (method, path, body) in enumerate(lines, start=1):
        answer = await api.call(method, path, json={**body, "at": AT.format(3, n + 8)})
        assert answer.status_code == 201, (path, answer.text)


def test_every_route_has_a_line_in_the_table_and_declares_its_roles(api: Api) -> None:
    found = {f"{m} {p}" for m, p in operations(api.app)} - PUBLIC
    assert found == set(ALLOWED), (found ^ set(ALLOWED))
    assert unguarded(api.app) == set()


def test_the_walk_finds_a_route_hidden_from_the_openapi_document() -> None:
    """A route added with include_in_schema=False and no role check passed every test
    while the table was read from app.openapi(); the walk over app.routes flags it, and
    one with a role check but no line of the table too."""
    app = create_app(Settings(database_url="postgresql://unused/none"))
    assert unguarded(app) == set()

    @app.get("/v1/hidden", include_in_schema=False)
    async def hidden() -> dict[str, str]:
        return {"secret": "anyone"}

    @app.post("/v1/me/hidden", include_in_schema=False)
    async def hidden_agent(who: AgentSelf) -> dict[str, str]:
        return {"who": who.principal}

    assert "/v1/hidden" not in app.openapi()["paths"]
    assert unguarded(app) == {"GET /v1/hidden", "POST /v1/me/hidden"}


async def _dead_tokens(api: Api) -> None:
    """An expired token, a revoked one and a live token of another brand, as agent A1."""
    pool = api.app.state.services.pool
    principal = await create_principal(pool, api.tenant, Role.AGENT, "dead", "A1")
    expiring = await issue_token(pool, principal, days=0.5 / 86400)  # half a second
    revoked = await create_principal(pool, api.tenant, Role.ADMIN, "revoked admin")
    api.tokens["revoked"] = (await issue_token(pool, revoked)).token
    await revoke(pool, api.tenant, revoked.principal)
    stranger = await create_principal(pool, f"{api.tenant}-other", Role.ADMIN, "another brand")
    api.tokens["other-tenant"] = (await issue_token(pool, stranger)).token
    await asyncio.sleep((expiring.expires_at - datetime.now(UTC)).total_seconds() + 0.1)
    api.tokens["expired"] = expiring.token


@pytest.mark.parametrize("role", [*ROLES, None, *DEAD_TOKENS])
async def test_each_role_reaches_exactly_its_operations(api: Api, role: str | None) -> None:
    await _brand(api)
    if role in DEAD_TOKENS:
        await _dead_tokens(api)
    for method, path in operations(api.app):
        name = f"{method} {path}"
        if name in PUBLIC or name in CONSOLE:
            continue
        url = re.sub(r"\{(\w+)\}", lambda m: PARAMS[m.group(1)], path)
        answer = await api.call(method, url, role, params=QUERY.get(name),
                                json={} if method == "POST" else None)
        if role is None or role in DEAD_TOKENS:
            assert answer.status_code == 401, (name, role, answer.status_code)
            assert answer.json()["rule"] == "unauthenticated"
        elif role in ALLOWED[name]:
            assert answer.status_code not in (401, 403, 405), (name, role, answer.text)
            assert answer.status_code < 500, (name, role, answer.text)
        else:
            assert answer.status_code == 403, (name, role, answer.status_code)
            assert answer.json()["rule"] == "forbidden"


async def test_an_agent_gets_nothing_of_another_agent(api: Api) -> None:
    await _brand(api)
    me = "agent"  # A1
    for path in ("/v1/me/sales/S-B1", "/v1/me/disputes/D-B1"):
        assert (await api.call("GET", path, me)).status_code == 404, path
    answer = await api.call("POST", "/v1/me/sales/S-B1/returns", me,
                            json={"lines": [{"sku": "TEA-01", "qty": 1}]})
    assert answer.status_code == 404
    answer = await api.call("POST", "/v1/me/disputes", me,
                            json={"subject": "sale:S-B1", "text": "not mine"})
    assert answer.status_code == 404
    for path in ("/v1/agents/B1", "/v1/agents/B1/stock", "/v1/sales/S-B1",
                 "/v1/statements/B1/2026-01", "/v1/disputes/D-B1", "/v1/agents/B1/timeline"):
        assert (await api.call("GET", path, me)).status_code == 403, path
    # Every self-service read, as A1: nothing of B1 or B2, and no personal data in clear.
    last = (await api.call("POST", "/v1/clock/tick", json={"at": AT.format(4, 9)})).json()
    fresh = {"min_position": last["last_position"]}
    for path in ("/v1/me/profile", "/v1/me/stock", "/v1/me/sales", "/v1/me/statements",
                 "/v1/me/alerts", "/v1/me/downline", "/v1/me/disputes", "/v1/me"):
        answer = await api.call("GET", path, me,
                                params=fresh if path in ("/v1/me/sales",) else None)
        assert answer.status_code == 200, path
        for secret in ("B1", "B2", "S-B1", "D-B1", "李娜", "王芳", "13800000001",
                       "110101198903020007"):
            assert secret not in answer.text, (path, secret)
    sales = (await api.call("GET", "/v1/me/sales", me, params=fresh)).json()["items"]
    assert [s["sale"] for s in sales] == ["S-A1"]
    # B1 sees its downline as counts and money only.
    summary = (await api.call("GET", "/v1/me/downline", "other-agent")).json()
    assert summary["direct"] == 1 and summary["recruits"][0]["agent"] == "B2"
    assert "张伟" not in str(summary) and "13800000003" not in str(summary)


async def test_a_revoked_or_unknown_token_is_refused(api: Api) -> None:
    from eventstore.principals import revoke

    who = (await api.call("GET", "/v1/me", "auditor")).json()["principal"]
    await revoke(api.app.state.services.pool, api.tenant, who)
    api.app.state.services.tokens._cache.clear()
    assert (await api.call("GET", "/v1/me", "auditor")).status_code == 401
    answer = await api.client.get("/v1/me", headers={"Authorization": "Bearer wl_nope"})
    assert answer.status_code == 401 and answer.json()["rule"] == "unauthenticated"


async def test_an_agents_sale_and_dispute_ids_are_the_servers_so_no_answer_names_anothers(
    api: Api,
) -> None:
    """Before, A1 sending B1's sale id S-B1 or dispute id D-B1 was answered 409
    duplicate-sale / duplicate-dispute: proof that B1's records exist. Now the server
    names them (from the principal and its Idempotency-Key), and an id in the body is
    not the client's to choose: a body naming one is refused (no unknown field)."""
    await _brand(api)
    sale = {"customer": "C9", "lines": [{"sku": "TEA-01", "qty": 1, "unit_price": "99.00"}]}
    chosen = await api.call("POST", "/v1/me/sales", "agent", json={**sale, "sale": "S-B1"})
    assert chosen.status_code == 422 and "sale" in chosen.json()["detail"], chosen.text
    first = await api.call("POST", "/v1/me/sales", "agent", json=sale, key="k-sale")
    assert first.status_code == 201, first.text
    mine = first.json()["sale"]
    assert mine.startswith("S-") and mine != "S-B1"
    again = await api.call("POST", "/v1/me/sales", "agent", json=sale, key="k-sale")
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    # The other agent's same key names another sale: ids are scoped to the principal.
    other = await api.call("POST", "/v1/me/sales", "other-agent", json=sale, key="k-sale")
    assert other.status_code == 201 and other.json()["sale"] not in (mine, "S-B1")
    assert (await api.call("GET", f"/v1/me/sales/{mine}", "agent")).status_code == 200
    dispute = {"subject": f"sale:{mine}", "text": "my own"}
    chosen = await api.call("POST", "/v1/me/disputes", "agent",
                            json={**dispute, "dispute": "D-B1"})
    assert chosen.status_code == 422 and "dispute" in chosen.json()["detail"], chosen.text
    opened = await api.call("POST", "/v1/me/disputes", "agent", json=dispute, key="k-d")
    assert opened.status_code == 201, opened.text
    assert opened.json()["dispute"].startswith("D-") and opened.json()["dispute"] != "D-B1"
    doc = api.app.openapi()["paths"]
    for path, schema in (("/v1/me/sales", "SaleAccepted"), ("/v1/me/disputes", "DisputeAccepted")):
        answer = doc[path]["post"]["responses"]["201"]["content"]["application/json"]
        assert answer["schema"]["$ref"].endswith(schema)
        body = doc[path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        fields = api.app.openapi()["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
        assert not {"sale", "dispute"} & set(fields["properties"])
