"""`weiledger verify-export FILE.zip`: check an export with no database and no network.

Imports only pure code (eventstore/chain.py, domain/, cryptography): an auditor runs
`python -m export.verify.archive FILE.zip` on a laptop. Checks, each with its verdict:

    archive     the zip opens and holds every file
    signature   manifest.sig verifies over manifest.json with public_key.pem, whose
                fingerprint the manifest names (and --expect-key pins, out of band)
    files       every file's sha256, size and row count equal the manifest's
    chain       every event's hash recomputed, linked from the manifest's first prev_hash
                to its head hash, positions gapless
    log         the hashes before the range end in its first prev_hash, and with the
                range's make the Merkle root the manifest signs over positions 1..last
    opening     each event before the range (opening.jsonl) proven by its leaf
    checkpoints each checkpoint's RFC 6962 root recomputed and its signature verified
    arithmetic  the sums inside the events and orders.csv (verify/arithmetic.py)
    statements  every statement the range issues re-derived from the opening and the
                range's events by domain/settlement and compared to the fen with
                statements.csv, statement_lines.csv and the StatementIssued events
    after       (--after OLD.zip) the log holds OLD's log unchanged (verify/log.py)

Every check runs even when one before failed, so the report names every place touched.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import csv
import hashlib
import io
import json
import sys
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from config.runtime import Progress
from export import format as f
from export.signing import SigningKeyError, fingerprint, load_public_pem, valid
from export.verify import arithmetic, log
from export.verify.chain import check_chain
from export.verify.restatements import ExportLog, read_listed, restate

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"
READ_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, KeyError)


@dataclass
class Verdict:
    check: str
    status: str
    summary: str
    details: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [f"{self.status} {self.check}: {self.summary}",
                *(f"    {self.check}: {d}" for d in self.details)]


CHECKS = ("archive", "signature", "files", "chain", "log", "opening", "checkpoints",
          "arithmetic", "statements")  # and "after", with an earlier export


@dataclass
class Report:
    verdicts: list[Verdict] = field(default_factory=list)
    progress: Progress | None = None  # one unit a check

    @property
    def ok(self) -> bool:
        return bool(self.verdicts) and all(v.status != FAIL for v in self.verdicts)

    def add(self, check: str, faults: list[str], passed: str) -> None:
        if self.progress is not None:
            self.progress(1)
        if not faults:
            self.verdicts.append(Verdict(check, PASS, passed))
            return
        first = faults[0] if len(faults) == 1 else f"{len(faults)} faults, first {faults[0]}"
        self.verdicts.append(Verdict(check, FAIL, first, faults if len(faults) > 1 else []))

    def text(self) -> str:
        lines = [line for v in self.verdicts for line in v.lines()]
        lines.append("VERDICT: " + ("the export verifies" if self.ok else "the export FAILS"))
        return "\n".join(lines)

    def failing(self) -> str:
        return "\n".join(line for v in self.verdicts if v.status == FAIL for line in v.lines())


def _count_rows(name: str, data: Iterator[bytes]) -> int:
    if name.endswith(".csv"):
        text = io.TextIOWrapper(io.BufferedReader(_Chunks(data)), encoding="utf-8-sig",
                                newline="")
        return sum(1 for _ in csv.reader(text)) - 1  # the header is not a row
    if name.endswith(".json"):
        return len(json.loads(b"".join(data)))
    if name.endswith(".jsonl"):
        return sum(chunk.count(b"\n") for chunk in data)
    if name.endswith(".bin"):  # raw hashes
        return sum(len(chunk) for chunk in data) // f.HASH_BYTES
    for _chunk in data:  # one key: read it through for its hash
        pass
    return 1


class _Chunks(io.RawIOBase):
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks, self.left = chunks, b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self.left:
            self.left = next(self.chunks, b"")
            if not self.left:
                return 0
        n = min(len(buffer), len(self.left))
        buffer[:n], self.left = self.left[:n], self.left[n:]
        return n


def _hashed(archive: zipfile.ZipFile, name: str, sha: Any, size: list[int]) -> Iterator[bytes]:
    with archive.open(name) as raw:
        while chunk := raw.read(1 << 20):
            sha.update(chunk)
            size[0] += len(chunk)
            yield chunk


def check_files(archive: zipfile.ZipFile, manifest: dict[str, Any]) -> list[str]:
    faults: list[str] = []
    listed = manifest.get("files", {})
    for name in sorted(set(f.LISTED) | listed.keys()):
        want = listed.get(name)
        if want is None:
            faults.append(f"{name}: not listed in {f.MANIFEST}")
            continue
        sha, size = hashlib.sha256(), [0]
        try:
            rows = _count_rows(name, _hashed(archive, name, sha, size))
        except (*READ_ERRORS, ValueError) as error:
            faults.append(f"{name}: cannot be read ({error})")
            continue
        for what, got in (("sha256", sha.hexdigest()), ("bytes", size[0]), ("rows", rows)):
            if want.get(what) != got:
                faults.append(f"{name}: {what} is {got}, {f.MANIFEST} says {want.get(what)}")
    extra = set(archive.namelist()) - set(listed) - {f.MANIFEST, f.SIGNATURE}
    faults += [f"{name}: in the zip but not in {f.MANIFEST}" for name in sorted(extra)]
    return faults


def check_signature(archive: zipfile.ZipFile, body: bytes, manifest: dict[str, Any],
                    expect_key: str | None) -> tuple[Ed25519PublicKey | None, list[str]]:
    try:
        key = load_public_pem(archive.read(f.PUBLIC_KEY))
        signature = base64.b64decode(archive.read(f.SIGNATURE).strip(), validate=True)
    except (*READ_ERRORS, ValueError, binascii.Error, SigningKeyError) as error:
        return None, [f"{f.PUBLIC_KEY} / {f.SIGNATURE}: unreadable ({error})"]
    faults: list[str] = []
    print_ = fingerprint(key)
    if manifest.get("key_fingerprint") != print_:
        faults.append(f"{f.PUBLIC_KEY}: fingerprint {print_} is not the manifest's "
                      f"{manifest.get('key_fingerprint')}")
    if expect_key and expect_key.lower() != print_:
        faults.append(f"{f.PUBLIC_KEY}: fingerprint {print_} is not the expected {expect_key}")
    if not valid(key, signature, body):
        faults.append(f"{f.SIGNATURE}: does not verify over {f.MANIFEST} with {f.PUBLIC_KEY}")
    return key, faults


def verify_export(path: Path, *, expect_key: str | None = None,
                  after: Path | None = None, progress: Progress | None = None) -> Report:
    report = Report(progress=progress)
    if progress is not None:
        progress.size(len(CHECKS) + (after is not None))
    try:
        archive = zipfile.ZipFile(path)
        body = archive.read(f.MANIFEST)
        manifest = json.loads(body)
        if manifest.get("format") != f.FORMAT:
            raise ValueError(f"format {manifest.get('format')!r}, expected {f.FORMAT}")
    except (*READ_ERRORS, ValueError) as error:
        report.add("archive", [f"{path.name}: not a readable export ({error}); "
                               "truncated or not a weiledger export?"], "")
        return report
    with archive:
        missing = [n for n in (*f.LISTED, f.MANIFEST, f.SIGNATURE) if n not in archive.namelist()]
        report.add("archive", [f"{n}: missing" for n in missing],
                   f"{len(archive.namelist())} files, tenant {manifest.get('tenant')}")
        key, faults = check_signature(archive, body, manifest, expect_key)
        pinned = "pinned" if expect_key else "NOT pinned: compare it with the brand's"
        report.add("signature", faults, f"key {fingerprint(key) if key else '?'} ({pinned})")
        report.add("files", check_files(archive, manifest),
                   f"{len(manifest.get('files', {}))} files match their sha256 and rows")
        _chain_and_statements(report, archive, manifest, key)
        if after is not None:
            _after(report, archive, manifest, key, after)
    return report


def _after(report: Report, archive: zipfile.ZipFile, manifest: dict[str, Any],
           key: Ed25519PublicKey | None, path: Path) -> None:
    try:
        old = zipfile.ZipFile(path)
        body = old.read(f.MANIFEST)
        old_manifest = json.loads(body)
        bytes.fromhex(old_manifest["log"]["root"])  # an export of weiledger-export/2 on
    except (*READ_ERRORS, ValueError, TypeError) as error:
        report.add("after", [f"{path.name}: not a readable export with a log root ({error})"],
                   "")
        return
    with old:
        _, faults = check_signature(old, body, old_manifest,
                                    fingerprint(key) if key else None)
        if faults:
            report.add("after", [f"{path.name}: {x}" for x in faults], "")
            return
        summary, faults = log.check_after(archive, manifest, old, old_manifest)
        report.add("after", faults, f"{path.name}: {summary}")


def _chain_and_statements(report: Report, archive: zipfile.ZipFile, manifest: dict[str, Any],
                          key: Ed25519PublicKey | None) -> None:
    span = manifest["range"]
    first = int(span["first_position"])
    try:
        marks = json.loads(archive.read(f.CHECKPOINTS))
        prefix = log.check_prefix(archive, manifest)
        with archive.open(f.EVENTS) as lines:
            out = check_chain(lines, manifest, marks, key, prefix.tree)
    except (*READ_ERRORS, ValueError) as error:
        report.add("chain", [f"{f.EVENTS} / {f.PREFIX}: cannot be read to its end ({error})"],
                   "")
        return
    report.add("chain", out.chain, f"{out.events} events, positions {first}"
               f"..{span['last_position']}, head {span['head_hash'][:16]}…")
    report.add("log", prefix.faults + log.check_log(prefix.tree, manifest),
               f"Merkle root of positions 1..{prefix.tree.count} is the signed one "
               f"({first - 1} before the range)")
    try:
        proven, faults = log.check_opening(archive)
    except (*READ_ERRORS, ValueError) as error:
        proven, faults = 0, [f"{f.OPENING}: cannot be read ({error})"]
    report.add("opening", faults, f"{proven} events before the range proven by their leaves")
    report.add("checkpoints", out.checkpoints, f"{out.checked} Merkle roots and signatures "
               f"recomputed, {out.skipped} starting before the export skipped")
    opening, events = (f.OPENING, lambda: archive.open(f.OPENING)), (
        f.EVENTS, lambda: archive.open(f.EVENTS))
    try:
        summed, faults = arithmetic.check_events(opening, events)
        with archive.open(f.ORDERS) as orders:
            rows, more = arithmetic.check_orders(orders)
    except (*READ_ERRORS, ValueError, IndexError) as error:
        summed, rows, faults, more = 0, 0, [f"cannot be summed: {error}"], []
    report.add("arithmetic", faults + more, f"{summed} sales, returns, purchases and "
               f"statements and {rows} order rows add up")
    try:
        with archive.open(f.STATEMENTS) as s, archive.open(f.LINES) as ls:
            listed = read_listed(s, ls)
        count, faults = asyncio.run(restate(ExportLog(opening[1], events[1], first=first),
                                            manifest["tenant"], listed))
    except (*READ_ERRORS, ValueError, IndexError) as error:
        report.add("statements", [f"cannot re-derive: {error}"], "")
        return
    report.add("statements", faults, f"{count} statements re-derived from the events equal "
               f"{f.STATEMENTS}, {f.LINES} and the issued events to the fen")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    after = None
    if "--after" in args[:-1]:
        at = args.index("--after")
        after, args = Path(args[at + 1]), args[:at] + args[at + 2:]
    if not args or args[0].startswith("-"):
        print("usage: python -m export.verify.archive FILE.zip [EXPECTED_KEY_FINGERPRINT]"
              " [--after OLD.zip]")
        return 2
    report = verify_export(Path(args[0]), expect_key=args[1] if len(args) > 1 else None,
                           after=after)
    print(report.text())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
