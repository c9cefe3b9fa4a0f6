"""An export proves it extends an earlier one (verify-export NEW --after OLD), offline,
and names the first position where history between the two was rewritten."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from tests.conftest import run_cli
from tests.export.conftest import JOURNALS, Ledger, position_of, rewrite_history, verified

JOURNAL = next(j for j in JOURNALS if j.stem == "03-settlement")
JANUARY = 13  # lines of the journal up to January's close


async def _ledger_in_two_steps(ledger: Ledger, tenant: str, tmp_path: Path) -> Path:
    """Import January, export it (OLD), then the rest of the journal."""
    lines = JOURNAL.read_text().splitlines(keepends=True)
    (tmp_path / "jan.jsonl").write_text("".join(lines[:JANUARY]))
    (tmp_path / "rest.jsonl").write_text("".join(lines[JANUARY:]))
    await ledger.cli("keys", "init", "--tenant", tenant)
    await ledger.cli("import", str(tmp_path / "jan.jsonl"), "--tenant", tenant, "--no-progress")
    old = tmp_path / "old.zip"
    await ledger.cli("export", str(old), "--tenant", tenant)
    await ledger.cli("import", str(tmp_path / "rest.jsonl"), "--tenant", tenant, "--no-progress")
    return old


async def test_consecutive_exports_extend_each_other(ledger: Ledger, tmp_path: Path) -> None:
    old = await _ledger_in_two_steps(ledger, "e03", tmp_path)
    new, february = tmp_path / "new.zip", tmp_path / "feb.zip"
    await ledger.cli("export", str(new), "--tenant", "e03")
    await ledger.cli("export", str(february), "--tenant", "e03", "--from", "2026-02-02")
    report = await verified(new, after=old)
    assert report.ok, report.text()
    after = next(v for v in report.verdicts if v.check == "after")
    assert "unchanged: RFC 6962 consistency proof of" in after.summary
    # a range that starts after the old export ends proves it all the same, by its
    # prefix; and so says the command line, with no database at hand
    done = run_cli("verify-export", str(february), "--after", str(old),
                   database="postgresql://nobody@127.0.0.1:9/none")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS after: old.zip: positions 1.." in done.stdout
    # the other way round is no extension
    backwards = await verified(old, after=new)
    assert "FAIL after: the new export's log ends at position" in backwards.text()


async def test_history_rewritten_between_two_exports_is_named_by_position(
    ledger: Ledger, tmp_path: Path
) -> None:
    old = await _ledger_in_two_steps(ledger, "r03", tmp_path)
    sale = await position_of(ledger.url, "r03", "RetailSaleRecorded",
                             lambda d: d["sale"] == "S4")

    def other_customer(d: dict[str, Any]) -> None:
        d["customer"] = "C9"

    await rewrite_history(ledger.url, "r03", sale, other_customer)  # as a superuser would
    # and, holding the host too, the checkpoint receipts kept beside the keys, if any:
    # only the earlier export still knows the old log
    shutil.rmtree(ledger.folder / "keys" / "receipts" / "r03", ignore_errors=True)
    new = tmp_path / "new.zip"
    await ledger.cli("export", str(new), "--tenant", "r03")
    report = await verified(new, after=old)
    assert not report.ok
    assert f"FAIL after: 2 faults, first the logs diverge at position {sale}:" in report.text()
    assert "consistency proof from size" in report.failing()
    done = run_cli("verify-export", str(new), "--after", str(old), database=ledger.url)
    assert done.returncode == 1 and f"diverge at position {sale}" in done.stdout
