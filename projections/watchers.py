"""The watchers: every alert rule of domain/compliance run over the log, as a process.

Only the EventStore port is used, so the same code watches the in-memory twin and
PostgreSQL. A watcher reads the log in position order into a Monitor (pure, in the
domain), which answers the breaches each event reveals; they are appended as
AlertRaised events together with the watcher's tracking position, in ONE append. So
progress and alerts commit together: after a crash either both are recorded or neither.

The Monitor's state is not stored: a watcher that starts replays the log from position
0 and raises only the breaches revealed by events after its recorded tracking position;
the Monitor is deterministic, so what it finds up to there is exactly what was raised.
Each alert is version 1 of its own stream ("alert-<breach key>"), so two watchers racing
on one tenant cannot raise a breach twice either: the loser gets a conflict, replays and
takes the winner's word.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from domain.compliance.alerts import Alert, alert_stream
from domain.compliance.judging import Breach
from domain.compliance.monitor import WATCHED, Monitor
from domain.events import Codec, create
from domain.ports import (
    EventStore,
    MetadataValue,
    NewEvent,
    Tracking,
    TrackingConflict,
    VersionConflict,
)
from projections.following import Listening, follow

APPLICATION = "watchers"  # the tracking name; also the actor of every AlertRaised
BATCH = 1000
# Events judged between two turns of the event loop: a leader's watcher replays the whole
# log at each start (minutes on a large brand), in the loop its process's pages share;
# a page waits at most this many events' judging for each query it makes.
SHARE = 25
MAX_RESTARTS = 5
_codec = Codec()


def encode(breach: Breach) -> list[NewEvent]:
    stream = alert_stream(breach.key)
    alert = create(
        Alert,
        Alert.Raised,
        stream,
        breach.at,
        alert=breach.key,
        rule=breach.rule,
        agent=breach.agent,
        severity=breach.severity,
        numbers=dict(breach.numbers),
        cites=list(breach.cites),
        policy_version=breach.policy_version,
    )
    metadata: dict[str, MetadataValue] = {
        "actor": APPLICATION,
        "command": "watch",
        "policy_version": breach.policy_version,
        "cause": breach.trigger,  # the position whose arrival revealed the breach
    }
    return [_codec.encode(stream, event, metadata) for event in alert.collect_events()]


class Watchers:
    """One tenant's watcher: `catch_up` to the head, or `follow` it live."""

    def __init__(self, store: EventStore, tenant: str, *, batch: int = BATCH) -> None:
        self.store = store
        self.tenant = tenant
        self.batch = batch
        self.raised = 0  # alerts this watcher appended, over all its catch-ups
        self._reset()

    def _reset(self) -> None:
        self.monitor = Monitor()
        self.position = 0  # the last event of the last batch fed to the monitor whole
        self.recorded: int | None = None  # the tracking position in the store

    async def catch_up(self) -> int:
        """Judge every event up to the head; the number of alerts this watcher raised."""
        before = self.raised
        for _ in range(MAX_RESTARTS):
            try:
                await self._catch_up()
                return self.raised - before
            except (VersionConflict, TrackingConflict):
                # Someone else wrote an alert stream without tracking past it: the log is
                # not what this watcher thought. Replay from scratch, trusting only it.
                self._reset()
        raise RuntimeError(f"watchers of {self.tenant} keep conflicting with another writer")

    async def _catch_up(self) -> None:
        if self.recorded is None:
            self.recorded = await self.store.tracking_position(self.tenant, APPLICATION) or 0
        while True:
            events = await self.store.read_log(
                self.tenant, after=self.position, payloads=WATCHED, limit=self.batch
            )
            if not events:
                return
            found: list[Breach] = []
            for n, event in enumerate(events, 1):
                found += self.monitor.observe_recorded(event)
                if n % SHARE == 0:
                    await asyncio.sleep(0)
            self.position = events[-1].position
            await self._commit(found)
            if len(events) < self.batch:
                # A short page is the head: positions are gapless and given in commit
                # order, so nothing can appear below it later. Asking again would cost
                # every round a query that finds nothing; whatever commits meanwhile
                # wakes the next round.
                return

    async def _commit(self, found: list[Breach]) -> None:
        while True:
            assert self.recorded is not None
            if self.position <= self.recorded:
                return  # replaying what was already judged and recorded (by anyone)
            new = [b for b in found if b.trigger > self.recorded]
            if not new:
                # Nothing to raise, so nothing to record: a restart replays the log from
                # 0 anyway and finds nothing here again (the Monitor is deterministic).
                # A progress-only append per round would also send every command
                # appended beside it down the store's per-request path.
                return
            events = [e for breach in new for e in encode(breach)]
            try:
                await self.store.append(
                    self.tenant, events, tracking=Tracking(APPLICATION, self.position)
                )
            except (VersionConflict, TrackingConflict):
                # Another watcher recorded first, its alerts and its position together:
                # what it judged is raised. Take its position and record the rest.
                latest = await self.store.tracking_position(self.tenant, APPLICATION) or 0
                if latest <= self.recorded:
                    raise
                self.recorded = latest
                continue
            self.recorded = self.position
            self.raised += len(new)
            return

    async def follow(self, *, pace: float = 0.0) -> None:
        """Catch up, then again after each batch the tenant commits, until cancelled, at
        most once per `pace` seconds (projections.following)."""
        if not isinstance(self.store, Listening):
            raise TypeError(f"{type(self.store).__name__} cannot be listened to")
        await follow(self.store, self.tenant, self.catch_up, pace=pace)


async def run_watchers(store: EventStore, tenant: str) -> int:
    """Catch the watchers of one tenant up to the head; the number of alerts raised."""
    return await Watchers(store, tenant).catch_up()


# reads of what was raised, straight from the log (the read model is projections/alerts.py)


async def alert_events(store: EventStore, tenant: str) -> AsyncIterator[dict[str, Any]]:
    """Every AlertRaised, oldest first, as its decoded fields plus position and time."""
    after = 0
    while True:
        page = await store.read_all(tenant, after=after, names=("AlertRaised",), limit=BATCH)
        for e in page:
            fields = _codec.mapper.transcoder.decode(e.payload)
            yield {**fields, "position": e.position, "business_time": e.business_time}
        if len(page) < BATCH:
            return
        after = page[-1].position


async def raised_alerts(store: EventStore, tenant: str) -> set[tuple[str, str]]:
    """(rule, agent) of every alert ever raised: what a scenario's `alerts` lists."""
    return {(a["rule"], a["agent"]) async for a in alert_events(store, tenant)}
