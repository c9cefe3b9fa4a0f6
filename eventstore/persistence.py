"""The event store as an eventsourcing persistence module.

Use it with PERSISTENCE_MODULE=eventstore.persistence.

The library's recorders are synchronous and threaded; ours is asyncio. A private event
loop runs in a daemon thread and every recorder call is handed to it, so concurrent
threads feed the same group-commit writer. Each application (or test) names a tenant,
which gives it its own gapless notification ids starting at 1.

Environment: WEILEDGER_DATABASE_URL (required), WEILEDGER_TENANT (default: the
application's name).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
from eventsourcing import persistence as es
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
    ListenNotifySubscription,
    Notification,
    ProcessRecorder,
    StoredEvent,
    Subscription,
    TrackingRecorder,
)
from eventsourcing.utils import Environment

from domain.ports import NewEvent, RecordedEvent, Tracking, TrackingConflict, VersionConflict
from eventstore.database import close_pool, create_pool
from eventstore.errors import UNAVAILABLE, DatabaseUnavailable
from eventstore.postgres import PostgresEventStore

T = TypeVar("T")
_UNAVAILABLE: tuple[type[Exception], ...] = (DatabaseUnavailable, *UNAVAILABLE)


@contextmanager
def pep249_errors() -> Iterator[None]:
    """The one place where our errors and asyncpg's become the library's PEP 249 names."""
    try:
        yield
    except (VersionConflict, TrackingConflict) as error:
        raise es.IntegrityError(str(error)) from error
    except asyncpg.IntegrityConstraintViolationError as error:
        raise es.IntegrityError(str(error)) from error
    except asyncpg.DataError as error:
        raise es.DataError(str(error)) from error
    except asyncpg.InsufficientPrivilegeError as error:
        raise es.ProgrammingError(str(error)) from error
    # What eventstore.errors calls unavailable, whether the store translated it already
    # or the driver raised it here.
    except _UNAVAILABLE as error:
        raise es.OperationalError(str(error)) from error
    except asyncpg.PostgresError as error:
        raise es.DatabaseError(str(error)) from error


class Datastore:
    """A pool and our async store, driven from synchronous code through a private loop."""

    def __init__(self, url: str, *, app_role: str | None = "weiledger_app", size: int = 20):
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.pool = self.run(create_pool(url, app_role=app_role, size=size))
        self.store = PostgresEventStore(self.pool)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        with pep249_errors():
            return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def close(self) -> None:
        if self.loop.is_closed():
            return
        self.run(self.store.close())
        self.run(close_pool(self.pool))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class _Recorder:
    def __init__(self, datastore: Datastore, tenant: str, originator_id_type: str = "uuid"):
        self.datastore = datastore
        self.tenant = tenant
        self._as_id = UUID if originator_id_type == "uuid" else str

    def _insert(self, stored_events: Sequence[StoredEvent], tracking: Any = None) -> list[int]:
        # The library's events carry their own timestamps inside `state`; the store's
        # business time for them is the moment they are recorded.
        now = datetime.now(UTC)
        events = [
            NewEvent(str(e.originator_id), e.originator_version, e.topic, e.state, now)
            for e in stored_events
        ]
        ours = Tracking(tracking.application_name, tracking.notification_id) if tracking else None
        appended = self.datastore.run(
            self.datastore.store.append(self.tenant, events, tracking=ours)
        )
        return list(appended.positions)

    def _stored(self, e: RecordedEvent) -> StoredEvent:
        return StoredEvent(self._as_id(e.stream), e.version, e.name, e.payload)

    def _notification(self, e: RecordedEvent) -> Notification:
        return Notification(self._as_id(e.stream), e.version, e.name, e.payload, e.position)

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        found = self.datastore.run(
            self.datastore.store.read_stream(
                self.tenant, str(originator_id), after_version=gt, upto_version=lte,
                desc=desc, limit=limit,
            )
        )
        return [self._stored(e) for e in found]

    def max_tracking_id(self, application_name: str) -> int | None:
        return self.datastore.run(
            self.datastore.store.tracking_position(self.tenant, application_name)
        )


class WeiledgerAggregateRecorder(_Recorder, AggregateRecorder):
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        self._insert(stored_events, kwargs.get("tracking"))


class WeiledgerApplicationRecorder(_Recorder, ApplicationRecorder):
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> list[int]:
        return self._insert(stored_events, kwargs.get("tracking"))

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        after = 0 if start is None else (start - 1 if inclusive_of_start else start)
        found = self.datastore.run(
            self.datastore.store.read_all(
                self.tenant, after=after, upto_position=stop, names=topics, limit=limit
            )
        )
        return [self._notification(e) for e in found]

    def max_notification_id(self) -> int | None:
        return self.datastore.run(self.datastore.store.head(self.tenant)) or None

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> Subscription[ApplicationRecorder]:
        return WeiledgerSubscription(self, gt=gt, topics=topics)


class WeiledgerSubscription(ListenNotifySubscription[WeiledgerApplicationRecorder]):
    def __init__(
        self, recorder: WeiledgerApplicationRecorder, gt: int | None = None,
        topics: Sequence[str] = (),
    ) -> None:
        super().__init__(recorder=recorder, gt=gt, topics=topics)
        datastore = recorder.datastore
        self._stop_listening = datastore.run(
            datastore.store.listen(recorder.tenant, lambda _: self._has_been_notified.set())
        )
        # Anything committed before the listener was in place: pull once more.
        self._has_been_notified.set()

    def __exit__(self, *args: object, **kwargs: Any) -> None:
        try:
            super().__exit__(*args, **kwargs)
        finally:
            self._recorder.datastore.run(self._stop_listening())


class WeiledgerTrackingRecorder(_Recorder, TrackingRecorder):
    def insert_tracking(self, tracking: es.Tracking) -> None:
        self._insert([], tracking)


class WeiledgerProcessRecorder(WeiledgerApplicationRecorder, ProcessRecorder):
    def insert_tracking(self, tracking: es.Tracking) -> None:
        self._insert([], tracking)


class Factory(InfrastructureFactory[WeiledgerTrackingRecorder]):
    DATABASE_URL = "WEILEDGER_DATABASE_URL"
    TENANT = "WEILEDGER_TENANT"

    def __init__(self, env: Environment) -> None:
        super().__init__(env)
        url = self.env.get(self.DATABASE_URL)
        if not url:
            raise es.InfrastructureFactoryError(f"{self.DATABASE_URL} is not set")
        self.tenant = self.env.get(self.TENANT) or self.env.name or "default"
        self.datastore = Datastore(url)

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        tenant = self.tenant if purpose == "events" else f"{self.tenant}:{purpose}"
        return WeiledgerAggregateRecorder(self.datastore, tenant)

    def application_recorder(self) -> ApplicationRecorder:
        return WeiledgerApplicationRecorder(self.datastore, self.tenant)

    def tracking_recorder(
        self, tracking_recorder_class: type[WeiledgerTrackingRecorder] | None = None
    ) -> WeiledgerTrackingRecorder:
        return (tracking_recorder_class or WeiledgerTrackingRecorder)(self.datastore, self.tenant)

    def process_recorder(self) -> ProcessRecorder:
        return WeiledgerProcessRecorder(self.datastore, self.tenant)

    def close(self) -> None:
        self.datastore.close()
        super().close()
