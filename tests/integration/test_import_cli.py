"""`weiledger import`: a journal through the real command line, with its summary."""

from __future__ import annotations

import asyncio
import shutil

from tests.conftest import ROOT, run_cli

SCENARIOS = ROOT.parent / "shared" / "scenarios"


async def test_import_prints_accepted_and_refused_per_rule_with_line_numbers(
    fresh_database, tmp_path
):
    journal = tmp_path / "02.jsonl"
    shutil.copy(SCENARIOS / "02-stock-and-sales.jsonl", journal)
    done = await asyncio.to_thread(
        run_cli, "import", str(journal), "--tenant", "brand", "--no-progress",
        database=fresh_database,
    )
    assert done.returncode == 0, done.stderr
    assert "23 lines: 12 accepted" in done.stdout
    assert "refused not-your-downline: 2 (lines 9, 10)" in done.stdout
    assert "refused insufficient-stock: 2 (lines 11, 15)" in done.stdout

    again = await asyncio.to_thread(
        run_cli, "import", str(journal), "--tenant", "brand", "--no-progress",
        database=fresh_database,
    )
    assert "(12 already recorded)" in again.stdout  # re-importing records nothing new
    verified = await asyncio.to_thread(run_cli, "db", "verify-chain", database=fresh_database)
    assert verified.returncode == 0


async def test_a_malformed_line_is_named_and_nothing_of_it_is_recorded(fresh_database, tmp_path):
    journal = tmp_path / "bad.jsonl"
    journal.write_text(
        '{"at": "2026-01-01T09:00:00+08:00", "cmd": "product", "sku": "T", "name": "茶",'
        ' "retail_price": "99.00"}\n'
        '{"at": "2026-01-02T09:00:00+08:00", "cmd": "sale", "sale": "S1"\n',
        encoding="utf-8",
    )
    done = await asyncio.to_thread(
        run_cli, "import", str(journal), "--tenant", "brand", "--no-progress",
        database=fresh_database,
    )
    assert done.returncode == 1
    assert "malformed line 2: not JSON" in done.stdout
    assert "2 lines: 1 accepted" in done.stdout
