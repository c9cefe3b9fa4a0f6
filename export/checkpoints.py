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
range. The tail after the last cut waits for the next pass (or `through_head=True`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
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
    trigger: str  # "every" or "period-close"


async def last_checkpoint(store: EventStore, tenant: str) -> tuple[int, int]:
    """(stream version, last position covered) of the latest checkpoint; (0, 0) if none."""
    found = await store.read_stream(tenant, CHECKPOINT_STREAM, desc=True, limit=1)
    if not found:
        return 0, 0
    return found[0].version, int(read_checkpoint(found[0].payload)["to_position"])


async def _cuts(store: EventStore, tenant: str, after: int, head: int, every: int,
                through_head: bool) -> list[Cut]:
    cuts: list[Cut] = []
    tree, first, closing = MerkleBuilder(), after + 1, False
    last: RecordedEvent | None = None

    def cut(trigger: str) -> None:
        nonlocal tree, first
        assert last is not None
        cuts.append(Cut(first, last.position, tree.root(), last.business_time, trigger))
        tree, first = MerkleBuilder(), last.position + 1

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
            last = event
            if tree.count == every:
                cut("every")
        position = page[-1].position
    if tree.count and (closing or through_head):
        cut("period-close" if closing else "head")
    return cuts


def _event(tenant: str, key: Ed25519PrivateKey, version: int, c: Cut) -> NewEvent:
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
    return NewEvent(
        stream=CHECKPOINT_STREAM,
        version=version,
        name=CHECKPOINT_EVENT,
        payload=checkpoint_payload(fields),
        business_time=c.business_time,
        metadata={"actor": "checkpoints"},
    )


async def checkpoint(store: EventStore, tenant: str, key: Ed25519PrivateKey,
                     every: int = DEFAULT_EVERY, *, through_head: bool = False) -> list[Cut]:
    """Sign every range due since the last checkpoint; returns the ranges appended."""
    if every < 1:
        raise ValueError("every must be at least 1")
    for _attempt in range(ATTEMPTS):
        version, after = await last_checkpoint(store, tenant)
        head = await store.head(tenant)
        cuts = await _cuts(store, tenant, after, head, every, through_head)
        if not cuts:
            return []
        events = [_event(tenant, key, version + n, c) for n, c in enumerate(cuts, start=1)]
        try:
            await store.append(tenant, events)
        except VersionConflict:
            continue  # another checkpointer signed first: start from its ranges
        return cuts
    raise VersionConflict(f"{CHECKPOINT_STREAM} of {tenant} after {ATTEMPTS} attempts")
