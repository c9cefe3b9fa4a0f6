"""Receipts: every signed checkpoint, kept outside the database too.

A checkpoint lives in the chain it signs, so whoever rewrites the database can drop it
with the events it covers (delete the tail and set chain_heads to match), or rewrite
everything after some position and leave the old checkpoint events in place. A receipt
is the same checkpoint in a folder beside the keys (default <keys>/receipts/<tenant>/),
and printed for whoever wants a copy of their own:

    <to_position>.json    the CheckpointSigned fields (range, RFC 6962 root, Ed25519
                          signature, key fingerprint)
    <to_position>.hashes  the range's chain hashes, 32 bytes each, in position order

The hashes are authenticated by the signed root (their Merkle root must be it), so a
receipt proves, position by position, what the log held when it was signed:
`check_receipts` walks the live log beside them and names the first position that
disagrees — missing (a truncation, a deleted tail whatever chain_heads says), or with
another hash (a rewrite, every hash recomputed or not). A receipt the brand's key did
not sign is refused as such and proves nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from eventstore.database import Conn
from eventstore.reads import last_position, positioned_hashes
from export.merkle import MerkleBuilder
from export.signing import checkpoint_message, fingerprint, valid

HASH = 32
PAGE = 5_000


def receipts_folder(keys_dir: Path, tenant: str) -> Path:
    return keys_dir / "receipts" / tenant


def write_receipt(folder: Path, fields: dict[str, Any], hashes: bytes) -> Path:
    """Write one receipt (hashes first, then the json, each renamed into place, so a
    crash leaves no receipt that names hashes it does not have)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stem = folder / f"{int(fields['to_position']):012d}"
    for suffix, data in ((".hashes", hashes),
                         (".json", json.dumps(fields, sort_keys=True).encode() + b"\n")):
        part = stem.with_suffix(suffix + ".part")
        with part.open("wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(part, stem.with_suffix(suffix))
    return stem.with_suffix(".json")


@dataclass(frozen=True, slots=True)
class Receipt:
    path: Path
    first: int
    last: int
    hashes: bytes

    def hash_at(self, position: int) -> bytes:
        at = (position - self.first) * HASH
        return self.hashes[at:at + HASH]


@dataclass
class ReceiptReport:
    receipts: int = 0
    covered: int = 0  # the last position the receipts vouch for
    faults: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.faults


def _load(path: Path, tenant: str, key: Ed25519PublicKey) -> Receipt | str:
    """The receipt at `path`, or why it proves nothing."""
    try:
        doc = json.loads(path.read_bytes())
        first, last = int(doc["from_position"]), int(doc["to_position"])
        root, signature = bytes.fromhex(doc["root"]), bytes.fromhex(doc["signature"])
        hashes = path.with_suffix(".hashes").read_bytes()
    except (OSError, ValueError, KeyError, TypeError) as error:
        return f"receipt {path.name}: unreadable ({error})"
    if doc.get("tenant") != tenant or not valid(key, signature,
                                                checkpoint_message(tenant, first, last, root)):
        return (f"receipt {path.name} (positions {first}..{last}): forged, not signed by "
                f"the brand's key {fingerprint(key)}")
    tree = MerkleBuilder()
    for at in range(0, len(hashes), HASH):
        tree.add(hashes[at:at + HASH])
    if tree.count != last - first + 1 or tree.root() != root:
        return (f"receipt {path.name} (positions {first}..{last}): its hashes are not "
                "the ones its signed root covers")
    return Receipt(path, first, last, hashes)


def read_receipts(folder: Path, tenant: str, key: Ed25519PublicKey,
                  report: ReceiptReport) -> list[Receipt]:
    found: list[Receipt] = []
    for path in sorted(folder.glob("*.json")):
        loaded = _load(path, tenant, key)
        if isinstance(loaded, str):
            report.faults.append(loaded)
        else:
            found.append(loaded)
    report.receipts = len(found)
    return found


def _positions(receipts: list[Receipt]) -> Iterator[tuple[int, bytes, Receipt]]:
    for r in receipts:
        for position in range(r.first, r.last + 1):
            yield position, r.hash_at(position), r


async def check_receipts(conn: Conn, tenant: str, folder: Path,
                         key: Ed25519PublicKey) -> ReceiptReport:
    """Hold the live log of `tenant` against every receipt in `folder`: the first
    position that disagrees is named (one fault per tenant: after it, all differ)."""
    report = ReceiptReport()
    receipts = await asyncio.to_thread(read_receipts, folder, tenant, key, report)
    if not receipts:
        return report
    report.covered = max(r.last for r in receipts)
    wanted = _positions(sorted(receipts, key=lambda r: r.first))
    after = 0
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        head = await last_position(conn, tenant) or 0
        for position, expected, receipt in wanted:
            if position > after:  # the next page of the live log's hashes
                page = await positioned_hashes(conn, tenant, after=position - 1,
                                               upto=report.covered, limit=PAGE)
                live = dict(page)
                after = page[-1][0] if page else report.covered
            where = f"tenant {tenant}: position {position} (receipt {receipt.path.name})"
            got = live.get(position)
            if got is None:
                report.faults.append(f"{where}: in the receipt, missing from the log "
                                     f"(the log's head is {head})")
                break
            if got != expected:
                report.faults.append(f"{where}: the log's hash {got.hex()[:16]}… is not "
                                     f"the receipt's {expected.hex()[:16]}…")
                break
    return report
