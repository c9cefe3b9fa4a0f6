"""A policy that pays an override on the downline (团队计酬) is named in the manifest, and
the override lines re-derive from the exported policy events like any other line."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from export import format as f
from tests.export.conftest import Ledger, verified

JOURNAL = [
    {"at": "2026-01-01T09:00:00+08:00", "cmd": "product", "sku": "TEA-01", "name": "养生茶",
     "retail_price": "99.00"},
    {"at": "2026-01-02T09:00:00+08:00", "cmd": "policy", "override_levels": 1,
     "override_rate": "0.02"},
    {"at": "2026-01-05T09:00:00+08:00", "cmd": "join", "agent": "A1", "sponsor": None,
     "tier": "partner", "name": "王芳", "id_number": "110101199302141131",
     "phone": "13800000001"},
    {"at": "2026-01-05T10:00:00+08:00", "cmd": "join", "agent": "A2", "sponsor": "A1",
     "tier": "general", "name": "李娜", "id_number": "110101199403151144",
     "phone": "13800000002"},
    {"at": "2026-01-06T10:00:00+08:00", "cmd": "purchase", "buyer": "A2", "seller": None,
     "lines": [{"sku": "TEA-01", "qty": 100}]},
    {"at": "2026-01-07T20:00:00+08:00", "cmd": "sale", "sale": "S1", "seller": "A2",
     "customer": "C1", "lines": [{"sku": "TEA-01", "qty": 60, "unit_price": "99.00"}]},
    {"at": "2026-02-01T00:00:00+08:00", "cmd": "close_period", "period": "2026-01"},
]


async def test_overrides_on_raise_the_compliance_warning_and_still_re_derive(
    ledger: Ledger, tmp_path: Path
) -> None:
    journal = tmp_path / "overrides.jsonl"
    journal.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in JOURNAL),
                       encoding="utf-8")
    await ledger.cli("keys", "init", "--tenant", "override")
    summary = await ledger.cli("import", str(journal), "--tenant", "override", "--no-progress")
    assert f"{len(JOURNAL)} accepted" in summary, summary
    out = tmp_path / "override.zip"
    printed = await ledger.cli("export", str(out), "--tenant", "override")
    assert "WARNING 合规警告 compliance warning: policy version(s) [2]" in printed
    with zipfile.ZipFile(out) as z:
        manifest = json.loads(z.read(f.MANIFEST))
        lines = z.read(f.LINES).decode("utf-8-sig")
    assert manifest["policy_versions"] == [1, 2]
    assert "团队计酬" in manifest["compliance_warning"]
    assert "\r\nA1,2026-01,1,override,S1," in lines  # A1 is paid on A2's sale
    report = await verified(out)
    assert report.ok, report.text()
