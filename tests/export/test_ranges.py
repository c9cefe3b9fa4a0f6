"""An export of any month stands on its own: it re-derives every statement it holds from
the signed opening events, carries every alert and dispute about the month whenever it
was recorded, and reads in a spreadsheet as numbers and dates."""

from __future__ import annotations

import calendar
import csv
import io
import json
import re
import zipfile
from datetime import date
from pathlib import Path

import asyncpg
import pytest

from eventstore.database import create_pool
from eventstore.postgres import PostgresEventStore
from export import format as f
from export.verify.archive import PASS
from projections.watchers import run_watchers
from tests.export.conftest import JOURNALS, Ledger, verified


def _commands(journal: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]


def middle_month(journal: Path) -> tuple[date, date]:
    months = sorted({str(c["at"])[:7] for c in _commands(journal)})
    year, month = map(int, months[len(months) // 2].split("-"))
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _rows(path: Path, name: str) -> list[dict[str, str]]:
    with zipfile.ZipFile(path) as z:
        return list(csv.DictReader(io.TextIOWrapper(z.open(name), encoding="utf-8-sig",
                                                    newline="")))


async def _export_month(ledger: Ledger, journal: Path, out: Path) -> tuple[date, date]:
    since, until = middle_month(journal)
    await ledger.cli("export", str(out), "--tenant", ledger.tenant(journal),
                     "--from", since.isoformat(), "--to", until.isoformat())
    return since, until


@pytest.mark.parametrize("journal", JOURNALS, ids=lambda j: j.stem)
async def test_a_month_in_the_middle_re_derives_every_statement_in_it(
    ledger: Ledger, journal: Path, tmp_path: Path
) -> None:
    out = tmp_path / "month.zip"
    since, until = await _export_month(ledger, journal, out)
    report = await verified(out)
    assert report.ok, report.text()
    assert all(v.status == PASS for v in report.verdicts), report.text()
    closed = [str(c["period"]) for c in _commands(journal) if c["cmd"] == "close_period"
              and since.isoformat() <= str(c["at"])[:10] <= until.isoformat()]
    expected = json.loads(journal.with_name(journal.stem + ".expected.json").read_text())
    want = {(p, a): t for p in closed for a, t in expected.get("statements", {}).get(p, {}).items()}
    listed = {(r["结算周期 period"], r["代理 agent"]): r["合计(元) total_cny"]
              for r in _rows(out, f.STATEMENTS)}
    # the expected files leave out agents with no lines; a 0% bracket statement is 0.00
    assert {k: t for k, t in listed.items() if t != "0.00"} == want
    statements = next(v for v in report.verdicts if v.check == "statements")
    assert statements.summary.startswith(f"{len(listed)} statements re-derived"), report.text()


async def test_the_middle_month_of_settlement_holds_januarys_close_to_the_fen(
    ledger: Ledger, tmp_path: Path
) -> None:
    """Scenario 03's February: its first event is January's close, whose sales are all
    before the range; the statements re-derive from the opening events alone."""
    journal = next(j for j in JOURNALS if j.stem == "03-settlement")
    out = tmp_path / "feb.zip"
    assert await _export_month(ledger, journal, out) == (date(2026, 2, 1), date(2026, 2, 28))
    with zipfile.ZipFile(out) as z:
        span = json.loads(z.read(f.MANIFEST))["range"]
    assert span["first_position"] > 1
    report = await verified(out)
    assert "PASS statements: 2 statements re-derived" in report.text(), report.text()
    assert {r["代理 agent"]: r["合计(元) total_cny"] for r in _rows(out, f.STATEMENTS)} == {
        "A1": "487.78", "B1": "54450.00"}


async def test_a_month_carries_every_alert_about_it_raised_later(ledger: Ledger,
                                                                 tmp_path: Path) -> None:
    """The watchers run over scenario 04 after it was imported, as a service does later:
    their alerts about March are recorded after the last event of the range."""
    journal = next(j for j in JOURNALS if j.stem == "04-alerts")
    await ledger.cli("keys", "init", "--tenant", "a04")
    await ledger.cli("import", str(journal), "--tenant", "a04", "--no-progress")
    pool = await create_pool(ledger.url, app_role="weiledger_app", size=2)
    try:
        assert await run_watchers(PostgresEventStore(pool), "a04") > 0
    finally:
        await pool.close()
    await ledger.cli("projections", "catch-up")
    out = tmp_path / "march.zip"
    since, until = middle_month(journal)
    await ledger.cli("export", str(out), "--tenant", "a04", "--from", since.isoformat(),
                     "--to", until.isoformat())
    with zipfile.ZipFile(out) as z:
        span = json.loads(z.read(f.MANIFEST))["range"]
    conn = await asyncpg.connect(ledger.url)
    try:
        about = await conn.fetch(
            "SELECT alert, position FROM rm_alerts.alerts WHERE tenant = 'a04' AND"
            " (raised_at AT TIME ZONE 'Asia/Shanghai')::date BETWEEN $1 AND $2", since, until)
    finally:
        await conn.close()
    assert about and all(r["position"] > span["last_position"] for r in about)
    alerts = _rows(out, f.ALERTS)
    assert {r["预警 alert"] for r in alerts} == {r["alert"] for r in about}
    assert (await verified(out)).ok
    # each number a column of its own, a cell a spreadsheet reads as a number
    numbers = [k for k in alerts[0] if k.startswith("数字 numbers: ")]
    hoarding = next(r for r in alerts if r["规则 rule"] == "hoarding-70")
    assert numbers and all("{" not in hoarding[k] for k in numbers)
    assert any(re.fullmatch(r"-?\d+(\.\d\d)?", hoarding[k]) for k in numbers), hoarding
    assert re.fullmatch(r"2026-03-\d\d \d\d:\d\d:\d\d", hoarding["发生时间 raised_at (+08:00)"])


async def test_cells_read_as_numbers_and_china_time(ledger: Ledger) -> None:
    path = ledger.exports["03-settlement"]
    orders = _rows(path, f.ORDERS)
    when = "时间 time (+08:00)"
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", r[when]) for r in orders)
    assert orders[0][when] == "2026-01-02 09:00:00"  # as the journal said, in China time
    returns = [r for r in orders if r["类型 kind"] == "退货 return"]
    assert returns and all(r["金额(元) amount_cny"].startswith("-") and int(r["数量 qty"]) < 0
                           for r in returns)
    # a column sums to what was kept: S3 sold 10 at 1,000.00, 3 returned
    s3 = sum(float(r["金额(元) amount_cny"]) for r in orders if r["单号 order"] == "S3")
    assert s3 == 7000.0


async def test_disputes_are_listed(ledger: Ledger, tmp_path: Path) -> None:
    journal = tmp_path / "dispute.jsonl"
    base = next(j for j in JOURNALS if j.stem == "03-settlement").read_text().splitlines()
    journal.write_text("\n".join([*base[:13], json.dumps(
        {"at": "2026-02-03T09:00:00+08:00", "cmd": "open_dispute", "dispute": "D1", "agent": "A1",
         "subject": "statement:2026-01", "text": "少算了"}), json.dumps(
        {"at": "2026-02-04T09:00:00+08:00", "cmd": "resolve_dispute", "dispute": "D1",
         "outcome": "partly-upheld", "adjustment": "-12.34", "text": "部分成立"})]) + "\n")
    await ledger.cli("keys", "init", "--tenant", "d03")
    await ledger.cli("import", str(journal), "--tenant", "d03", "--no-progress")
    out = tmp_path / "d.zip"
    await ledger.cli("export", str(out), "--tenant", "d03", "--from", "2026-02-01")
    rows = _rows(out, f.DISPUTES)
    assert [(r["申诉 dispute"], r["结果 outcome"], r["调整(元) adjustment_cny"],
             r["提出时间 opened_at (+08:00)"]) for r in rows] == [
        ("D1", "partly-upheld", "-12.34", "2026-02-03 09:00:00")]
    assert (await verified(out)).ok


async def test_refusals_are_listed_with_their_numbers_as_columns(ledger: Ledger,
                                                                 tmp_path: Path) -> None:
    journal = tmp_path / "refused.jsonl"
    base = next(j for j in JOURNALS if j.stem == "03-settlement").read_text().splitlines()
    journal.write_text("\n".join([*base[:13], json.dumps(
        {"at": "2026-02-03T09:00:00+08:00", "cmd": "sale", "sale": "S99", "seller": "A1",
         "customer": "C9", "lines": [{"sku": "GIFT-01", "qty": 100, "unit_price": "1000.00"}]}),
        ]) + "\n")
    await ledger.cli("keys", "init", "--tenant", "q03")
    await ledger.cli("import", str(journal), "--tenant", "q03", "--no-progress")
    whole, january = tmp_path / "whole.zip", tmp_path / "jan.zip"
    await ledger.cli("export", str(whole), "--tenant", "q03")
    await ledger.cli("export", str(january), "--tenant", "q03", "--to", "2026-01-20")
    rows = _rows(whole, f.REFUSALS)
    assert [(r["命令 command"], r["规则 rule"], r["代理 agent"], r["数字 numbers: qty"],
             r["数字 numbers: on_hand"], r["业务时间 business_time (+08:00)"]) for r in rows] == [
        ("sale", "insufficient-stock", "A1", "100", "17", "2026-02-03 09:00:00")]
    assert _rows(january, f.REFUSALS) == []  # refused on a ledger past January's range
    assert (await verified(whole)).ok
