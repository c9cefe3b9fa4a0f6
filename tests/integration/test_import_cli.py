"""`weiledger import`: a journal through the real command line, with its summary."""

from __future__ import annotations

import asyncio
import json
import shutil

import asyncpg

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
    assert "2 lines, 1 malformed: nothing recorded" in done.stdout


def _lines(name: str) -> list[bytes]:
    return (SCENARIOS / name).read_bytes().splitlines()


async def _events(database: str) -> int:
    conn = await asyncpg.connect(database)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM events"))
    finally:
        await conn.close()


async def _import(database: str, journal, *more: str):
    return await asyncio.to_thread(
        run_cli, "import", str(journal), "--tenant", "brand", "--no-progress", *more,
        database=database,
    )


async def test_a_journal_with_bad_lines_records_nothing_and_names_every_bad_line(
    fresh_database, tmp_path
):
    """Before: a malformed line 6 exited 1 having recorded the lines before it; a line
    that is not UTF-8 was a traceback with a byte offset into the file."""
    good = _lines("02-stock-and-sales.jsonl")
    journal = tmp_path / "bad.jsonl"
    not_utf8 = b'{"at": "2026-01-20T09:00:00+08:00", "cmd": "tick", "x": "\xff"}'
    journal.write_bytes(
        b"\n".join([*good[:5], b'{"cmd": "tick"', *good[5:9], not_utf8, *good[9:]]) + b"\n"
    )
    done = await _import(fresh_database, journal)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "malformed line 6: not JSON" in done.stdout
    assert "malformed line 11: not UTF-8" in done.stdout
    assert f"{len(good) + 2} lines, 2 malformed: nothing recorded" in done.stdout
    assert await _events(fresh_database) == 0


async def test_a_nul_in_a_sku_is_a_malformed_line_not_a_database_error(fresh_database, tmp_path):
    journal = tmp_path / "nul.jsonl"
    journal.write_bytes(_lines("02-stock-and-sales.jsonl")[0] + b"\n" + (
        b'{"at": "2026-01-02T09:00:00+08:00", "cmd": "product", "sku": "T\\u0000",'
        b' "name": "x", "retail_price": "9.90"}\n'))
    done = await _import(fresh_database, journal)
    assert (done.returncode, "Traceback" in done.stderr) == (1, False)
    assert "malformed line 2" in done.stdout
    assert await _events(fresh_database) == 0


async def test_a_dry_run_judges_every_line_in_order_and_records_nothing(fresh_database, tmp_path):
    """The same report as the import itself, judged against the ledger as it stands:
    half the journal imported first, the whole of it then dry-run and imported."""
    lines = _lines("02-stock-and-sales.jsonl")
    half, whole = tmp_path / "half.jsonl", tmp_path / "whole.jsonl"
    half.write_bytes(b"\n".join(lines[:12]) + b"\n")
    whole.write_bytes(b"\n".join(lines) + b"\n")
    assert (await _import(fresh_database, half)).returncode == 0
    before = await _events(fresh_database)
    dry = await _import(fresh_database, whole, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "dry run: nothing recorded" in dry.stdout
    assert await _events(fresh_database) == before
    real = await _import(fresh_database, whole)
    assert dry.stdout.replace("dry run: nothing recorded\n", "") == real.stdout
    assert "refused insufficient-stock: 2 (lines 11, 15)" in real.stdout
    assert await _events(fresh_database) > before


async def _rows(database: str) -> dict[str, int]:
    conn = await asyncpg.connect(database)
    try:
        return {table: int(await conn.fetchval(f"SELECT count(*) FROM {table}")) for table in (
            "events", "idempotency_keys", "refusals", "identity_digests", "personal_data_keys")}
    finally:
        await conn.close()


async def test_a_dry_run_records_nothing_and_prints_and_writes_the_same_report(
    fresh_database, tmp_path
):
    """The reconciliation report: per command kind, lines read, accepted, refused by
    rule with each line's numbers, malformed; printed, and written as JSON and CSV
    beside the journal or where --report says. A dry run records nothing anywhere (no
    event, key, refusal, personal data key or identity claim) and reports the same."""
    journal = tmp_path / "02.jsonl"
    shutil.copy(SCENARIOS / "02-stock-and-sales.jsonl", journal)
    before = await _rows(fresh_database)
    dry = await _import(fresh_database, journal, "--dry-run", "--report", str(tmp_path / "dry"))
    assert dry.returncode == 0, dry.stderr
    assert await _rows(fresh_database) == before
    dry_json = json.loads((tmp_path / "dry.json").read_text("utf-8"))
    dry_csv = (tmp_path / "dry.csv").read_text("utf-8")

    real = await _import(fresh_database, journal)
    assert real.returncode == 0, real.stderr
    assert (await _rows(fresh_database))["events"] > 0
    assert dry.stdout.replace("dry run: nothing recorded\n", "").replace(
        f"{tmp_path}/dry.json, {tmp_path}/dry.csv", f"{tmp_path}/02.report.json,"
        f" {tmp_path}/02.report.csv") == real.stdout
    report = json.loads((tmp_path / "02.report.json").read_text("utf-8"))
    assert {**dry_json, "recorded": True} == report and dry_json["recorded"] is False
    assert (tmp_path / "02.report.csv").read_text("utf-8") == dry_csv
    # What the report says, line by line: scenario 02's expected refusals.
    table = [line.split() for line in real.stdout.splitlines()]
    assert ["purchase", "6", "2", "4", "0"] in table and ["all", "23", "12", "11", "0"] in table
    assert "  line 14: sku TEA-01, unit_price 80.00, floor 89.10, retail_price 99.00" \
        in real.stdout
    assert report["kinds"]["sale"]["refused"]["price-floor"] == [
        {"line": 14, "numbers": {"sku": "TEA-01", "unit_price": "80.00", "floor": "89.10",
                                 "retail_price": "99.00"}}]
    assert "sale,refused,price-floor,1,14," in dry_csv
