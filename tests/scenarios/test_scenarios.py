"""Every sample journal in ../shared/scenarios, run against a fresh ledger, must produce
exactly the outcomes its expected file states (only the keys present are checked).

A file added there later is picked up without code changes; a key nothing answers
fails loudly. Alerts come from the compliance watchers, run over the log after the
journal, as the service runs them after each command.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from domain.importing import run_journal
from domain.ledger import Ledger
from domain.money import format_cny
from domain.ports import EventStore
from domain.settlement.history import replay
from eventstore.memory_vault import InMemoryKeyVault
from projections.watchers import raised_alerts, run_watchers

SCENARIOS = Path(__file__).parents[2].parent / "shared" / "scenarios"
ANSWERED = {"refused", "agents", "stock", "statements", "tax_flags", "alerts", "alerts_exhaustive"}


def _cases() -> list[Any]:
    cases = []
    for journal in sorted(SCENARIOS.glob("*.jsonl")):
        expected = json.loads(journal.with_suffix(".expected.json").read_text("utf-8"))
        lines = journal.read_text("utf-8").splitlines()
        cases.append(pytest.param(lines, expected, id=journal.stem))
    return cases


def test_the_scenario_folder_is_found() -> None:
    assert len(list(SCENARIOS.glob("*.jsonl"))) >= 4, SCENARIOS


@pytest.mark.parametrize(("lines", "expected"), _cases())
async def test_journal_produces_its_expected_outcomes(
    lines: list[str], expected: dict[str, Any], store: EventStore, tenant: str
) -> None:
    vault = InMemoryKeyVault()
    summary = await run_journal(store, vault, tenant, lines)
    ledger = Ledger(store, vault)

    assert summary.malformed == []
    if "refused" in expected:
        want = {int(n): rule for n, rule in expected["refused"].items()}
        assert summary.refused_lines == want
        assert summary.accepted == summary.lines - len(want)
    for agent, facts in expected.get("agents", {}).items():
        view = await ledger.agents.get(tenant, agent)
        assert view is not None, f"agent {agent} is not in the ledger"
        assert {"depth": view.depth, "tier": view.tier, "status": view.status} == facts
    for agent, units in expected.get("stock", {}).items():
        held = await ledger.orders.stock(tenant, agent)
        assert {sku: held.get(sku, 0) for sku in units} == units, agent
    if "statements" in expected or "tax_flags" in expected:
        issued = (await replay(store, tenant)).issued
        if "statements" in expected:
            totals = {
                period: {st.agent: format_cny(st.total_fen) for st in statements}
                for period, statements in issued.items()
            }
            assert totals == expected["statements"]
        if "tax_flags" in expected:
            flagged = {
                period: sorted(st.agent for st in statements if st.tax_flag)
                for period, statements in issued.items()
            }
            assert {p: a for p, a in flagged.items() if a} == expected["tax_flags"]
    if "alerts" in expected:
        await run_watchers(store, tenant)
        raised = await raised_alerts(store, tenant)
        want = {(rule, agent) for rule, agent in expected["alerts"]}
        assert want <= raised, f"not raised: {sorted(want - raised)}"
        if expected.get("alerts_exhaustive"):
            assert raised == want, f"raised beyond the expected: {sorted(raised - want)}"
    unanswered = set(expected) - ANSWERED
    if unanswered:
        pytest.fail(f"no implementation answers {sorted(unanswered)} yet (issue #4)")
