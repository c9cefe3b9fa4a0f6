"""A store and a vault layered over real ones, for `weiledger import --dry-run`: reads
see the real ledger and then what the dry run itself recorded; writes stay in memory.

Chosen over a rolled-back transaction because a command is not one transaction: the
store appends through its group-commit writer on a connection of its own, the vault
creates keys on another, and a refusal is kept on a third. Layered, every line goes
through the same services and rules as a real import (Ledger.handle), judged in order
against the ledger as it stands plus the lines before it, and nothing reaches the
database. Exact while nobody else writes to the tenant during the dry run: the layer
numbers its events after the head it saw first.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from domain.ports import (
    Appended,
    EventStore,
    IdentityClaims,
    KeyVault,
    LoggedEvent,
    NewEvent,
    RecordedEvent,
    RememberedRefusal,
    Tracking,
    VersionConflict,
)
from eventstore.memory import InMemoryEventStore

_NO_HASH = b"\0" * 32  # a dry run's events are never chained


class OverlayEventStore:
    def __init__(self, base: EventStore) -> None:
        self.base = base
        self._heads: dict[str, int] = {}  # tenant -> the base's head when first used
        self._events: dict[str, list[RecordedEvent]] = {}
        self._versions: dict[tuple[str, str], int] = {}
        self._keys: dict[tuple[str, str], Appended] = {}
        self._refusals = InMemoryEventStore()  # only its table of refusals is used

    async def _head(self, tenant: str) -> int:
        if tenant not in self._heads:
            self._heads[tenant] = await self.base.head(tenant)
        return self._heads[tenant]

    async def append(
        self, tenant: str, events: Sequence[NewEvent], *, idempotency_key: str | None = None,
        tracking: Tracking | None = None,
    ) -> Appended:
        if idempotency_key is not None:
            first = await self.recorded(tenant, idempotency_key)
            if first is not None:
                return first
        for e in events:
            if e.version <= await self._last_version(tenant, e.stream):
                raise VersionConflict(f"{e.stream}@{e.version}")
        mine = self._events.setdefault(tenant, [])
        start = await self._head(tenant) + len(mine) + 1
        now = datetime.now(UTC)
        for i, e in enumerate(events):
            mine.append(RecordedEvent(tenant, start + i, e.stream, e.version, e.name, e.payload,
                                      e.business_time, dict(e.metadata), now, _NO_HASH,
                                      _NO_HASH))
            self._versions[(tenant, e.stream)] = e.version
        appended = Appended(start if events else None, start + len(events) - 1 if events else None)
        if idempotency_key is not None:
            self._keys[(tenant, idempotency_key)] = appended
        return appended

    async def _last_version(self, tenant: str, stream: str) -> int:
        if (tenant, stream) in self._versions:
            return self._versions[(tenant, stream)]
        last = await self.base.read_stream(tenant, stream, desc=True, limit=1)
        return last[0].version if last else 0

    def _mine(self, tenant: str, stream: str | None = None) -> list[RecordedEvent]:
        return [e for e in self._events.get(tenant, []) if stream is None or e.stream == stream]

    async def read_stream(
        self, tenant: str, stream: str, *, after_version: int | None = None,
        upto_version: int | None = None, desc: bool = False, limit: int | None = None,
    ) -> list[RecordedEvent]:
        found = [
            e for e in [*await self.base.read_stream(tenant, stream), *self._mine(tenant, stream)]
            if (after_version is None or e.version > after_version)
            and (upto_version is None or e.version <= upto_version)
        ]
        found.sort(key=lambda e: e.version, reverse=desc)
        return found[:limit] if limit is not None else found

    async def read_streams(
        self, tenant: str, after: Mapping[str, int]
    ) -> dict[str, list[RecordedEvent]]:
        found = await self.base.read_streams(tenant, after)
        for stream, version in after.items():
            found[stream] = [*found[stream],
                             *(e for e in self._mine(tenant, stream) if e.version > version)]
        return found

    async def read_all(
        self, tenant: str, *, after: int = 0, upto_position: int | None = None,
        upto_business_time: datetime | None = None, names: Sequence[str] = (),
        limit: int = 1000,
    ) -> list[RecordedEvent]:
        head = await self._head(tenant)
        found: list[RecordedEvent] = []
        if after < head:
            upto = head if upto_position is None else min(upto_position, head)
            found = await self.base.read_all(
                tenant, after=after, upto_position=upto,
                upto_business_time=upto_business_time, names=names, limit=limit,
            )
            if len(found) == limit:
                return found
        for e in self._mine(tenant):
            if len(found) == limit or (upto_position is not None and e.position > upto_position):
                break
            if e.position <= after or (names and e.name not in names) or (
                upto_business_time is not None and e.business_time > upto_business_time
            ):
                continue
            found.append(e)
        return found

    async def read_log(
        self, tenant: str, *, after: int = 0, payloads: Collection[str] = (), limit: int = 1000
    ) -> list[LoggedEvent]:
        wanted = frozenset(payloads)
        return [
            LoggedEvent(e.position, e.stream, e.name, e.business_time,
                        e.payload if e.name in wanted else None)
            for e in await self.read_all(tenant, after=after, limit=limit)
        ]

    async def head(self, tenant: str) -> int:
        return await self._head(tenant) + len(self._events.get(tenant, []))

    async def recorded(self, tenant: str, idempotency_key: str) -> Appended | None:
        mine = self._keys.get((tenant, idempotency_key))
        if mine is not None:
            return dataclasses.replace(mine, replayed=True)
        return await self.base.recorded(tenant, idempotency_key)

    async def tracking_position(self, tenant: str, application: str) -> int | None:
        return await self.base.tracking_position(tenant, application)

    async def clock(self, tenant: str) -> datetime | None:
        """The base's clock, moved on by what the dry run recorded (too-late judges it)."""
        times = [e.business_time for e in self._mine(tenant)]
        base = await self.base.clock(tenant)
        return max([*times, *([base] if base is not None else [])], default=None)

    async def remember_refusal(
        self, tenant: str, refusal: RememberedRefusal
    ) -> RememberedRefusal:
        kept = await self.base.refusal(tenant, refusal.key)
        if kept is not None:
            return kept
        return await self._refusals.remember_refusal(tenant, refusal)

    async def refusal(self, tenant: str, key: str) -> RememberedRefusal | None:
        return await self.base.refusal(tenant, key) or await self._refusals.refusal(tenant, key)

    async def read_refusals(self, tenant: str, **filters: object) -> list[RememberedRefusal]:
        raise NotImplementedError("a dry run lists no refusals")

    def follow(
        self, tenant: str, after: int = 0, *, names: Sequence[str] = ()
    ) -> AsyncIterator[RecordedEvent]:
        raise NotImplementedError("a dry run follows nothing")


