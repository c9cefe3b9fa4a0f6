"""The log behind an export: the hashes before its range, the opening events, and how a
later export is proven to extend an earlier one.

The leaves of the log's Merkle tree (merkle.py) are the chain hashes of positions 1 to
the export's last: prefix_hashes.bin for those before the range, events.jsonl's for the
range. The manifest signs their RFC 6962 root ("log"), so:

- the prefix is bound to the range: its last hash is the first event's prev_hash, and
  with the range's hashes it makes the signed root;
- each event of opening.jsonl is proven by its leaf: its hash recomputed from its own
  fields (eventstore/chain.py) is the leaf at its position, and its prev_hash the leaf
  before, so an opening event cannot be made up, altered or moved;
- a later export extends an earlier one when the earlier's log is a prefix of the
  later's: RFC 6962's consistency proof between the two signed roots (computed from
  the later export's leaves, checked with nothing but the two roots, RFC 9162
  2.1.4.2), and, leaf by leaf, the first position where the two disagree.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import zip_longest
from typing import Any

from eventstore.chain import GENESIS, expected_hash
from export import format as f
from export.merkle import MerkleBuilder, consistency_proof, verify_consistency

CHUNK = f.HASH_BYTES * 4096


def prefix_hashes(archive: zipfile.ZipFile) -> Iterator[bytes]:
    with archive.open(f.PREFIX) as raw:
        while chunk := raw.read(CHUNK):
            if len(chunk) % f.HASH_BYTES:
                raise ValueError(f"{f.PREFIX}: not a whole number of {f.HASH_BYTES}-byte hashes")
            for at in range(0, len(chunk), f.HASH_BYTES):
                yield chunk[at:at + f.HASH_BYTES]


def range_hashes(archive: zipfile.ZipFile) -> Iterator[bytes]:
    with archive.open(f.EVENTS) as lines:
        for line in lines:
            yield bytes.fromhex(json.loads(line)["hash"])


def leaves(archive: zipfile.ZipFile) -> Iterator[bytes]:
    """Every leaf of the export's log, position 1 first."""
    yield from prefix_hashes(archive)
    yield from range_hashes(archive)


@dataclass
class Prefix:
    """What check_prefix found: the builder holds the prefix, for check_log to go on."""

    tree: MerkleBuilder
    faults: list[str]


def check_prefix(archive: zipfile.ZipFile, manifest: dict[str, Any]) -> Prefix:
    span = manifest["range"]
    first = int(span["first_position"])
    tree, last = MerkleBuilder(), GENESIS
    for h in prefix_hashes(archive):
        tree.add(h)
        last = h
    faults = []
    if tree.count != first - 1:
        faults.append(f"{f.PREFIX}: {tree.count} hashes, the range starts at position {first}")
    elif last.hex() != span["start_prev_hash"]:
        faults.append(f"{f.PREFIX}: the hash of position {first - 1} is {last.hex()[:16]}…, "
                      f"the range's first prev_hash {span['start_prev_hash'][:16]}…")
    return Prefix(tree, faults)


def check_log(tree: MerkleBuilder, manifest: dict[str, Any]) -> list[str]:
    """`tree` holds every leaf read (prefix, then the range's events)."""
    log = manifest.get("log") or {}
    if tree.count != log.get("size") or tree.root().hex() != log.get("root"):
        return [f"log: the Merkle root of positions 1..{tree.count} is {tree.root().hex()[:16]}…,"
                f" the manifest signs size {log.get('size')} with {str(log.get('root'))[:16]}…"]
    return []


def check_opening(archive: zipfile.ZipFile) -> tuple[int, list[str]]:
    """(opening events proven, faults): each event against its leaf and the one before."""
    faults: list[str] = []
    hashes = prefix_hashes(archive)
    before, leaf, at = GENESIS, next(hashes, None), 1
    count = 0
    with archive.open(f.OPENING) as lines:
        for n, raw in enumerate(lines, start=1):
            where = f"{f.OPENING} line {n}"
            try:
                event = f.event_from_line(raw)
            except (ValueError, KeyError, TypeError) as error:
                faults.append(f"{where}: not an event ({error})")
                continue
            while leaf is not None and at < event.position:
                before, leaf, at = leaf, next(hashes, None), at + 1
            where += f" (position {event.position})"
            if leaf is None or at != event.position:
                faults.append(f"{where}: not before the range ({f.PREFIX} ends at {at - 1})")
                break
            count += 1
            if expected_hash(event) != leaf:
                faults.append(f"{where}: its contents do not hash to the leaf at its position")
            elif event.prev_hash != before:
                faults.append(f"{where}: its prev_hash is not the leaf at position "
                              f"{event.position - 1}")
    return count, faults


def check_after(new: zipfile.ZipFile, new_manifest: dict[str, Any], old: zipfile.ZipFile,
                old_manifest: dict[str, Any]) -> tuple[str, list[str]]:
    """(summary, faults): does the new export's log hold the old one's, unchanged?

    Both manifests' signatures are checked by the caller; their log roots are trusted
    as signed."""
    m, n = int(old_manifest["log"]["size"]), int(new_manifest["log"]["size"])
    old_root = bytes.fromhex(old_manifest["log"]["root"])
    new_root = bytes.fromhex(new_manifest["log"]["root"])
    if old_manifest.get("tenant") != new_manifest.get("tenant"):
        return "", [f"the exports are of tenants {old_manifest.get('tenant')} and "
                    f"{new_manifest.get('tenant')}"]
    if m > n:
        return "", [f"the new export's log ends at position {n}, before the old one's ({m})"]
    faults = []
    for position, (a, b) in enumerate(zip_longest(leaves(old), leaves(new)), start=1):
        if position > m:
            break
        if a != b:
            faults.append(f"the logs diverge at position {position}: its hash was "
                          f"{(a or b'').hex()[:16]}… in the old export, "
                          f"{(b or b'').hex()[:16]}… in the new")
            break
    proof = consistency_proof(m, n, leaves(new))
    if not verify_consistency(m, n, old_root, new_root, proof):
        faults.append(f"the RFC 6962 consistency proof from size {m} (root "
                      f"{old_root.hex()[:16]}…) to size {n} (root {new_root.hex()[:16]}…) "
                      "does not verify")
    return (f"positions 1..{m} unchanged: RFC 6962 consistency proof of {len(proof)} hashes "
            f"from root {old_root.hex()[:16]}… (size {m}) to {new_root.hex()[:16]}… "
            f"(size {n})"), faults
