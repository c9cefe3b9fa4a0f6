"""A projection never meets an event it cannot take: every command endpoint, driven over
HTTP with generated bodies (sane values mixed with hostile strings, huge numbers and
wrong types), answers below 500, every problem as problem+json with a rule code, and
afterwards no projection of the service has halted.

Bounded for CI (WEILEDGER_PROPERTY_EXAMPLES, default 25 sequences of up to 8 calls);
a longer run: WEILEDGER_PROPERTY_EXAMPLES=2000 pytest tests/api/test_hostile_property.py
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from typing import Any

from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import Api
from tests.api.test_hostile_input import at, brand, projections_halted

EXAMPLES = int(os.environ.get("WEILEDGER_PROPERTY_EXAMPLES", "25"))
TALLY: Counter[str] = Counter()  # what the run met: printed for the report

HOSTILE_TEXT = st.sampled_from([
    "a\u0000b", "A1\u0000", "\u0000x", "why\u0000", "\u0085", "\u0007x", "x\u007f",
    "x" * 600, "", " ", "\u202eevil", "😀", "\ud800", "'; DROP TABLE events; --", "\\u0000",
]) | st.text(st.characters(categories=["Cc", "Cs", "Zs", "Lo", "So"]), min_size=1, max_size=8)
WRONG_TYPE = st.sampled_from([None, True, False, 0, 1, -1, 1.0, 1e308, float("nan"),
                              10**30, -10**30, [], {}, [1], {"a": 1}, "1", " 1"])


class Field:
    """A field's sane values and its hostile ones (always with hostile text and wrong
    types besides)."""

    def __init__(self, sane: st.SearchStrategy[Any], *hostile: st.SearchStrategy[Any]) -> None:
        self.sane = sane
        self.bad = st.one_of(*hostile, HOSTILE_TEXT, WRONG_TYPE)

    def any(self) -> st.SearchStrategy[Any]:
        """Sane 5 times in 6."""
        return st.integers(0, 5).flatmap(lambda n: self.bad if n == 0 else self.sane)


IDS = st.sampled_from(["A1", "A2", "B1", "S1", "D1", "TEA-01", "GIN-01"]) | st.builds(
    "{}{}".format, st.sampled_from(["A", "S", "D"]), st.integers(2, 40))
ID = Field(IDS)
MONEY = Field(st.sampled_from(["99.00", "1.00", "198.00", "49.50", "0.00", "-12.50"]),
              st.sampled_from(["999999999.99", "100000.01", "1e30", "1" + "0" * 40, "NaN",
                               "Infinity", "0.001", " 1.00", "1_000.00", "-0", "+5"]))
QTY = Field(st.integers(1, 5), st.integers(-3, 200_000), st.sampled_from([10**18, 2**63]))
AT = Field(st.sampled_from([None, -3, -1, -0.01, 0, 0.002, -4, 1]).map(
    lambda d: d if d is None else at(d)), st.sampled_from([400, -400, 365 * 80]).map(at),
    st.sampled_from(["9999-12-31T23:59:59+08:00", "1900-01-01T00:00:00+08:00",
                     "0001-01-01T00:00:00+00:00", "2026-01-05T09:00:00",
                     "2026-13-01T00:00:00+08:00", "now"]))
SKU = Field(st.sampled_from(["TEA-01", "GIN-01"]))


def lines(sane: bool, price: str) -> st.SearchStrategy[Any]:
    """Lines of a sale (price "always"), a return ("never") or a purchase ("maybe")."""
    def pick(f: Field) -> st.SearchStrategy[Any]:
        return f.sane if sane else f.any()

    fields = {"sku": pick(SKU), "qty": pick(QTY)}
    line = st.fixed_dictionaries(
        {**fields, "unit_price": pick(MONEY)} if price == "always" else fields,
        optional={"unit_price": pick(MONEY)} if price == "maybe" else {})
    return st.lists(line, min_size=1, max_size=3)


def lines_field(path: str) -> Field:
    price = "always" if path.endswith("/sales") else "never" if "returns" in path else "maybe"
    return Field(lines(True, price), lines(False, price),
                 st.lists(st.fixed_dictionaries({"sku": IDS, "qty": st.just(1)}),
                          min_size=51, max_size=52), st.just([]))


AGENT = Field(st.sampled_from(["A1", "A1", "A1", "A2", "A3"]))
TEXT = Field(st.sampled_from(["why", "短", "quality"]))
FIELDS: dict[str, Field] = {
    "at": AT, "agent": AGENT, "sponsor": Field(st.sampled_from([None, "A1"])), "sale": ID,
    "seller": Field(st.sampled_from(["A1", "A1", None])), "buyer": AGENT, "customer": ID,
    "dispute": ID, "sku": SKU, "alert": ID,
    "tier": Field(st.sampled_from(["partner", "general", "first", "vip"])),
    "name": TEXT, "text": TEXT, "reason": TEXT, "note": TEXT,
    "subject": Field(st.sampled_from(["sale:S1", "statement:2026-01", "period:2099-12"])),
    "id_number": Field(st.sampled_from(["110101198906101005", "110101198909182007",
                                        "11010119890610100X"])),
    "phone": Field(st.just("13800000001")),
    "retail_price": MONEY, "unit_price": MONEY, "adjustment": MONEY,
    "fee": Field(st.sampled_from(["0.00", "299.00"]), MONEY.bad),
    "outcome": Field(st.sampled_from(["upheld", "partly-upheld", "rejected", "withdrawn"])),
    "hq_approved": Field(st.booleans()), "resalable": Field(st.booleans()),
    "required_purchase": Field(st.booleans()),
    "version": Field(st.integers(2, 12), st.sampled_from([2**31, 10**20, -1])),
    "effective_from": AT,
    "document": Field(st.dictionaries(
        st.sampled_from(["max_depth", "price_floor", "price_ceiling", "return_days",
                         "late_entry_hours", "tax_flag", "join_fee", "brackets", "tiers",
                         "promotion", "nope", "a\u0000"]),
        MONEY.any() | QTY.any() | st.dictionaries(HOSTILE_TEXT, MONEY.any(), max_size=2)
        | st.lists(st.dictionaries(st.sampled_from(["from", "rate"]), MONEY.any()),
                   max_size=2), max_size=3)),
}
UNKNOWN = Field(WRONG_TYPE)
# Status commands mostly name agents other than A1, so A1 stays active for long.
PATH = {"agent": st.sampled_from(["A1", "A2", "A3", "A4", "A5"]), "sale": IDS, "dispute": IDS,
        "alert": IDS | st.just("push-down:A1:x"),
        "period": st.sampled_from(["2026-01", "2099-12", "0001-01", "2026-13"])}


def command_routes() -> list[tuple[str, list[str]]]:
    """(path, body fields) of every POST that answers CommandAccepted, from the app's own
    routes (built once, without serving)."""
    from api.app import create_app
    from api.commands import CommandAccepted
    from config.settings import Settings

    app = create_app(Settings(database_url="postgresql://unused@127.0.0.1/unused", tenant="t"))
    found = []
    for r in app.routes:
        if (isinstance(r, APIRoute) and "POST" in r.methods and r.response_model is not None
                and issubclass(r.response_model, CommandAccepted)):
            model = r.body_field.field_info.annotation if r.body_field is not None else None
            found.append((r.path, list(getattr(model, "model_fields", {}))))
    return found


ROUTES = command_routes()


@st.composite
def call(draw: st.DrawFn) -> tuple[str, str, bytes]:
    path, known = draw(st.sampled_from(ROUTES))
    who = "agent" if path.startswith("/v1/me/") else "admin"
    path = re.sub(r"\{(\w+)\}", lambda m: draw(PATH[m.group(1)]), path)
    # A sane body (the ledger moves on), a sane body with one hostile field (it reaches
    # the rules and the projections whenever the schema lets it by), or a wild one.
    mode = draw(st.sampled_from(["sane", "one", "one", "wild"]))
    names = known if mode != "wild" else draw(st.lists(
        st.sampled_from([*known, "at", "cmd", "bogus"]), unique=True, max_size=len(known) + 2))
    spoilt = draw(st.sampled_from(names)) if mode == "one" and names else None
    body = {}
    for name in names:
        f = lines_field(path) if name == "lines" else FIELDS.get(name, UNKNOWN)
        body[name] = draw(f.bad if name == spoilt else f.sane if mode != "wild" else f.any())
    if draw(st.integers(0, 20)) == 0:
        return who, path, draw(st.sampled_from([b"[", b"null", b'"x"', b"1e999", b"\xff"]))
    return who, path, json.dumps(body).encode()


def test_every_command_endpoint_is_driven() -> None:
    assert len(ROUTES) >= 25, ROUTES


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(calls=st.lists(call(), min_size=1, max_size=8))
async def test_no_command_endpoint_lets_in_an_event_a_projection_cannot_take(
    api: Api, calls: list[tuple[str, str, bytes]]
) -> None:
    if await api.app.state.services.store.head(api.tenant) == 0:
        await brand(api)  # once: the fixture's tenant lives for every example
    TALLY["examples"] += 1
    for who, path, content in calls:
        answer = await api.client.post(path, content=content, headers={
            **api.auth(who), "content-type": "application/json"})
        TALLY[str(answer.status_code)] += 1
        assert answer.status_code < 500, (path, content[:300], answer.text)
        if answer.status_code >= 400:
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert answer.json()["rule"], answer.text
            TALLY[f"rule {answer.json()['rule']}"] += 1
    halted = await projections_halted(api)
    TALLY["halts"] += len(halted)
    assert halted == {}, (halted, calls)
    if TALLY["examples"] == EXAMPLES:
        print("\nproperty run:", dict(sorted(TALLY.items())))