class OverlayKeyVault:
    """Keys the real vault holds, and the dry run's own for the people it joins."""

    def __init__(self, base: KeyVault) -> None:
        self.base = base
        self._keys: dict[tuple[str, str], bytes | None] = {}  # None: destroyed here
        self._claims: dict[tuple[str, bytes], str | None] = {}  # None: erased here
        self._erased: set[tuple[str, str]] = set()  # agents forgotten here

    async def key_for(self, tenant: str, subject: str) -> bytes:
        key = await self.get(tenant, subject)
        if key is None:
            key = self._keys[(tenant, subject)] = os.urandom(32)
        return key

    async def get(self, tenant: str, subject: str) -> bytes | None:
        if (tenant, subject) in self._keys:
            return self._keys[(tenant, subject)]
        return await self.base.get(tenant, subject)

    async def destroy(self, tenant: str, subject: str) -> bool:
        had = await self.get(tenant, subject) is not None
        self._keys[(tenant, subject)] = None
        return had

    @asynccontextmanager
    async def identities(self, tenant: str) -> AsyncIterator[IdentityClaims]:
        async with self.base.identities(tenant) as base:
            yield _OverlayClaims(self, tenant, base)

    async def erase_identity(self, tenant: str, agent: str) -> None:
        self._erased.add((tenant, agent))
        for key, holder in list(self._claims.items()):
            if key[0] == tenant and holder == agent:
                self._claims[key] = None


class _OverlayClaims:
    """The real claims, then the dry run's own."""

    def __init__(self, vault: OverlayKeyVault, tenant: str, base: IdentityClaims) -> None:
        self.vault = vault
        self.tenant = tenant
        self.base = base

    async def holder(self, digest: bytes) -> str | None:
        if (self.tenant, digest) in self.vault._claims:
            return self.vault._claims[(self.tenant, digest)]
        found = await self.base.holder(digest)
        return None if (self.tenant, found) in self.vault._erased else found

    async def claim(self, digest: bytes, agent: str) -> None:
        self.vault._claims[(self.tenant, digest)] = agent
