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

_NO_HASH = b"\0" * 32  # a dry run's events are never chained


class OverlayEventStore:
    def __init__(self, base: EventStore) -> None:
        self.base = base
        self._heads: dict[str, int] = {}  # tenant -> the base's head when first used
        self._events: dict[str, list[RecordedEvent]] = {}
        self._by_stream: dict[tuple[str, str], list[RecordedEvent]] = {}
        self._versions: dict[tuple[str, str], int] = {}
        self._keys: dict[tuple[str, str], Appended] = {}
        self._refusals: dict[tuple[str, str], RememberedRefusal] = {}  # in the order made
        self._clocks: dict[str, datetime | None] = {}  # tenant -> the clock, moved on
        # What the base was asked ahead for a batch of commands (prepare): the answer
        # to each key (None: none), and the streams it does not hold. Anything not
        # asked ahead is asked of the base when needed.
        self._known_keys: dict[tuple[str, str], Appended | None] = {}
        self._known_refusals: dict[tuple[str, str], RememberedRefusal | None] = {}
        self._empty_in_base: set[tuple[str, str]] = set()

    async def _head(self, tenant: str) -> int:
        if tenant not in self._heads:
            self._heads[tenant] = await self.base.head(tenant)
        return self._heads[tenant]

    def learn(
        self, tenant: str, *, keys: Mapping[str, Appended | None] = {},
        refusals: Mapping[str, RememberedRefusal | None] = {}, empty: Collection[str] = (),
    ) -> None:
        """What the base answered ahead, in one read each, for a batch of commands: what
        each key recorded or was refused, and which streams it holds nothing of."""
        self._known_keys.update(((tenant, k), v) for k, v in keys.items())
        self._known_refusals.update(((tenant, k), v) for k, v in refusals.items())
        self._empty_in_base.update((tenant, s) for s in empty)

    def start_over(self, tenant: str, head: int, clock: datetime | None) -> None:
        """Forget everything layered (it is recorded now, or discarded) and stand on the
        base as it is at `head`."""
        self._heads[tenant] = head
        self._clocks[tenant] = clock
        self._events.pop(tenant, None)
        for table in (self._by_stream, self._versions, self._keys, self._refusals,
                      self._known_keys, self._known_refusals):
            for k in [k for k in table if k[0] == tenant]:
                del table[k]
        self._empty_in_base = {k for k in self._empty_in_base if k[0] != tenant}

    def layered(self, tenant: str) -> tuple[list[RecordedEvent], dict[str, Appended],
                                             list[RememberedRefusal]]:
        """What was recorded here: events in position order, the keys, the refusals in
        the order they were made."""
        return (
            self._events.get(tenant, []),
            {k: v for (t, k), v in self._keys.items() if t == tenant},
            [r for (t, _k), r in self._refusals.items() if t == tenant],
        )

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
        clock = await self.clock(tenant)
        for i, e in enumerate(events):
            event = RecordedEvent(tenant, start + i, e.stream, e.version, e.name, e.payload,
                                  e.business_time, e.metadata, now, _NO_HASH, _NO_HASH)
            mine.append(event)
            self._by_stream.setdefault((tenant, e.stream), []).append(event)
            self._versions[(tenant, e.stream)] = e.version
            if clock is None or e.business_time > clock:
                clock = e.business_time
        self._clocks[tenant] = clock
        appended = Appended(start if events else None, start + len(events) - 1 if events else None)
        if idempotency_key is not None:
            self._keys[(tenant, idempotency_key)] = appended
        return appended

    async def _last_version(self, tenant: str, stream: str) -> int:
        """The last version recorded here. The base is not asked: a command's versions
        come from its own reads of the base, so only a writer meanwhile could clash,
        which a bulk import's commit finds (eventstore/bulk.py) and a dry run does not
        claim to see."""
        return self._versions.get((tenant, stream), 0)

    def _mine(self, tenant: str, stream: str | None = None) -> list[RecordedEvent]:
        if stream is None:
            return self._events.get(tenant, [])
        return self._by_stream.get((tenant, stream), [])

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
        ask = {s: v for s, v in after.items() if (tenant, s) not in self._empty_in_base}
        found = await self.base.read_streams(tenant, ask) if ask else {}
        for stream, version in after.items():
            base = found.get(stream, [])
            found[stream] = [*base,
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
        if (tenant, idempotency_key) in self._known_keys:
            return self._known_keys[(tenant, idempotency_key)]
        return await self.base.recorded(tenant, idempotency_key)

    async def tracking_position(self, tenant: str, application: str) -> int | None:
        return await self.base.tracking_position(tenant, application)

    async def clock(self, tenant: str) -> datetime | None:
        """The base's clock (asked once), moved on by what was recorded here (too-late
        judges it)."""
        if tenant not in self._clocks:
            self._clocks[tenant] = await self.base.clock(tenant)
        return self._clocks[tenant]

    async def remember_refusal(
        self, tenant: str, refusal: RememberedRefusal
    ) -> RememberedRefusal:
        kept = await self.refusal(tenant, refusal.key)
        if kept is not None:
            return kept
        if await self.recorded(tenant, refusal.key) is not None:
            return refusal  # the key recorded events: that answers (id 0)
        kept = self._refusals[(tenant, refusal.key)] = dataclasses.replace(
            refusal, id=len(self._refusals) + 1, recorded_at=datetime.now(UTC),
            head_position=await self.head(tenant),
        )
        return kept

    async def refusal(self, tenant: str, key: str) -> RememberedRefusal | None:
        mine = self._refusals.get((tenant, key))
        if mine is not None:
            return mine
        if (tenant, key) in self._known_refusals:
            return self._known_refusals[(tenant, key)]
        return await self.base.refusal(tenant, key)

    async def read_refusals(self, tenant: str, **filters: object) -> list[RememberedRefusal]:
        raise NotImplementedError("a dry run lists no refusals")

    def follow(
        self, tenant: str, after: int = 0, *, names: Sequence[str] = ()
    ) -> AsyncIterator[RecordedEvent]:
        raise NotImplementedError("a dry run follows nothing")


class OverlayKeyVault:
    """Keys the real vault holds, and the layer's own for the people it joins."""

    def __init__(self, base: KeyVault) -> None:
        self.base = base
        self._keys: dict[tuple[str, str], bytes | None] = {}  # None: destroyed here
        self._claims: dict[tuple[str, bytes], str | None] = {}  # None: erased here
        self._erased: dict[tuple[str, str], None] = {}  # agents forgotten here, in order
        # Asked ahead for a batch (learn): keys (None: the base has none) and holders.
        self._known_keys: dict[tuple[str, str], bytes | None] = {}
        self._known_holders: dict[tuple[str, bytes], str | None] = {}
        self._new: set[tuple[str, str]] = set()  # keys made here

    def learn(self, tenant: str, *, keys: Mapping[str, bytes | None] = {},
              holders: Mapping[bytes, str | None] = {}) -> None:
        self._known_keys.update(((tenant, k), v) for k, v in keys.items())
        self._known_holders.update(((tenant, d), v) for d, v in holders.items())

    def start_over(self, tenant: str) -> None:
        for by_subject in (self._keys, self._erased, self._known_keys):
            for k in [k for k in by_subject if k[0] == tenant]:
                del by_subject[k]
        for by_digest in (self._claims, self._known_holders):
            for d in [d for d in by_digest if d[0] == tenant]:
                del by_digest[d]
        self._new = {k for k in self._new if k[0] != tenant}

    def layered(self, tenant: str) -> tuple[dict[str, bytes], list[str], list[str],
                                             dict[bytes, str]]:
        """What was changed here: the keys made (and not destroyed), the subjects whose
        keys were destroyed, the agents whose claims were erased (in order), and the
        claims made."""
        made = {s: k for (t, s), k in self._keys.items()
                if t == tenant and k is not None and (t, s) in self._new}
        destroyed = [s for (t, s), k in self._keys.items() if t == tenant and k is None]
        erased = [a for (t, a) in self._erased if t == tenant]
        claims = {d: a for (t, d), a in self._claims.items() if t == tenant and a is not None}
        return made, destroyed, erased, claims

    async def key_for(self, tenant: str, subject: str) -> bytes:
        key = await self.get(tenant, subject)
        if key is None:
            key = self._keys[(tenant, subject)] = os.urandom(32)
            self._new.add((tenant, subject))
        return key

    async def get(self, tenant: str, subject: str) -> bytes | None:
        if (tenant, subject) in self._keys:
            return self._keys[(tenant, subject)]
        if (tenant, subject) in self._known_keys:
            return self._known_keys[(tenant, subject)]
        return await self.base.get(tenant, subject)

    async def destroy(self, tenant: str, subject: str) -> bool:
        had = await self.get(tenant, subject) is not None
        self._keys[(tenant, subject)] = None
        return had

    @asynccontextmanager
    async def identities(self, tenant: str) -> AsyncIterator[IdentityClaims]:
        """The base's claims under its lock; none of the base's are asked when every
        holder was asked ahead (a bulk import's commit takes the lock instead)."""
        if any(t == tenant for t, _d in self._known_holders):
            yield _OverlayClaims(self, tenant, None)
            return
        async with self.base.identities(tenant) as base:
            yield _OverlayClaims(self, tenant, base)

    async def erase_identity(self, tenant: str, agent: str) -> None:
        self._erased[(tenant, agent)] = None
        for key, holder in list(self._claims.items()):
            if key[0] == tenant and holder == agent:
                self._claims[key] = None


class _OverlayClaims:
    """The real claims, then the layer's own."""

    def __init__(self, vault: OverlayKeyVault, tenant: str, base: IdentityClaims | None) -> None:
        self.vault = vault
        self.tenant = tenant
        self.base = base

    async def holder(self, digest: bytes) -> str | None:
        if (self.tenant, digest) in self.vault._claims:
            return self.vault._claims[(self.tenant, digest)]
        if (self.tenant, digest) in self.vault._known_holders:
            found = self.vault._known_holders[(self.tenant, digest)]
        elif self.base is not None:
            found = await self.base.holder(digest)
        else:
            raise LookupError("a holder not asked ahead")
        return None if (self.tenant, found) in self.vault._erased else found

    async def claim(self, digest: bytes, agent: str) -> None:
        self.vault._claims[(self.tenant, digest)] = agent
