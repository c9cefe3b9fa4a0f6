"""Signed checkpoints: who appends them, over which ranges.

`checkpoint` is one pass of a small process (run by `weiledger checkpoint` and
`weiledger export`, callable from the service on a timer later). It reads the last
CheckpointSigned of the tenant, walks the events after it, and cuts a range every
`every` events and right after each period close (PeriodClosed and the StatementIssued
events of its append), so every closed month ends on a signed root. Each range's RFC 6962
root (merkle.py) is signed with the brand's key and appended as a CheckpointSigned event
in stream "checkpoints", version k for the k-th checkpoint.

Ranges never overlap and leave no gap: checkpoint k starts right after checkpoint k-1
ends, and the append expects version k of the stream, so two checkpointers racing on one
tenant get a VersionConflict for the loser, which reloads and carries on from the
winner's range. A checkpoint event is itself an event of the chain, covered by the next
range. The tail after the last cut waits for the next pass (or `through_head=True`,
which `weiledger export` and GET /v1/exports ask for: an export ends on a signed root).

With `receipts`, each checkpoint appended is also written there (export/receipts.py),
outside the database, with the chain hashes it covers.
"""

from __future__ import annotations

import asyncio
import bisect
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain.ports import EventStore, NewEvent, RecordedEvent, VersionConflict
from export.format import (
    CHECKPOINT_EVENT,
    CHECKPOINT_STREAM,
    MERKLE_TREE,
    checkpoint_payload,
    read_checkpoint,
)
from export.merkle import MerkleBuilder
from export.receipts import write_receipt
from export.signing import checkpoint_message, fingerprint

DEFAULT_EVERY = 10_000
PAGE = 5_000
ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Cut:
    first: int
    last: int
    root: bytes
    business_time: datetime  # the last covered event's, so the checkpoint moves no clock
    trigger: str  # "every", "period-close" or "head"
    hashes: bytes = b""  # the covered events' chain hashes, for the receipt


async def last_checkpoint(store: EventStore, tenant: str) -> tuple[int, int]:
    """(stream version, last position covered) of the latest checkpoint; (0, 0) if none."""
    found = await last_signed(store, tenant)
    if found is None:
        return 0, 0
    return found.version, int(read_checkpoint(found.payload)["to_position"])


async def _cuts(store: EventStore, tenant: str, after: int, head: int, every: int,
                through_head: bool) -> list[Cut]:
    cuts: list[Cut] = []
    tree, first, closing, hashes = MerkleBuilder(), after + 1, False, bytearray()
    last: RecordedEvent | None = None
    signed_only = True  # the tail holds nothing but checkpoints: no need to sign it

    def cut(trigger: str) -> None:
        nonlocal tree, first, hashes
        assert last is not None
        cuts.append(Cut(first, last.position, tree.root(), last.business_time, trigger,
                        bytes(hashes)))
        tree, first, hashes = MerkleBuilder(), last.position + 1, bytearray()

    position = after
    while position < head:
        page = await store.read_all(tenant, after=position, upto_position=head, limit=PAGE)
        if not page:
            break
        for event in page:
            # A close's append is PeriodClosed then its StatementIssued events: cut
            # before the first event that is not one of them.
            if closing and event.name != "StatementIssued" and tree.count:
                cut("period-close")
            closing = (closing and event.name == "StatementIssued") or event.name == "PeriodClosed"
            tree.add(event.hash)
            hashes += event.hash
            signed_only = signed_only and event.name == CHECKPOINT_EVENT
            last = event
            if tree.count == every:
                cut("every")
        position = page[-1].position
    if tree.count and (closing or (through_head and not signed_only)):
        cut("period-close" if closing else "head")
    return cuts


def _fields(tenant: str, key: Ed25519PrivateKey, c: Cut) -> dict[str, Any]:
    signature = key.sign(checkpoint_message(tenant, c.first, c.last, c.root))
    fields: dict[str, Any] = {
        "tenant": tenant,
        "from_position": c.first,
        "to_position": c.last,
        "count": c.last - c.first + 1,
        "tree": MERKLE_TREE,
        "root": c.root.hex(),
        "signature": signature.hex(),
        "key_fingerprint": fingerprint(key.public_key()),
        "trigger": c.trigger,
        "signed_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return fields


def _event(version: int, c: Cut, fields: dict[str, Any]) -> NewEvent:
    return NewEvent(
        stream=CHECKPOINT_STREAM,
        version=version,
        name=CHECKPOINT_EVENT,
        payload=checkpoint_payload(fields),
        business_time=c.business_time,
        metadata={"actor": "checkpoints"},
    )


async def checkpoint(store: EventStore, tenant: str, key: Ed25519PrivateKey,
                     every: int = DEFAULT_EVERY, *, through_head: bool = False,
                     receipts: Path | None = None) -> list[Cut]:
    """Sign every range due since the last checkpoint; returns the ranges appended.
    `receipts`: the folder their receipts go to (written once the append committed)."""
    if every < 1:
        raise ValueError("every must be at least 1")
    for _attempt in range(ATTEMPTS):
        version, after = await last_checkpoint(store, tenant)
        head = await store.head(tenant)
        cuts = await _cuts(store, tenant, after, head, every, through_head)
        if not cuts:
            return []
        signed = [_fields(tenant, key, c) for c in cuts]
        events = [_event(version + n, c, fields)
                  for n, (c, fields) in enumerate(zip(cuts, signed, strict=True), start=1)]
        try:
            await store.append(tenant, events)
        except VersionConflict:
            continue  # another checkpointer signed first: start from its ranges
        if receipts is not None:
            for c, fields in zip(cuts, signed, strict=True):
                await asyncio.to_thread(write_receipt, receipts, fields, c.hashes)
        return cuts
    raise VersionConflict(f"{CHECKPOINT_STREAM} of {tenant} after {ATTEMPTS} attempts")


async def signing(store: EventStore, tenant: str, position: int) -> dict[str, Any] | None:
    """The checkpoint whose range holds `position`, its fields and its own position
    ("position"); None while no checkpoint has signed it yet. Checkpoints are few (one
    per DEFAULT_EVERY events or period close), and in range order: found by bisection."""
    signed = await store.read_stream(tenant, CHECKPOINT_STREAM)
    ends = [int(read_checkpoint(e.payload)["to_position"]) for e in signed]
    k = bisect.bisect_left(ends, position)
    if k == len(signed):
        return None
    return {**read_checkpoint(signed[k].payload), "position": signed[k].position,
            "business_time": signed[k].business_time}


async def last_signed(store: EventStore, tenant: str) -> RecordedEvent | None:
    """The latest CheckpointSigned event (None: nothing signed yet)."""
    found = await store.read_stream(tenant, CHECKPOINT_STREAM, desc=True, limit=1)
    return found[0] if found else None
