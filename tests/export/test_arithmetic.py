"""The verifier checks the sums inside the events: each forgery below is made as a
superuser would, in the database with the chain recomputed (so the chain verifies),
then exported, and the report names the event and the numbers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from export import format as f
from tests.export.conftest import JOURNALS, Ledger, position_of, rewrite_history, verified
from tests.export.test_tamper import rewrite

JOURNAL = next(j for j in JOURNALS if j.stem == "03-settlement")
Fields = dict[str, Any]


def _sale(d: Fields) -> None:
    d["amount"] += 100  # S4: 5 x 951.11


def _return(d: Fields) -> None:
    d["amount"] -= 1


def _purchase(d: Fields) -> None:
    d["lines"][0]["unit_price"] = -d["lines"][0]["unit_price"]


def _total(d: Fields) -> None:
    d["total_fen"] += 10_000


def _clawback(d: Fields) -> None:
    """A1's February claws back S3's return: make it claw a thousand yuan more, with the
    total to match, so only the clawback is wrong."""
    line = next(x for x in d["lines"] if x["kind"] == "clawback")
    line["amount_fen"] -= 100_000
    d["total_fen"] -= 100_000


CASES: list[tuple[str, str, Callable[[Fields], bool], Callable[[Fields], None], str]] = [
    ("sale", "RetailSaleRecorded", lambda d: d["sale"] == "S4", _sale,
     "amount 4756.55, its lines' qty x unit price sum to 4755.55"),
    ("return", "SaleReturned", lambda d: True, _return,
     "amount 999.99, its lines' qty x unit price sum to 1000.00"),
    ("purchase", "StockPurchased", lambda d: True, _purchase, "line GIFT-01 of 40 at -"),
    ("statement", "StatementIssued", lambda d: d["agent"] == "A1", _total,
     "total 587.78 of A1 for 2026-01, its lines sum to 487.78"),
    ("clawback", "StatementIssued",
     lambda d: any(x["kind"] == "clawback" for x in d["lines"]), _clawback,
     "clawback of 1"),
]


@pytest.mark.parametrize(("case", "name", "match", "forge", "named"), CASES,
                         ids=[c[0] for c in CASES])
async def test_a_forged_sum_is_named_with_its_numbers(
    ledger: Ledger, tmp_path: Path, case: str, name: str, match: Callable[[Fields], bool],
    forge: Callable[[Fields], None], named: str
) -> None:
    tenant = f"m{case}"
    await ledger.cli("keys", "init", "--tenant", tenant)
    await ledger.cli("import", str(JOURNAL), "--tenant", tenant, "--no-progress")
    position = await position_of(ledger.url, tenant, name, match)
    await rewrite_history(ledger.url, tenant, position, forge)
    out = tmp_path / "forged.zip"
    await ledger.cli("export", str(out), "--tenant", tenant)
    report = await verified(out)
    text = report.text()
    assert "PASS chain" in text  # the forger recomputed it
    arithmetic = next(v for v in report.verdicts if v.check == "arithmetic")
    assert arithmetic.status == "FAIL", text
    assert f"events.jsonl position {position} ({name} " in arithmetic.summary, text
    assert named in arithmetic.summary, text


async def test_an_order_row_that_does_not_multiply_out_is_named(ledger: Ledger,
                                                                tmp_path: Path) -> None:
    def forge(data: bytes) -> bytes:
        return data.replace(b",4000.00,", b",4100.00,", 1)  # S1: 4 x 1000.00

    forged = rewrite(ledger.exports["03-settlement"], tmp_path / "x.zip", {f.ORDERS: forge})
    failing = (await verified(forged)).failing()
    assert "FAIL arithmetic: orders.csv line 4: amount 4100.00, 4 x 1000.00 is 4000.00" in failing
