"""Each way a forger would touch an export is caught, and the report names the place.

Every case rewrites a real export (scenario 03: settlement with statements) and runs
the offline verifier on the result.
"""

from __future__ import annotations

import base64
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from export import format as f
from export.signing import fingerprint, public_pem
from tests.export.conftest import Ledger, verified

Change = dict[str, Callable[[bytes], bytes]]


def rewrite(source: Path, target: Path, change: Change) -> Path:
    """Copy the zip entry by entry, passing the named entries through their change."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            new.writestr(info, change.get(info.filename, lambda b: b)(data))
    return target


def _lines(edit: Callable[[list[bytes]], list[bytes]]) -> Callable[[bytes], bytes]:
    return lambda data: b"".join(edit(data.splitlines(keepends=True)))


def _export(ledger: Ledger) -> Path:
    return ledger.exports["03-settlement"]


async def test_the_untouched_export_verifies(ledger: Ledger) -> None:
    assert (await verified(_export(ledger))).ok


async def test_one_byte_changed_in_an_event_is_named_by_line_and_position(
    ledger: Ledger, tmp_path: Path
) -> None:
    def one_byte(lines: list[bytes]) -> list[bytes]:
        line = lines[4]  # position 5
        at = line.index(b'"payload":"') + 20
        swapped = b"B" if line[at:at + 1] != b"B" else b"C"  # still valid base64
        lines[4] = line[:at] + swapped + line[at + 1:]
        return lines

    report = await verified(rewrite(_export(ledger), tmp_path / "x.zip",
                                    {f.EVENTS: _lines(one_byte)}))
    assert not report.ok
    failing = report.failing()
    assert "events.jsonl line 5 (position 5): stored hash does not match its contents" in failing
    assert "files: events.jsonl: sha256 is" in failing


async def test_a_dropped_event_is_named(ledger: Ledger, tmp_path: Path) -> None:
    report = await verified(rewrite(_export(ledger), tmp_path / "x.zip",
                                    {f.EVENTS: _lines(lambda ls: ls[:5] + ls[6:])}))
    failing = report.failing()
    assert "events.jsonl line 6 (position 7): position 7 follows 5" in failing
    assert "events.jsonl: rows is" in failing


async def test_two_events_swapped_are_named(ledger: Ledger, tmp_path: Path) -> None:
    def swap(lines: list[bytes]) -> list[bytes]:
        lines[5], lines[6] = lines[6], lines[5]
        return lines

    report = await verified(rewrite(_export(ledger), tmp_path / "x.zip",
                                    {f.EVENTS: _lines(swap)}))
    assert "events.jsonl line 6 (position 7): position 7 follows 5" in report.failing()


async def test_an_amount_changed_in_statement_lines_is_named_to_the_fen(
    ledger: Ledger, tmp_path: Path
) -> None:
    def richer(lines: list[bytes]) -> list[bytes]:
        assert lines[3].startswith(b"A1,2026-01,3,bracket,S2,") and b",60.00," in lines[3]
        lines[3] = lines[3].replace(b",60.00,", b",60.01,")
        return lines

    tampered = rewrite(_export(ledger), tmp_path / "x.zip", {f.LINES: _lines(richer)})
    failing = (await verified(tampered)).failing()
    assert ("statement_lines.csv line 4 (2026-01 A1 line 3): amount_fen listed 6001, "
            "re-derived 6000") in failing
    assert "files: statement_lines.csv: sha256 is" in failing

    # Fixing the manifest's hash too only moves the failure to the signature.
    def rehash(manifest: bytes) -> bytes:
        with zipfile.ZipFile(tampered) as z:
            data = z.read(f.LINES)
        doc = json.loads(manifest)
        doc["files"][f.LINES]["sha256"] = __import__("hashlib").sha256(data).hexdigest()
        return json.dumps(doc, ensure_ascii=False, indent=1).encode()

    failing = (await verified(rewrite(tampered, tmp_path / "y.zip",
                                      {f.MANIFEST: rehash}))).failing()
    assert "manifest.sig: does not verify over manifest.json" in failing
    assert "statement_lines.csv line 4" in failing


async def test_another_keys_signature_is_refused(ledger: Ledger, tmp_path: Path) -> None:
    other = Ed25519PrivateKey.generate()
    with zipfile.ZipFile(_export(ledger)) as z:
        manifest = z.read(f.MANIFEST)
    resigned = {f.SIGNATURE: lambda _: base64.b64encode(other.sign(manifest)) + b"\n"}
    failing = (await verified(rewrite(_export(ledger), tmp_path / "x.zip", resigned))).failing()
    assert "FAIL signature" in failing
    assert "manifest.sig: does not verify over manifest.json with public_key.pem" in failing


async def test_a_forger_who_resigns_everything_with_their_own_key_is_caught(
    ledger: Ledger, tmp_path: Path
) -> None:
    """Swap key, manifest fingerprint and signature together: self-consistent, yet the
    checkpoints inside the chain name the brand's key, and a pinned key refuses it."""
    other = Ed25519PrivateKey.generate()
    with zipfile.ZipFile(_export(ledger)) as z:
        doc = json.loads(z.read(f.MANIFEST))
    brand = doc["key_fingerprint"]
    doc["key_fingerprint"] = fingerprint(other.public_key())
    pem = public_pem(other.public_key())
    doc["files"][f.PUBLIC_KEY]["sha256"] = __import__("hashlib").sha256(pem).hexdigest()
    doc["files"][f.PUBLIC_KEY]["bytes"] = len(pem)
    body = json.dumps(doc, ensure_ascii=False, indent=1).encode()
    forged = rewrite(_export(ledger), tmp_path / "x.zip", {
        f.PUBLIC_KEY: lambda _: pem, f.MANIFEST: lambda _: body,
        f.SIGNATURE: lambda _: base64.b64encode(other.sign(body)) + b"\n",
    })
    failing = (await verified(forged)).failing()
    assert "not the export's public key" in failing  # the checkpoints' signer
    pinned = (await verified(forged, expect_key=brand)).failing()
    assert f"is not the expected {brand}" in pinned


async def test_a_truncated_zip_is_refused(ledger: Ledger, tmp_path: Path) -> None:
    data = _export(ledger).read_bytes()
    for size in (len(data) // 2, len(data) - 30):
        cut = tmp_path / f"cut{size}.zip"
        cut.write_bytes(data[:size])
        report = await verified(cut)
        assert not report.ok
        assert f"FAIL archive: cut{size}.zip: not a readable export" in report.text()
