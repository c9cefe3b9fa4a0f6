"""The in-memory twin of the PostgreSQL store: same contract, for fast tests."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from domain.ports import (
    Appended,
    LoggedEvent,
    NewEvent,
    RecordedEvent,
    RememberedRefusal,
    Tracking,
    TrackingConflict,
    VersionConflict,
)
from eventstore.chain import GENESIS, event_digest, link


class _Tenant:
    def __init__(self) -> None:
        self.events: list[RecordedEvent] = []
        self.versions: dict[str, dict[int, RecordedEvent]] = {}
        self.keys: dict[str, Appended] = {}
        self.tracking: dict[str, int] = {}
        self.refusals: dict[str, RememberedRefusal] = {}
        self.clock: datetime | None = None
        self.changed = asyncio.Condition()


class InMemoryEventStore:
    def __init__(self) -> None:
        self._tenants: dict[str, _Tenant] = {}
        self._listeners: list[tuple[str | None, Callable[[int], Any]]] = []

    def _tenant(self, tenant: str) -> _Tenant:
        return self._tenants.setdefault(tenant, _Tenant())

    async def append(
        self,
        tenant: str,
        events: Sequence[NewEvent],
        *,
        idempotency_key: str | None = None,
        tracking: Tracking | None = None,
    ) -> Appended:
        t = self._tenant(tenant)
        if idempotency_key is not None and idempotency_key in t.keys:
            first = t.keys[idempotency_key]
            return Appended(first.first_position, first.last_position, replayed=True)
        seen: set[tuple[str, int]] = set()
        for e in events:
            if e.version in t.versions.get(e.stream, {}) or (e.stream, e.version) in seen:
                raise VersionConflict(f"{e.stream}@{e.version}")
            seen.add((e.stream, e.version))
        if tracking is not None:
            last = t.tracking.get(tracking.application)
            if last is not None and tracking.position <= last:
                raise TrackingConflict(f"{tracking.application} already at {last}")
            t.tracking[tracking.application] = tracking.position
        recorded_at = datetime.now(UTC)
        first_position = len(t.events) + 1 if events else None
        for e in events:
            prev = t.events[-1].hash if t.events else GENESIS
            position = len(t.events) + 1
            digest = event_digest(
                tenant, e.stream, e.version, e.name, e.payload, e.metadata, e.business_time
            )
            recorded = RecordedEvent(
                tenant=tenant,
                position=position,
                stream=e.stream,
                version=e.version,
                name=e.name,
                payload=e.payload,
                business_time=e.business_time,
                metadata=dict(e.metadata),
                recorded_at=recorded_at,
                prev_hash=prev,
                hash=link(prev, position, recorded_at, digest),
            )
            t.events.append(recorded)
            t.clock = e.business_time if t.clock is None else max(t.clock, e.business_time)
            t.versions.setdefault(e.stream, {})[e.version] = recorded
        appended = Appended(first_position, len(t.events) if events else None)
        if idempotency_key is not None:
            t.keys[idempotency_key] = appended
        if events:
            async with t.changed:
                t.changed.notify_all()
            for listening, on_commit in list(self._listeners):
                if listening is None or listening == tenant:
                    on_commit(len(t.events))
        return appended

    async def listen(
        self, tenant: str | None, on_commit: Callable[[int], Any]
    ) -> Callable[[], Any]:
        """As PostgresEventStore.listen: on_commit(last position) after each append that
        recorded events, of the tenant (or of any tenant, with None); returns an async
        function that stops listening."""
        listener = (tenant, on_commit)
        self._listeners.append(listener)

        async def stop() -> None:
            self._listeners.remove(listener)

        return stop

    async def read_stream(
        self,
        tenant: str,
        stream: str,
        *,
        after_version: int | None = None,
        upto_version: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> list[RecordedEvent]:
        found = sorted(
            (
                e
                for v, e in self._tenant(tenant).versions.get(stream, {}).items()
                if (after_version is None or v > after_version)
                and (upto_version is None or v <= upto_version)
            ),
            key=lambda e: e.version,
            reverse=desc,
        )
        return found[:limit] if limit is not None else found

    async def read_streams(
        self, tenant: str, after: Mapping[str, int]
    ) -> dict[str, list[RecordedEvent]]:
        versions = self._tenant(tenant).versions
        return {
            stream: [e for v, e in sorted(versions.get(stream, {}).items()) if v > version]
            for stream, version in after.items()
        }

    async def read_all(
        self,
        tenant: str,
        *,
        after: int = 0,
        upto_position: int | None = None,
        upto_business_time: datetime | None = None,
        names: Sequence[str] = (),
        limit: int = 1000,
    ) -> list[RecordedEvent]:
        found = []
        for e in self._tenant(tenant).events[max(after, 0) :]:
            if upto_position is not None and e.position > upto_position:
                break
            if upto_business_time is not None and e.business_time > upto_business_time:
                continue
            if names and e.name not in names:
                continue
            found.append(e)
            if len(found) == limit:
                break
        return found

    async def read_log(
        self,
        tenant: str,
        *,
        after: int = 0,
        payloads: Collection[str] = (),
        limit: int = 1000,
    ) -> list[LoggedEvent]:
        wanted = frozenset(payloads)
        return [
            LoggedEvent(
                e.position,
                e.stream,
                e.name,
                e.business_time,
                e.payload if e.name in wanted else None,
            )
            for e in await self.read_all(tenant, after=after, limit=limit)
        ]

    async def recorded(self, tenant: str, idempotency_key: str) -> Appended | None:
        first = self._tenant(tenant).keys.get(idempotency_key)
        return None if first is None else Appended(first.first_position, first.last_position, True)

    async def head(self, tenant: str) -> int:
        return len(self._tenant(tenant).events)

    async def tracking_position(self, tenant: str, application: str) -> int | None:
        return self._tenant(tenant).tracking.get(application)

    async def remember_refusal(
        self, tenant: str, refusal: RememberedRefusal
    ) -> RememberedRefusal:
        t = self._tenant(tenant)
        if refusal.key in t.keys or refusal.key in t.refusals:
            return t.refusals.get(refusal.key, refusal)
        kept = dataclasses.replace(
            refusal, id=len(t.refusals) + 1, recorded_at=datetime.now(UTC),
            head_position=len(t.events),
        )
        t.refusals[refusal.key] = kept
        return kept

    async def refusal(self, tenant: str, key: str) -> RememberedRefusal | None:
        return self._tenant(tenant).refusals.get(key)

    async def read_refusals(
        self,
        tenant: str,
        *,
        after_id: int = 0,
        after_position: int | None = None,
        upto_position: int | None = None,
        rule: str | None = None,
        agent: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
    ) -> list[RememberedRefusal]:
        found = [
            r for r in self._tenant(tenant).refusals.values()
            if r.id > after_id
            and (after_position is None or r.head_position > after_position)
            and (upto_position is None or r.head_position <= upto_position)
            and (rule is None or r.rule == rule) and (agent is None or r.agent == agent)
            and (since is None or (r.recorded_at is not None and r.recorded_at >= since))
            and (until is None or (r.recorded_at is not None and r.recorded_at < until))
        ]
        return found[:limit]

    async def clock(self, tenant: str) -> datetime | None:
        return self._tenant(tenant).clock

    async def follow(
        self, tenant: str, after: int = 0, *, names: Sequence[str] = ()
    ) -> AsyncIterator[RecordedEvent]:
        t = self._tenant(tenant)
        while True:
            end = len(t.events)
            batch = await self.read_all(tenant, after=after, upto_position=end, names=names)
            for event in batch:
                yield event
            if len(batch) == 1000:
                after = batch[-1].position
                continue
            after = end
            async with t.changed:
                while len(t.events) <= after:
                    await t.changed.wait()
