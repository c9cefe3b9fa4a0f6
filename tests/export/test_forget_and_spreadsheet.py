"""Personal data in an export: masked, gone after `forget`, amounts unchanged; and the
CSV files open in a spreadsheet with their Chinese text intact."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

from export import format as f
from tests.export.conftest import SCENARIOS, Ledger, verified

JOURNAL = SCENARIOS / "03-settlement.jsonl"


def _person(agent: str) -> dict[str, str]:
    for line in JOURNAL.read_text(encoding="utf-8").splitlines():
        cmd = json.loads(line)
        if cmd["cmd"] == "join" and cmd["agent"] == agent:
            return cmd
    raise LookupError(agent)


def _files(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


async def test_after_forget_an_export_holds_no_trace_of_the_person_and_verifies(
    ledger: Ledger, tmp_path: Path
) -> None:
    tenant = "forget03"
    person = _person("A1")
    clear = [person[k].encode() for k in ("name", "id_number", "phone")]
    masked_id = (person["id_number"][:6] + "********" + person["id_number"][-4:]).encode()
    await ledger.cli("keys", "init", "--tenant", tenant)
    await ledger.cli("import", str(JOURNAL), "--tenant", tenant, "--no-progress")
    await ledger.cli("export", str(tmp_path / "before.zip"), "--tenant", tenant)
    forget = tmp_path / "forget.jsonl"
    forget.write_text(json.dumps({"at": "2026-03-02T09:00:00+08:00", "cmd": "forget",
                                  "agent": "A1"}) + "\n", encoding="utf-8")
    assert "1 accepted" in await ledger.cli("import", str(forget), "--tenant", tenant,
                                            "--no-progress")
    await ledger.cli("export", str(tmp_path / "after.zip"), "--tenant", tenant)

    before, after = _files(tmp_path / "before.zip"), _files(tmp_path / "after.zip")
    for name, data in before.items():  # masked before: never the clear text
        assert not [c for c in clear if c in data], name
    assert masked_id in before[f.AGENTS]
    for name, data in after.items():  # erased after: not even the masked form
        assert not [c for c in [*clear, masked_id] if c in data], name
    rows = list(csv.reader(io.StringIO(after[f.AGENTS].decode("utf-8-sig"))))
    a1 = next(r for r in rows if r[0] == "A1")
    assert a1[7:] == ["[erased]", "[erased]", "[erased]", "已删除 erased"]
    assert b'"name":"AgentForgotten"' in after[f.EVENTS]
    for name in (f.STATEMENTS, f.LINES, f.ORDERS):  # every amount stays as it was
        assert after[name] == before[name], name
    for path in ("before.zip", "after.zip"):
        report = await verified(tmp_path / path)
        assert report.ok, report.text()


async def test_agents_csv_opens_like_a_spreadsheet_with_chinese_headers_and_names(
    ledger: Ledger,
) -> None:
    with zipfile.ZipFile(ledger.exports["03-settlement"]) as z:
        raw = z.read(f.AGENTS)
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM that makes Excel read UTF-8
    # As Python's csv module opens a file a spreadsheet saved: utf-8-sig strips the BOM.
    path = ledger.folder / "agents.csv"
    path.write_bytes(raw)
    with path.open(encoding="utf-8-sig", newline="") as opened:
        rows = list(csv.DictReader(opened))
    assert list(rows[0])[:3] == ["代理 agent", "推荐人 sponsor", "层级 depth"]
    assert [(r["代理 agent"], r["姓名(脱敏) name_masked"], r["级别 tier"]) for r in rows] == [
        ("A1", "代***", "partner"), ("B1", "代***", "partner")]
    assert rows[0]["个人信息 personal_data"] == "脱敏 masked"
