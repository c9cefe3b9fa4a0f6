"""One pass over events.jsonl: the hash chain, and the Merkle root of every checkpoint.

The chain is recomputed with eventstore/chain.py's own definitions (ChainVerifier,
expected_hash), starting from the manifest's first position and prev_hash instead of
genesis, since an export may start mid-chain. After a break the verifier picks the chain
up again at the next readable event, so one report names every place that was touched.

Checkpoints come after the range they sign, so their ranges are read first from
checkpoints.json; each CheckpointSigned event met in the chain must say the same. A
checkpoint whose range starts before the export cannot be recomputed and is skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from eventstore.chain import ChainBreak, ChainVerifier
from export import format as f
from export.merkle import MerkleBuilder
from export.signing import checkpoint_message, fingerprint, valid

MAX_FAULTS = 50  # a wholesale forgery need not be listed event by event


@dataclass
class ChainOutcome:
    chain: list[str] = field(default_factory=list)
    checkpoints: list[str] = field(default_factory=list)
    checked: int = 0  # checkpoints whose root and signature were recomputed
    skipped: int = 0
    events: int = 0


def _place(line: int, position: int | None = None) -> str:
    at = f"{f.EVENTS} line {line}"
    return at if position is None else f"{at} (position {position})"


def check_chain(lines: Iterable[bytes], manifest: dict[str, Any], marks: list[dict[str, Any]],
                key: Ed25519PublicKey | None, log: MerkleBuilder | None = None) -> ChainOutcome:
    """`log`, when given, is the log's tree so far (the prefix): each event's hash is added."""
    out = ChainOutcome()
    span = manifest["range"]
    tenant, first = manifest["tenant"], int(span["first_position"])
    verifier = ChainVerifier(tenant)
    verifier.position, verifier.hash = first - 1, bytes.fromhex(span["start_prev_hash"])
    pending = sorted(marks, key=lambda m: int(m["from_position"]))
    by_event = {int(m["position"]): m for m in marks}
    seen_marks: set[int] = set()
    tree: MerkleBuilder | None = None
    synced = True

    def fault(bucket: list[str], text: str) -> None:
        if len(bucket) < MAX_FAULTS:
            bucket.append(text)

    for n, raw in enumerate(lines, start=1):
        out.events += 1
        try:
            event = f.event_from_line(raw)
        except (ValueError, KeyError, TypeError) as error:
            fault(out.chain, f"{_place(n)}: not an event ({error})")
            synced = False
            continue
        if event.tenant != tenant:
            fault(out.chain, f"{_place(n, event.position)}: tenant {event.tenant!r}")
        if not synced:  # after an unreadable line only the event's own hash can be checked
            verifier.position, verifier.hash = event.position - 1, event.prev_hash
        try:
            verifier.check(event)
        except ChainBreak as brk:
            fault(out.chain, f"{_place(n, event.position)}: {brk.reason}")
        verifier.position, verifier.hash, synced = event.position, event.hash, True
        if log is not None:
            log.add(event.hash)
        # Merkle roots over the ranges checkpoints.json announces.
        while pending and int(pending[0]["to_position"]) < event.position:
            mark = pending.pop(0)
            if int(mark["from_position"]) >= first:
                fault(out.checkpoints, f"checkpoint at position {mark['position']}: its range "
                      f"{mark['from_position']}..{mark['to_position']} is not in {f.EVENTS}")
        if pending and int(pending[0]["from_position"]) == event.position:
            tree = MerkleBuilder()
        if tree is not None:
            tree.add(event.hash)
        if pending and int(pending[0]["to_position"]) == event.position:
            mark = pending.pop(0)
            if tree is None:
                out.skipped += 1  # starts before the export: nothing to recompute
            else:
                _check_mark(out, mark, tree.root(), tenant, key)
            tree = None
        if event.name == f.CHECKPOINT_EVENT:
            seen_marks.add(event.position)
            _same_mark(out, n, event.position, event.payload, by_event.get(event.position))
    for position in sorted(by_event.keys() - seen_marks):
        fault(out.checkpoints, f"{f.CHECKPOINTS}: checkpoint at position {position} "
              f"is not an event of {f.EVENTS}")
    _contiguous(out, marks)
    if verifier.position != int(span["last_position"]) or verifier.hash.hex() != span["head_hash"]:
        fault(out.chain, f"{f.EVENTS}: ends at position {verifier.position} with hash "
              f"{verifier.hash.hex()[:16]}…, manifest says {span['last_position']} "
              f"with {span['head_hash'][:16]}…")
    return out


def _check_mark(out: ChainOutcome, mark: dict[str, Any], root: bytes, tenant: str,
                key: Ed25519PublicKey | None) -> None:
    where = (f"checkpoint at position {mark['position']} "
             f"(range {mark['from_position']}..{mark['to_position']})")
    out.checked += 1
    if root.hex() != mark["root"]:
        out.checkpoints.append(f"{where}: Merkle root recomputed {root.hex()[:16]}…, "
                               f"signed {str(mark['root'])[:16]}…")
        return
    if key is None or mark.get("key_fingerprint") != fingerprint(key):
        out.checkpoints.append(f"{where}: signed by key {str(mark.get('key_fingerprint'))[:16]}…"
                               ", not the export's public key")
        return
    message = checkpoint_message(tenant, int(mark["from_position"]), int(mark["to_position"]),
                                 root)
    if not valid(key, bytes.fromhex(mark["signature"]), message):
        out.checkpoints.append(f"{where}: signature does not verify")


def _same_mark(out: ChainOutcome, line: int, position: int, payload: bytes,
               listed: dict[str, Any] | None) -> None:
    recorded = f.read_checkpoint(payload)
    if listed is None or {k: v for k, v in listed.items() if k != "position"} != recorded:
        out.checkpoints.append(f"{_place(line, position)}: CheckpointSigned differs from "
                               f"{f.CHECKPOINTS}")


def _contiguous(out: ChainOutcome, marks: list[dict[str, Any]]) -> None:
    ordered = sorted(marks, key=lambda m: int(m["position"]))
    for before, after in pairwise(ordered):
        if int(after["from_position"]) != int(before["to_position"]) + 1:
            out.checkpoints.append(
                f"checkpoint at position {after['position']}: starts at {after['from_position']}"
                f", the one before ended at {before['to_position']} (overlap or gap)")
