"""The eventsourcing library's own recorder test cases, unmodified, against our store.

Each case only supplies create_recorder (a recorder on a fresh tenant, so notification
ids start at 1 as the cases expect); no test method is overridden.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.tests.persistence import (
    AggregateRecorderTestCase,
    ApplicationRecorderTestCase,
    ProcessRecorderTestCase,
    TrackingRecorderTestCase,
)

from eventstore.persistence import (
    Datastore,
    WeiledgerAggregateRecorder,
    WeiledgerApplicationRecorder,
    WeiledgerProcessRecorder,
    WeiledgerTrackingRecorder,
)
from tests.conftest import TEST_URL_VAR

_datastore: Datastore | None = None


def datastore() -> Datastore:
    global _datastore
    if _datastore is None:
        _datastore = Datastore(os.environ[TEST_URL_VAR])
    return _datastore


@pytest.fixture(autouse=True, scope="module")
def _close_datastore() -> Iterator[None]:
    global _datastore
    yield
    if _datastore is not None:
        _datastore.close()
        _datastore = None


def fresh_tenant() -> str:
    return f"es-{uuid.uuid4().hex[:12]}"


class TestAggregateRecorder(AggregateRecorderTestCase):
    def create_recorder(self) -> WeiledgerAggregateRecorder:
        return WeiledgerAggregateRecorder(datastore(), fresh_tenant())


class TestApplicationRecorder(ApplicationRecorderTestCase[WeiledgerApplicationRecorder]):
    def create_recorder(self) -> WeiledgerApplicationRecorder:
        return WeiledgerApplicationRecorder(datastore(), fresh_tenant())

    # The library ships the subscription test as optional_*; we run it too.
    def test_insert_subscribe(self) -> None:
        self.optional_test_insert_subscribe()


class TestTrackingRecorder(TrackingRecorderTestCase):
    def create_recorder(self) -> WeiledgerTrackingRecorder:
        return WeiledgerTrackingRecorder(datastore(), fresh_tenant())


class TestProcessRecorder(ProcessRecorderTestCase):
    def create_recorder(self) -> WeiledgerProcessRecorder:
        return WeiledgerProcessRecorder(datastore(), fresh_tenant())


class Dog(Aggregate):
    @event("Registered")
    def __init__(self, name: str) -> None:
        self.name = name
        self.tricks: list[str] = []

    @event("TrickAdded")
    def add_trick(self, trick: str) -> None:
        self.tricks.append(trick)


def test_an_eventsourcing_application_runs_on_our_store_as_its_persistence_module():
    env = {
        "PERSISTENCE_MODULE": "eventstore.persistence",
        "WEILEDGER_DATABASE_URL": os.environ[TEST_URL_VAR],
        "WEILEDGER_TENANT": fresh_tenant(),
    }
    app = Application(env=env)
    try:
        dog = Dog("Fido")
        dog.add_trick("roll over")
        app.save(dog)
        copy = app.repository.get(dog.id)
        assert (copy.name, copy.tricks, copy.version) == ("Fido", ["roll over"], 2)
        notifications = app.recorder.select_notifications(start=None, limit=10)  # type: ignore[attr-defined]
        assert [n.id for n in notifications] == [1, 2]
    finally:
        app.close()
