"""Event conventions: aggregates of the eventsourcing library, stored under stable names.

Each aggregate lives in one stream named by the domain ("agent-A1", "stock-A1",
"sale-S1", "product-TEA-01", "policy"; see `streams`). Every event class carries an
explicit TOPIC (its stable short name, e.g. "AgentJoined"): the library's get_topic
returns it, so stored names never depend on module paths and renaming a module does
not orphan history. Aggregate classes carry a TOPIC too ("Agent"), stored in their
created events.

The domain has no clock: every event is triggered with `timestamp=` the command's
business time (in UTC). The payload is the library's own serialisation (Mapper with a
JSONTranscoder), so class_version / upcast_vN_vN+1 upcasting works the library's way.
Actor, request id, idempotency key and the judging policy version go in metadata.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    StoredEvent,
)

from domain.ports import MetadataValue, NewEvent, RecordedEvent

# Stream names are the identity; the library wants a UUID, so derive one stably.
_STREAMS = UUID("6f1c7d0e-5a8b-4c1e-9d7a-2b3c4d5e6f70")

A = TypeVar("A", bound=Aggregate)


class streams:
    POLICY = "policy"

    @staticmethod
    def agent(agent: str) -> str:
        return f"agent-{agent}"

    @staticmethod
    def stock(agent: str) -> str:
        return f"stock-{agent}"

    @staticmethod
    def sale(sale: str) -> str:
        return f"sale-{sale}"

    @staticmethod
    def sale_of(stream: str) -> str:
        """The sale whose stream this is (a return is recorded in its sale's stream):
        derived, so that a replay of settlement need not keep a map of every sale."""
        if not stream.startswith("sale-"):
            raise ValueError(f"{stream} is not a sale's stream")
        return stream[len("sale-"):]

    @staticmethod
    def product(sku: str) -> str:
        return f"product-{sku}"


@lru_cache(maxsize=65_536)
def stream_uuid(stream: str) -> UUID:
    # uuid5 is a third of decoding an event; streams repeat, so remember the busy ones.
    return uuid5(_STREAMS, stream)


def _mapper() -> Mapper[UUID]:
    transcoder = JSONTranscoder()
    transcoder.register(DatetimeAsISO())
    transcoder.register(DecimalAsStr())
    return Mapper(transcoder=transcoder)


class Codec:
    """Aggregate events <-> the store's NewEvent / RecordedEvent."""

    def __init__(self) -> None:
        self.mapper = _mapper()

    def encode(self, stream: str, event: Any, metadata: Mapping[str, MetadataValue], *,
               shared: bool = False) -> NewEvent:
        """`shared`: `metadata` is the caller's own copy, never changed, which the
        events may share."""
        stored = self.mapper.to_stored_event(event)
        return NewEvent(
            stream=stream,
            version=stored.originator_version,
            name=stored.topic,
            payload=stored.state,
            business_time=event.timestamp,
            metadata=metadata if shared else dict(metadata),
        )

    def decode(self, recorded: RecordedEvent) -> Any:
        # Every stable name must be registered before one is resolved; late, since the
        # catalogue imports the models, which import this module.
        import domain.catalogue  # noqa: F401
        return self.mapper.to_domain_event(
            StoredEvent(
                originator_id=stream_uuid(recorded.stream),
                originator_version=recorded.version,
                topic=recorded.name,
                state=recorded.payload,
            )
        )

    def replay(self, recorded: list[RecordedEvent], aggregate: Any = None) -> Any:
        """Apply recorded events in order, from nothing or onto `aggregate`."""
        for event in recorded:
            aggregate = self.decode(event).mutate(aggregate)
        return aggregate


def create(cls: type[A], created: type[Any], stream: str, at: datetime, **fields: Any) -> A:
    """Start a new aggregate in `stream` with its created event at business time `at`."""
    return cls._create(created, id=stream_uuid(stream), timestamp=at, **fields)


def trigger(aggregate: Aggregate, event: type[Any], at: datetime, **fields: Any) -> None:
    """Record a change at business time `at` (never the wall clock)."""
    aggregate.trigger_event(event, timestamp=at, **fields)
