"""What the OpenAPI document says a request may be is what the service takes: each case
below is one that schemathesis found (issue 17, the long run), where the document and the
service disagreed and no domain rule was the reason."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from domain import bounds
from domain.errors import RULES
from tests.api.conftest import Api


def parameters(api: Api) -> list[tuple[str, str, dict[str, Any]]]:
    return [(f"{method.upper()} {path}", p["name"], p["schema"])
            for path, item in api.app.openapi()["paths"].items()
            for method, operation in item.items() for p in operation.get("parameters", [])]


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("OPTIONS", "/v1/disputes", {"GET", "POST"}),
    ("PUT", "/v1/products", {"GET", "POST"}),
    ("DELETE", "/v1/me/sales", {"GET", "POST"}),
])
async def test_a_405_names_every_method_the_resource_takes(
    api: Api, method: str, path: str, allowed: set[str]
) -> None:
    """The resource's GET and POST are two routes; Allow named only the first one's."""
    answer = await api.call(method, path)
    assert answer.status_code == 405, answer.text
    assert answer.json()["rule"] == "method-not-allowed"
    assert {m.strip() for m in answer.headers["allow"].split(",")} - {"HEAD"} == allowed


async def test_no_parameter_of_the_document_may_be_null(api: Api) -> None:
    """A query parameter or header is there or not: `?as_of=null` is the text "null",
    which the service refuses, so the document may not say null is a value."""
    nullable = [(op, name) for op, name, schema in parameters(api)
                if '"null"' in json.dumps(schema)]
    assert nullable == []
    answer = await api.call("GET", "/v1/tree", params={"as_of": "null"})
    assert answer.status_code == 422, answer.text


@pytest.mark.parametrize(("method", "path", "params", "body"), [
    ("GET", "/v1/refusals", {"from": "0"}, None),
    ("GET", "/v1/refusals", {"to": "1700000000"}, None),
    ("GET", "/v1/tree", {"as_of": "1764000000"}, None),
    ("GET", "/v1/agents/A1/as-of", {"as_of": "1764000000.5"}, None),
    ("POST", "/v1/clock/tick", None, {"at": 1764000000}),
    ("POST", "/v1/products", None,
     {"at": "1764000000", "sku": "TEA-01", "name": "tea", "retail_price": "99.00"}),
], ids=["refusals-from", "refusals-to", "tree-as-of", "as-of-float", "tick-number",
        "product-numeric-text"])
async def test_a_time_is_iso_8601_text_never_a_number(
    api: Api, method: str, path: str, params: dict[str, str] | None, body: Any
) -> None:
    """pydantic took a number, or digits, as seconds since 1970: the document says a
    date-time, and a number is a number."""
    store = api.app.state.services.store
    before = await store.head(api.tenant)
    answer = await api.call(method, path, params=params, json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["rule"] == "invalid-request", answer.text
    assert await store.head(api.tenant) == before


async def test_the_document_names_the_rule_codes_refusals_are_filtered_by(api: Api) -> None:
    (schema,) = [s for op, name, s in parameters(api)
                 if op == "GET /v1/refusals" and name == "rule"]
    assert set(schema["enum"]) == {str(rule) for rule in RULES}
    assert (await api.call("GET", "/v1/refusals", params={"rule": "too-late"})).status_code == 200
    answer = await api.call("GET", "/v1/refusals", params={"rule": "A1"})
    assert answer.status_code == 422, answer.text


async def test_the_document_says_which_years_a_business_time_may_fall_in(api: Api) -> None:
    """A time of 7322 or 0056 was schema-valid and refused: the years are in the document."""
    first, last = bounds.YEARS
    times = [s for op, name, s in parameters(api) if name in ("as_of", "from", "to")]
    schemas = api.app.openapi()["components"]["schemas"]
    times += [schemas["TickCreate"]["properties"]["at"]]
    assert len(times) > 5
    for schema in times:
        # as_of is a date or a time: each of its forms says the years.
        forms = [f for f in schema.get("anyOf", [schema]) if f.get("type") != "null"]
        assert all("pattern" in form for form in forms), schema
        for form in forms:
            sample = "-01-01T00:00:00+08:00" if form.get("format") == "date-time" else "-01-01"
            for year, takes in ((first, True), (last, True), (first - 1, False),
                                (last + 1, False)):
                assert bool(re.search(form["pattern"], f"{year:04d}{sample}")) is takes, \
                    (schema, year)


async def test_what_a_command_created_can_be_read_at_its_position(api: Api) -> None:
    """schemathesis' stateful run opened a dispute and read it back at once: 404, as the
    read model had not caught up, and the one-item reads took no min_position to wait
    for. Now each of them does (and refuses a position the log has not reached)."""
    for path, body in (
        ("/v1/products", {"sku": "TEA-01", "name": "tea", "retail_price": "99.00"}),
        ("/v1/agents", {"agent": "A1", "sponsor": None, "tier": "partner", "name": "王芳",
                        "id_number": "110101198903020007", "phone": "13800000001"}),
        ("/v1/purchases", {"buyer": "A1", "seller": None,
                           "lines": [{"sku": "TEA-01", "qty": 10}]}),
    ):
        assert (await api.call("POST", path, json=body)).status_code == 201
    sale = await api.call("POST", "/v1/me/sales", "agent",
                          json={"lines": [{"sku": "TEA-01", "qty": 1, "unit_price": "99.00"}]})
    dispute = await api.call("POST", "/v1/me/disputes", "agent",
                             json={"subject": f"sale:{sale.json()['sale']}", "text": "why"})
    assert dispute.status_code == 201, dispute.text
    written = dispute.json()["last_position"]
    for who, path in (("agent", f"/v1/me/sales/{sale.json()['sale']}"),
                      ("admin", f"/v1/sales/{sale.json()['sale']}"),
                      ("agent", f"/v1/me/disputes/{dispute.json()['dispute']}"),
                      ("admin", f"/v1/disputes/{dispute.json()['dispute']}")):
        read = await api.call("GET", path, who, params={"min_position": written})
        assert read.status_code == 200, (path, read.text)
        ahead = await api.call("GET", path, who, params={"min_position": written + 1000})
        assert ahead.status_code == 422, (path, ahead.text)
        assert ahead.json()["rule"] == "unknown-position"
