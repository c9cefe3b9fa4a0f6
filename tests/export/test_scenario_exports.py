"""An export of each sample journal verifies offline, statements equal to the fen."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import zipfile

import pytest

from export import format as f
from export.verify.archive import PASS
from tests.conftest import ROOT, run_cli
from tests.export.conftest import JOURNALS, Ledger, verified


@pytest.mark.parametrize("journal", JOURNALS, ids=lambda j: j.stem)
async def test_the_export_of_a_sample_journal_verifies(ledger: Ledger, journal) -> None:
    report = await verified(ledger.exports[journal.stem])
    assert report.ok, report.text()
    assert [v.check for v in report.verdicts if v.status == PASS] == [
        "archive", "signature", "files", "chain", "log", "opening", "checkpoints", "arithmetic",
        "statements"]
    checkpoints = next(v for v in report.verdicts if v.check == "checkpoints")
    assert " 0 Merkle roots" not in checkpoints.summary  # every journal signs some range


def _statements(path) -> dict[str, dict[str, str]]:
    with zipfile.ZipFile(path) as z:
        text = io.TextIOWrapper(z.open(f.STATEMENTS), encoding="utf-8-sig", newline="")
        found: dict[str, dict[str, str]] = {}
        for row in csv.DictReader(text):
            found.setdefault(row["结算周期 period"], {})[row["代理 agent"]] = (
                row["合计(元) total_cny"])
    return found


@pytest.mark.parametrize("journal", JOURNALS, ids=lambda j: j.stem)
async def test_exported_statements_are_the_journals_expected_ones(ledger: Ledger,
                                                                  journal) -> None:
    expected = json.loads(journal.with_name(journal.stem + ".expected.json").read_text())
    want = {p: {a: t for a, t in by.items() if t != "0.00"}
            for p, by in expected.get("statements", {}).items()}
    report = await verified(ledger.exports[journal.stem])
    statements = next(v for v in report.verdicts if v.check == "statements")
    assert statements.status == PASS, report.text()
    got = _statements(ledger.exports[journal.stem])
    # "agents with no lines are left out" of the expected files; a statement of 0%
    # bracket lines totals 0.00 and is left out here too
    got = {p: kept for p, by in got.items() if (kept := {a: t for a, t in by.items()
                                                         if t != "0.00"})}
    assert got == want


async def test_verify_export_runs_with_no_database_reachable(ledger: Ledger) -> None:
    path = ledger.exports["03-settlement"]
    done = run_cli("verify-export", str(path), database="postgresql://nobody@127.0.0.1:9/none")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS statements: 3 statements re-derived" in done.stdout
    assert done.stdout.rstrip().endswith("VERDICT: the export verifies")


def test_the_verifier_imports_no_database_driver() -> None:
    probe = ("import sys, export.verify.archive; "
             "bad = [m for m in ('asyncpg', 'psycopg', 'eventstore.postgres', 'projections') "
             "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


async def test_a_date_range_verifies_from_its_first_prev_hash_and_opening(ledger: Ledger,
                                                                         tmp_path) -> None:
    out = tmp_path / "range.zip"
    await ledger.cli("export", str(out), "--tenant", "s03", "--from", "2026-01-10",
                     "--to", "2026-01-31")
    with zipfile.ZipFile(out) as z:
        span = json.loads(z.read(f.MANIFEST))["range"]
        events = [json.loads(line) for line in z.read(f.EVENTS).splitlines()]
    assert span["first_position"] > 1 and not span["from_beginning"]
    assert events[0]["prev_hash"] == span["start_prev_hash"] != "00" * 32
    # up to the last sale of January: the close happens at 2026-02-01 00:00 CST, past --to
    assert [e["position"] for e in events] == list(range(14, 22))
    assert all(e["business_time"] < "2026-01-31T16:00" for e in events)  # in UTC
    report = await verified(out)
    assert report.ok, report.text()
    # of the 13 events before it, those settlement reads, proven by their leaves: the
    # two joins and the three sales (the product and the purchases only as hashes)
    opening = next(v for v in report.verdicts if v.check == "opening")
    assert opening.summary.startswith("5 events before the range proven"), report.text()
    log = next(v for v in report.verdicts if v.check == "log")
    assert "positions 1..21 is the signed one (13 before the range)" in log.summary
