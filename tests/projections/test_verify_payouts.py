"""`weiledger verify-payouts` re-derives every statement and names any difference: between
the sales events and the StatementIssued events, and between those and the read model
the API serves (its stated totals and line counts as much as its lines)."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from tests.conftest import ROOT, run_cli

# Every scenario imported and verified through the CLI, in subprocesses.
pytestmark = pytest.mark.slow

SCENARIOS = sorted((ROOT.parent / "shared" / "scenarios").glob("*.jsonl"))


async def imported(database: str, *journals) -> None:
    for journal in journals:
        done = await asyncio.to_thread(
            run_cli, "import", str(journal), "--tenant", journal.stem, "--no-progress",
            database=database,
        )
        assert done.returncode == 0, done.stdout + done.stderr


async def test_the_scenarios_verify_with_no_differences(fresh_database):
    await imported(fresh_database, *SCENARIOS)
    done = await asyncio.to_thread(run_cli, "verify-payouts", database=fresh_database)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"verified the statements of {len(SCENARIOS)} tenant(s): no differences" in done.stdout


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "UPDATE rm_statements.lines SET amount_fen = amount_fen + 1"
            " WHERE tenant = '03-settlement' AND agent = 'A1' AND period = '2026-02' AND n = 3",
            "DIFFERENT 03-settlement 2026-02 A1: line 3 amount_fen issued events -6000,"
            " statements table -5999",
        ),
        (
            "DELETE FROM rm_statements.statements WHERE tenant = '03-settlement' AND agent = 'B1'",
            "DIFFERENT 03-settlement 2026-01 B1: no statement in statements table",
        ),
        (  # what the API serves as the total, its lines left alone
            "UPDATE rm_statements.statements SET total_fen = total_fen + 10000"
            " WHERE tenant = '03-settlement' AND agent = 'A1' AND period = '2026-01'",
            "DIFFERENT 03-settlement 2026-01 A1: statements table states total 58778 fen,"
            " its lines sum to 48778",
        ),
        (
            "UPDATE rm_statements.statements SET lines = lines - 1"
            " WHERE tenant = '03-settlement' AND agent = 'A1' AND period = '2026-01'",
            "DIFFERENT 03-settlement 2026-01 A1: statements table states 5 lines, holds 6",
        ),
    ],
)
async def test_a_statement_changed_in_the_tables_is_found(fresh_database, sql, expected):
    await imported(fresh_database, SCENARIOS[2])
    clean = await asyncio.to_thread(run_cli, "verify-payouts", database=fresh_database)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    conn = await asyncpg.connect(fresh_database)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()
    done = await asyncio.to_thread(run_cli, "verify-payouts", database=fresh_database)
    assert done.returncode == 1
    assert expected in done.stdout


async def test_a_total_changed_inside_a_statement_issued_event_is_found(fresh_database):
    """An insider rewrites the event itself (the append-only trigger bypassed): the chain
    breaks there, and verify-payouts names the statement whose stated total departs from
    its lines and from what the sales re-derive."""
    await imported(fresh_database, SCENARIOS[2])
    conn = await asyncpg.connect(fresh_database)
    try:
        await conn.execute("SET session_replication_role = replica")
        changed = await conn.execute(
            "UPDATE events SET payload = convert_to(replace(convert_from(payload, 'UTF8'),"
            " '\"total_fen\":48778', '\"total_fen\":58778'), 'UTF8')"
            " WHERE tenant = '03-settlement' AND name = 'StatementIssued'"
            " AND convert_from(payload, 'UTF8') LIKE '%\"total_fen\":48778%'"
        )
        assert changed == "UPDATE 1"
    finally:
        await conn.close()
    done = await asyncio.to_thread(run_cli, "verify-payouts", database=fresh_database)
    assert done.returncode == 1
    assert ("DIFFERENT 03-settlement 2026-01 A1: StatementIssued states total 58778 fen,"
            " its lines sum to 48778") in done.stdout
    assert ("DIFFERENT 03-settlement 2026-01 A1: total re-derived 48778 fen,"
            " issued events 58778") in done.stdout
