"""Hostile input over HTTP (issue 17): each request below answers a 4xx problem+json
with a stable rule code and its numbers, records nothing, and leaves every projection
running. Each recorded a command (or answered 500) before."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta
from typing import Any

import pytest

from domain.periods import CST
from projections.registry import all_projections
from tests.api.conftest import Api

NOW = datetime.now(CST).replace(microsecond=0)


def at(days: float) -> str:
    """A business time `days` from now (negative: ago)."""
    return (NOW + timedelta(days=days)).isoformat()


TEA = {"sku": "TEA-01", "qty": 1, "unit_price": "99.00"}


async def brand(api: Api, *, sale: bool = True) -> None:
    """TEA-01 at 99.00 listed 30 days ago; A1 (the agent's token) joined 20 days ago
    with 100,000 units; a sale S1 of A1 yesterday (unless not `sale`)."""
    for path, body in (
        ("/v1/products", {"at": at(-30), "sku": "TEA-01", "name": "tea", "retail_price": "99.00"}),
        ("/v1/agents", {"at": at(-20), "agent": "A1", "sponsor": None, "tier": "partner",
                        "name": "王芳", "id_number": "110101198903020007",
                        "phone": "13800000001"}),
        ("/v1/purchases", {"at": at(-19), "buyer": "A1", "seller": None,
                           "lines": [{"sku": "TEA-01", "qty": 100_000}]}),
        ("/v1/sales", {"at": at(-1), "sale": "S1", "seller": "A1", "lines": [TEA]}),
    )[:None if sale else -1]:
        answer = await api.call("POST", path, json=body)
        assert answer.status_code == 201, (path, answer.text)


async def head(api: Api) -> int:
    return await api.app.state.services.store.head(api.tenant)


async def projections_halted(api: Api) -> dict[str, str]:
    """Wait for the service's own runner to reach the head; the projections that halted
    on the way (empty: none)."""
    runner = api.app.state.background.runner
    target = await head(api)
    pool = api.app.state.services.pool
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if runner.halted:
            return dict(runner.halted)
        reached = [await pool.fetchval(f"SELECT position FROM rm_{p.name}.checkpoint"
                                       " WHERE tenant = $1", api.tenant) or 0
                   for p in all_projections()]
        if min(reached) >= target:
            return {}
        await asyncio.sleep(0.05)
    raise AssertionError(f"projections did not reach {target} in 30 s")


def refused(answer: Any, status: int, rule: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = answer.json()
    assert body["rule"] == rule, body
    return body


HOSTILE_TEXT = ["a\u0000b", "a\u0085b", "\u0007", "a\u007fb", "x" * 501]


@pytest.mark.parametrize("text", HOSTILE_TEXT, ids=["nul", "c1", "bell", "del", "too-long"])
async def test_a_dispute_text_with_a_control_character_is_refused_and_no_projection_halts(
    api: Api, text: str
) -> None:
    await brand(api)
    before = await head(api)
    answer = await api.call("POST", "/v1/me/disputes", "agent",
                            json={"subject": "sale:S1", "text": text})
    refused(answer, 422, "invalid-request")
    assert await head(api) == before
    assert await projections_halted(api) == {}


async def test_a_control_character_the_api_schema_lets_through_is_refused_by_the_parser(
    api: Api,
) -> None:
    """A policy document is free JSON: the parser checks every string in it, keys too."""
    await brand(api)
    before = await head(api)
    answer = await api.call("POST", "/v1/policies", "compliance",
                            json={"document": {"promotion": {"gen\u0000eral": {"own": "1.00"}}}})
    body = refused(answer, 422, "malformed")
    assert body["numbers"] == {"character": "U+0000"}
    assert await head(api) == before


@pytest.mark.parametrize(("path", "who", "body", "numbers"), [
    ("/v1/me/sales", "agent",
     {"lines": [{"sku": "TEA-01", "qty": 99_999, "unit_price": "999999999.99"}]},
     {"amount": "999999999.99", "limit": "100000.00"}),
    ("/v1/me/sales", "agent",
     {"lines": [{"sku": "TEA-01", "qty": 60_000, "unit_price": "99.00"},
                              {"sku": "TEA-02", "qty": 60_000, "unit_price": "99.00"}]},
     {"qty": 120_000, "limit": 100_000}),
    ("/v1/products", "admin", {"sku": "TEA-09", "name": "gold", "retail_price": "999999999.99"},
     {"amount": "999999999.99", "limit": "100000.00"}),
], ids=["unit-price", "units-per-command", "retail-price"])
async def test_amounts_beyond_the_bounds_are_refused_so_no_sum_can_overflow(
    api: Api, path: str, who: str, body: dict[str, Any], numbers: dict[str, Any]
) -> None:
    await brand(api)
    before = await head(api)
    answer = await api.call("POST", path, who, json=body)
    assert refused(answer, 422, "malformed")["numbers"] == numbers
    assert await head(api) == before
    assert await projections_halted(api) == {}


@pytest.mark.parametrize("qty", [True, "1", " 1", 1.0], ids=["true", "str", "spaced", "float"])
async def test_a_quantity_is_an_integer_not_anything_that_looks_like_one(
    api: Api, qty: Any
) -> None:
    await brand(api)
    before = await head(api)
    for path, who, body in (
        ("/v1/me/sales", "agent", {"lines": [{**TEA, "qty": qty}]}),
        ("/v1/sales", "admin", {"sale": "S9", "seller": "A1", "lines": [{**TEA, "qty": qty}]}),
        ("/v1/purchases", "admin", {"buyer": "A1", "seller": None,
                                    "lines": [{"sku": "TEA-01", "qty": qty}]}),
    ):
        refused(await api.call("POST", path, who, json=body), 422, "invalid-request")
    assert await head(api) == before


async def test_a_sale_above_the_price_ceiling_is_refused(api: Api) -> None:
    await brand(api)
    before = await head(api)
    answer = await api.call("POST", "/v1/me/sales", "agent",
                            json={"lines": [{**TEA, "unit_price": "198.01"}]})
    assert refused(answer, 422, "price-ceiling")["numbers"] == {
        "sku": "TEA-01", "unit_price": "198.01", "ceiling": "198.00", "retail_price": "99.00"}
    assert await head(api) == before
    ok = await api.call("POST", "/v1/me/sales", "agent",
                        json={"lines": [{**TEA, "unit_price": "198.00"}]})
    assert ok.status_code == 201, ok.text


@pytest.mark.parametrize("path", ["/v1/me/sales", "/v1/me/sales/S1/returns",
                                  "/v1/me/purchases", "/v1/me/disputes"])
async def test_an_agent_never_chooses_the_business_time(api: Api, path: str) -> None:
    await brand(api)
    before = await head(api)
    body = {"/v1/me/sales": {"lines": [TEA]},
            "/v1/me/sales/S1/returns": {"lines": [{"sku": "TEA-01", "qty": 1}]},
            "/v1/me/purchases": {"lines": [{"sku": "TEA-01", "qty": 1}]},
            "/v1/me/disputes": {"subject": "sale:S1", "text": "why"}}[path]
    answer = await api.call("POST", path, "agent", json={**body, "at": at(365 * 70)})
    assert "at" in refused(answer, 422, "invalid-request")["detail"]
    assert await head(api) == before
    stamped = await api.call("POST", path, "agent", json=body)
    assert stamped.status_code == 201, stamped.text
    event = (await api.app.state.services.store.read_all(
        api.tenant, after=stamped.json()["first_position"] - 1, limit=1))[0]
    assert abs(event.business_time - datetime.now(CST)) < timedelta(minutes=1)


async def test_an_hq_command_may_not_be_dated_ahead_of_the_servers_clock(api: Api) -> None:
    await brand(api)
    before = await head(api)
    answer = await api.call("POST", "/v1/sales", json={"at": at(1 / 24), "sale": "S9",
                                                       "seller": "A1", "lines": [TEA]})
    body = refused(answer, 422, "future-time")
    assert body["numbers"]["skew_seconds"] == 300
    assert await head(api) == before
    ok = await api.call("POST", "/v1/sales", json={"at": at(1 / 24 / 60), "sale": "S9",
                                                   "seller": "A1", "lines": [TEA]})
    assert ok.status_code == 201, ok.text  # a minute ahead: within the skew


async def test_a_sale_dated_before_its_seller_joined_or_its_product_was_listed_is_refused(
    api: Api,
) -> None:
    await brand(api)
    before = await head(api)
    answer = await api.call("POST", "/v1/sales", json={"at": at(-25), "sale": "S9",
                                                       "seller": "A1", "lines": [TEA]})
    assert refused(answer, 422, "before-join")["numbers"]["agent"] == "A1"
    listed = await api.call("POST", "/v1/products", json={"at": at(0), "sku": "GIN-01",
                                                          "name": "ginseng",
                                                          "retail_price": "10.00"})
    assert listed.status_code == 201
    answer = await api.call("POST", "/v1/purchases", json={
        "at": at(-2), "buyer": "A1", "seller": None, "lines": [{"sku": "GIN-01", "qty": 1}]})
    assert refused(answer, 422, "before-listing")["numbers"]["sku"] == "GIN-01"
    assert await head(api) == before + 1


async def test_a_return_dated_back_into_its_window_while_the_clock_is_12_days_on_is_refused(
    api: Api,
) -> None:
    await brand(api, sale=False)
    sale = await api.call("POST", "/v1/sales", json={"at": at(-13), "sale": "S9",
                                                     "seller": "A1", "lines": [TEA]})
    assert sale.status_code == 201, sale.text
    assert (await api.call("POST", "/v1/clock/tick", json={"at": at(-1)})).status_code == 201
    before = await head(api)
    answer = await api.call("POST", "/v1/sales/S9/returns",
                            json={"at": at(-12), "lines": [{"sku": "TEA-01", "qty": 1}]})
    assert refused(answer, 422, "too-late")["numbers"]["allowance_hours"] == 72
    # As the agent, the return is dated now: 13 days after the sale, out of the window.
    answer = await api.call("POST", "/v1/me/sales/S9/returns", "agent",
                            json={"lines": [{"sku": "TEA-01", "qty": 1}]})
    assert refused(answer, 422, "return-window")["numbers"]["days"] == 13
    assert await head(api) == before


@pytest.mark.parametrize("since", ["0001-01-01", "0", "9999-12-31", "20260101"])
async def test_an_export_from_a_date_out_of_the_ledgers_years_is_a_422(
    api: Api, since: str
) -> None:
    answer = await api.call("GET", "/v1/exports", "regulator", params={"from": since})
    refused(answer, 422, "invalid-request")


async def test_a_lone_surrogate_in_a_policy_document_is_malformed_not_a_500(api: Api) -> None:
    """JSON may spell one ("\\ud800"), and Python's json takes it; UTF-8 has none."""
    await brand(api)
    before = await head(api)
    body = json.dumps({"document": {"promotion": {"vip\ud800": {"own": "1.00"}}}}).encode()
    answer = await api.client.post("/v1/policies", content=body, headers={
        **api.auth("compliance"), "content-type": "application/json"})
    assert refused(answer, 422, "malformed")["numbers"] == {"character": "U+D800"}
    assert await head(api) == before
