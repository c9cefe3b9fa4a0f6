"""The public sample journals, sent line by line through the HTTP API (not the
importer), give the outcomes their expected files state; reads go through the API too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import Api
from tests.api.journal_http import to_request
from tests.support import eventually

SCENARIOS = Path(__file__).parents[2].parent / "shared" / "scenarios"


def _cases() -> list[Any]:
    return [
        pytest.param(path.read_text("utf-8").splitlines(),
                     json.loads(path.with_suffix(".expected.json").read_text("utf-8")),
                     id=path.stem)
        for path in sorted(SCENARIOS.glob("*.jsonl"))
    ]


async def _replay(api: Api, lines: list[str]) -> tuple[dict[int, str], int]:
    refused: dict[int, str] = {}
    last = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        path, body = to_request(line)
        answer = await api.call("POST", path, json=body, key=f"line-{number}")
        if answer.status_code == 201:
            last = answer.json()["last_position"] or last
        else:
            assert answer.status_code in (409, 422), (number, answer.text)
            problem = answer.json()
            assert answer.headers["content-type"] == "application/problem+json"
            assert problem["rule"] != "malformed", (number, problem)
            refused[number] = problem["rule"]
    return refused, last


async def _alerts(api: Api) -> set[tuple[str, str]]:
    """(rule, agent) of every alert the API shows, all pages."""
    found = set()
    cursor = None
    while True:
        page = (await api.call("GET", "/v1/alerts",
                               params={"limit": 500, **({"cursor": cursor} if cursor else {})}
                               )).json()
        found |= {(a["rule"], a["agent"]) for a in page["items"]}
        cursor = page["next_cursor"]
        if cursor is None:
            return found


@pytest.mark.parametrize(("lines", "expected"), _cases())
async def test_journal_over_http_gives_its_expected_outcomes(
    api: Api, lines: list[str], expected: dict[str, Any]
) -> None:
    refused, last = await _replay(api, lines)
    fresh = {"min_position": last}

    if "refused" in expected:
        assert refused == {int(n): rule for n, rule in expected["refused"].items()}
    for agent, facts in expected.get("agents", {}).items():
        found = (await api.call("GET", f"/v1/agents/{agent}")).json()
        assert {k: found[k] for k in ("depth", "tier", "status")} == facts, agent
    for agent, units in expected.get("stock", {}).items():
        held = (await api.call("GET", f"/v1/agents/{agent}/stock", params=fresh)).json()
        assert {sku: held["units"].get(sku, 0) for sku in units} == units, agent
    if "statements" in expected or "tax_flags" in expected:
        page = (await api.call("GET", "/v1/statements",
                               params={**fresh, "limit": 500})).json()
        totals: dict[str, dict[str, str]] = {}
        flagged: dict[str, list[str]] = {}
        for st in page["items"]:
            totals.setdefault(st["period"], {})[st["agent"]] = st["total"]
            if st["tax_flag"]:
                flagged.setdefault(st["period"], []).append(st["agent"])
        if "statements" in expected:
            assert totals == expected["statements"]
        if "tax_flags" in expected:
            assert {p: sorted(a) for p, a in flagged.items()} == expected["tax_flags"]
    if "alerts" in expected:
        want = {(rule, agent) for rule, agent in expected["alerts"]}
        exhaustive = bool(expected.get("alerts_exhaustive"))
        # The watchers and the read model run in the background: they catch up in time.
        await eventually(lambda: _alerts(api),
                         f"{'exactly' if exhaustive else 'at least'} the alerts {sorted(want)}",
                         until=lambda found: found == want if exhaustive else want <= found,
                         every=0.2)
