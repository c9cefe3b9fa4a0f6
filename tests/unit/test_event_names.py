"""Stored names are stable short names, and old payloads upcast the library's way."""

from __future__ import annotations

import json
from typing import Any

from eventsourcing.domain import Aggregate

from domain.events import Codec, create, stream_uuid, trigger
from domain.ports import RecordedEvent
from tests.unit.world import TENANT, world


async def test_every_stored_event_has_a_short_stable_name() -> None:
    w = await world()
    events = await w.store.read_all(TENANT, limit=100_000)
    assert events and all(e.name.isalpha() and e.name[0].isupper() for e in events)
    created = [json.loads(e.payload) for e in events if e.name == "AgentJoined"]
    assert {c["originator_topic"] for c in created} == {"Agent"}


class Parcel(Aggregate):
    """A throwaway aggregate whose event gained a field in version 2."""

    TOPIC = "TestParcel"

    class Event(Aggregate.Event):
        pass

    class Sent(Event, Aggregate.Created):
        TOPIC = "TestParcelSent"
        class_version = 2
        weight: int
        carrier: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["carrier"] = "unknown"  # v1 payloads had no carrier

        def apply(self, parcel: Parcel) -> None:
            parcel.weight = self.weight
            parcel.carrier = self.carrier

    class Weighed(Event):
        TOPIC = "TestParcelWeighed"
        weight: int

        def apply(self, parcel: Parcel) -> None:
            parcel.weight = self.weight

    Created = Sent


def _recorded(new: Any, payload: bytes) -> RecordedEvent:
    return RecordedEvent(TENANT, new.version, new.stream, new.version, new.name, payload,
                         new.business_time, {}, new.business_time, b"", b"")  # fmt: skip


def test_a_v1_payload_is_upcast_when_loaded() -> None:
    from datetime import UTC, datetime

    codec = Codec()
    at = datetime(2026, 1, 1, tzinfo=UTC)
    parcel = create(Parcel, Parcel.Sent, "parcel-1", at, weight=3, carrier="SF")
    trigger(parcel, Parcel.Weighed, at, weight=4)
    sent, weighed = (codec.encode("parcel-1", e, {}) for e in parcel.collect_events())
    assert sent.name == "TestParcelSent" and parcel.id == stream_uuid("parcel-1")
    old = json.loads(sent.payload)
    del old["carrier"], old["class_version"]  # as a v1 writer stored it
    loaded = codec.replay(
        [_recorded(sent, json.dumps(old).encode()), _recorded(weighed, weighed.payload)]
    )
    assert (loaded.weight, loaded.carrier, loaded.version) == (4, "unknown", 2)
