"""The limits of domain.bounds, as the journal parser applies them to every way in:
each hostile line below is malformed (with the limit and the value that broke it),
where before it became a command and, recorded, halted a projection or verify-payouts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from domain import bounds
from domain.importing import Summary, read_journal
from domain.journal import Malformed, parse_command, parse_line
from tests.unit.world import join, line, world

AT = "2026-01-12T09:00:00+08:00"


def sale(*lines: dict[str, Any], **extra: Any) -> str:
    return line(AT, "sale", sale="S9", seller="A2", lines=list(lines), **extra)


HOSTILE: list[tuple[str, str, dict[str, Any]]] = [
    (line(AT, "product", sku="T", name="tea", retail_price="1" + "0" * 15), "beyond 100000.00",
     {"amount": "1000000000000000.00", "limit": "100000.00"}),
    (line(AT, "product", sku="T", name="tea", retail_price="1" + "0" * 30), "decimal amount",
     {}),
    (line(AT, "product", sku="T", name="tea", retail_price="1e3"), "decimal amount", {}),
    (line(AT, "product", sku="T", name="tea", retail_price=" 99.00"), "decimal amount", {}),
    (line(AT, "product", sku="T\u0000", name="tea", retail_price="9.00"), "U+0000",
     {"character": "U+0000"}),
    (line(AT, "product", sku="T", name="t\u009bea", retail_price="9.00"), "U+009B",
     {"character": "U+009B"}),
    (sale({"sku": "TEA-01", "qty": 1, "unit_price": "100000.01"}), "beyond 100000.00",
     {"amount": "100000.01", "limit": "100000.00"}),
    (sale({"sku": "TEA-01", "qty": 100_001, "unit_price": "1.00"}), "from 1 to 100000",
     {"sku": "TEA-01", "qty": 100_001, "limit": 100_000}),
    (sale({"sku": "A", "qty": 50_000, "unit_price": "1.00"},
          {"sku": "B", "qty": 50_001, "unit_price": "1.00"}), "100001 units",
     {"qty": 100_001, "limit": 100_000}),
    (sale(*({"sku": f"S{i}", "qty": 1, "unit_price": "1.00"} for i in range(51))),
     "more than 50 lines", {"limit": 50, "lines": 51}),
    (sale({"sku": "X" * 65, "qty": 1, "unit_price": "1.00"}), "longer than 64",
     {"limit": 64, "length": 65}),
    (line(AT, "open_dispute", dispute="D1", agent="A2", subject="sale:S1", text="x" * 501),
     "longer than 500", {"limit": 500, "length": 501}),
    (line("9999-01-01T00:00:00+08:00", "tick"), "years 2000 to 2099",
     {"year": 9999, "first": 2000, "last": 2099}),
    (line("1900-01-01T00:00:00+08:00", "tick"), "years 2000 to 2099",
     {"year": 1900, "first": 2000, "last": 2099}),
    (line(AT, "policy", effective_from="1900-01-01T00:00:00+08:00"), "years 2000 to 2099",
     {"year": 1900, "first": 2000, "last": 2099}),
    (line(AT, "resolve_dispute", dispute="D1", outcome="upheld", adjustment="1" + "0" * 12),
     "beyond 10000000000.00", {"amount": "1000000000000.00", "limit": "10000000000.00"}),
    (line(AT, "policy", promotion={"vip": {"own": "1.00", "x": [[[[[[[[1]]]]]]]]}}),
     "nested deeper", {"limit": bounds.MAX_DEPTH}),
    (join(AT, "X\u2028\u0000", "A1", "vip", 4), "U+0000", {"character": "U+0000"}),
]


@pytest.mark.parametrize(("text", "what", "numbers"), HOSTILE)
def test_a_line_beyond_the_bounds_is_malformed_and_says_which_bound(
    text: str, what: str, numbers: dict[str, Any]
) -> None:
    with pytest.raises(Malformed) as malformed:
        parse_line(text)
    assert what in str(malformed.value)
    assert malformed.value.numbers == numbers


def test_a_lone_surrogate_is_no_text() -> None:
    text = '{"at": "2026-01-12T09:00:00+08:00", "cmd": "answer_dispute", "dispute": "D1",' \
           ' "text": "a\\ud800b"}'
    assert "\ud800" in json.loads(text)["text"]
    with pytest.raises(Malformed, match="U\\+D800"):
        parse_line(text)


def test_nesting_too_deep_for_json_itself_is_malformed_not_a_crash() -> None:
    with pytest.raises(Malformed, match="nested deeper"):
        parse_line('{"at": "x", "cmd": "policy", "promotion": ' + "[" * 100_000 + "]" * 100_000
                   + "}")


@pytest.mark.parametrize("qty", [True, "1", " 1", 1.5, 0, -1])
def test_a_quantity_is_a_positive_integer_whichever_way_it_came(qty: Any) -> None:
    with pytest.raises(Malformed):
        parse_command({"at": AT, "cmd": "sale", "sale": "S9", "seller": "A2",
                       "lines": [{"sku": "TEA-01", "qty": qty, "unit_price": "99.00"}]})


def test_the_bounds_themselves_are_accepted() -> None:
    parse_line(sale({"sku": "A", "qty": 1_000, "unit_price": "100000.00"}))  # 100,000,000.00
    parse_line(sale({"sku": "A", "qty": 100_000, "unit_price": "1000.00"}))
    with pytest.raises(Malformed, match=r"amount: 100000000\.01 is beyond 100000000\.00"):
        parse_line(sale({"sku": "A", "qty": 1_000, "unit_price": "100000.00"},
                        {"sku": "B", "qty": 1, "unit_price": "0.01"}))
    parse_line(line(AT, "product", sku="X" * 64, name="n" * 500, retail_price="100000.00"))
    parse_line(line("2000-01-01T00:00:00+00:00", "tick"))
    parse_line(line("2099-12-31T23:59:59+08:00", "tick"))
    # 10,000,000,000.00 CNY: 100,000 units at 100,000.00, the most a purchase priced by
    # the tier (no unit_price given) can move
    assert bounds.MAX_QTY * bounds.MAX_UNIT_PRICE_FEN == 10**12


@pytest.mark.parametrize(("document", "what"), [
    ({"promotion": 5}, "promotion must be an object"),  # was an AttributeError: a 500
    ({"late_entry_hours": 10**30}, "from 0 to 100000"),  # every command's timedelta overflowed
    ({"return_days": -1}, "from 0 to 100000"),
    ({"price_ceiling": "0.5"}, "from 1 to 100"),
])
async def test_a_policy_document_out_of_shape_is_malformed_before_it_is_issued(
    document: dict[str, Any], what: str
) -> None:
    w = await world()
    head = await w.head()
    with pytest.raises(Malformed, match=what):
        await w.handle(line(AT, "policy", **document))
    assert await w.head() == head


@pytest.mark.parametrize(("text", "what", "numbers"), [
    *HOSTILE,
    ('{"at": "2026-01-12T09:00:00+08:00", "cmd": "warn", "agent": "A1", "reason": "a\\ud800b"}',
     "U+D800", {"character": "U+D800"}),
    (line(AT, "warn", agent="A1", reason="a\x7fb"), "U+007F", {"character": "U+007F"}),
    ('{"at": "2026-01-12T09:00:00+08:00", "cmd": "tick", "x": 1.5}', "has a fraction", {}),
])
def test_an_imported_line_beyond_the_bounds_is_malformed_too(
    text: str, what: str, numbers: dict[str, Any]
) -> None:
    """The importer looks at a short plain line's values at once (journal.plain_text),
    not one by one: it finds every line beyond the bounds all the same."""
    summary = Summary()
    assert read_journal([text], summary) == []
    assert len(summary.malformed) == 1 and what in summary.malformed[0][1]
