"""The hash chain: how an event's bytes are made canonical and linked to the one before.

    digest = sha256 of the length-prefixed fields (tenant, stream, version, name,
             payload, canonical metadata JSON, business time in UTC microseconds)
    hash   = sha256(prev_hash || int8(position) || int8(recorded_at µs) || digest)

The digest is computed by the appender; the link is computed inside PostgreSQL under
the tenant's chain-head lock (eventstore/sql/functions/wl_extend_chain.sql does the
same sum), so positions and hashes are assigned together. Anyone holding the rows (or an
export) can recompute both with this module alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from domain.ports import MetadataValue, RecordedEvent

GENESIS = bytes(32)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICRO


def canonical_json(value: Mapping[str, MetadataValue]) -> bytes:
    return json.dumps(
        dict(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()


def event_digest(
    tenant: str,
    stream: str,
    version: int,
    name: str,
    payload: bytes,
    metadata: Mapping[str, MetadataValue] | bytes,
    business_time: datetime,
) -> bytes:
    """`metadata` as a mapping, or already as its canonical_json (an appender that
    stores that text too makes it once)."""
    h = hashlib.sha256()
    for part in (
        tenant.encode(),
        stream.encode(),
        str(version).encode(),
        name.encode(),
        payload,
        metadata if isinstance(metadata, bytes) else canonical_json(metadata),
        str(micros(business_time)).encode(),
    ):
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.digest()


def link(prev_hash: bytes, position: int, recorded_at: datetime, digest: bytes) -> bytes:
    return hashlib.sha256(
        prev_hash
        + position.to_bytes(8, "big", signed=True)
        + micros(recorded_at).to_bytes(8, "big", signed=True)
        + digest
    ).digest()


def expected_hash(event: RecordedEvent) -> bytes:
    digest = event_digest(
        event.tenant,
        event.stream,
        event.version,
        event.name,
        event.payload,
        event.metadata,
        event.business_time,
    )
    return link(event.prev_hash, event.position, event.recorded_at, digest)


class ChainBreak(Exception):
    def __init__(self, tenant: str, position: int, reason: str) -> None:
        super().__init__(f"tenant {tenant}: chain breaks at position {position}: {reason}")
        self.tenant = tenant
        self.position = position
        self.reason = reason


class ChainVerifier:
    """Feed events of one tenant in position order; raises ChainBreak at the first fault."""

    def __init__(self, tenant: str) -> None:
        self.tenant = tenant
        self.position = 0
        self.hash = GENESIS

    def check(self, event: RecordedEvent) -> None:
        if event.position != self.position + 1:
            raise ChainBreak(
                self.tenant, self.position + 1, f"position {event.position} follows {self.position}"
            )
        if event.prev_hash != self.hash:
            raise ChainBreak(self.tenant, event.position, "previous hash does not match")
        if expected_hash(event) != event.hash:
            raise ChainBreak(self.tenant, event.position, "stored hash does not match its contents")
        self.position = event.position
        self.hash = event.hash
