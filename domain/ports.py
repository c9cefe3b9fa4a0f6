"""The event store as the domain services see it.

Streams hold events in version order; every tenant (brand) has one gapless sequence of
positions across all its streams. An append is atomic: all of its events, across any
number of streams, are recorded together or not at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

# Metadata values are restricted to JSON scalars that survive a jsonb round trip
# unchanged, so the canonical bytes hashed at append time can be rebuilt from storage.
MetadataValue = str | int | bool | None


@dataclass(frozen=True, slots=True)
class NewEvent:
    stream: str
    version: int
    name: str  # stable event name, e.g. "AgentJoined"
    payload: bytes
    business_time: datetime  # when it happened (timezone-aware)
    metadata: Mapping[str, MetadataValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.business_time.tzinfo is None:
            raise ValueError("business_time must be timezone-aware")
        for key, value in self.metadata.items():
            if isinstance(value, float) or not isinstance(value, MetadataValue):
                raise TypeError(f"metadata {key!r}: {type(value).__name__} is not a JSON scalar")
            if isinstance(value, str) and "\x00" in value:
                raise ValueError(f"metadata {key!r} holds a NUL character")


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    tenant: str
    position: int
    stream: str
    version: int
    name: str
    payload: bytes
    business_time: datetime
    metadata: Mapping[str, MetadataValue]
    recorded_at: datetime  # when the ledger learnt it
    prev_hash: bytes
    hash: bytes


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """An event as a reader of the whole log that judges it sees it (read_log): no
    metadata or hashes, and its payload only if its name was asked for (else None)."""

    position: int
    stream: str
    name: str
    business_time: datetime
    payload: bytes | None


@dataclass(frozen=True, slots=True)
class Tracking:
    """A downstream reader's progress, recorded atomically with what it appends."""

    application: str
    position: int


@dataclass(frozen=True, slots=True)
class Appended:
    first_position: int | None  # None when the append held no events
    last_position: int | None
    replayed: bool = False  # True: the idempotency key was seen before; nothing new recorded

    @property
    def positions(self) -> range:
        if self.first_position is None or self.last_position is None:
            return range(0)
        return range(self.first_position, self.last_position + 1)


@dataclass(frozen=True, slots=True)
class RememberedRefusal:
    """A command refused under an idempotency key, kept so that the key answers the same
    refusal again (a journal imported twice, a client retrying) instead of being judged
    anew against a ledger that has moved on. Kept beside the log, not in it: a refusal
    records no event."""

    key: str
    command: str  # the journal command's name: "sale", "join"…
    rule: str
    numbers: Mapping[str, MetadataValue]
    actor: str  # who said so
    agent: str | None  # the agent the command was about, when it names one
    business_time: datetime  # when the command said it happened
    request_id: str | None = None
    # Set by the store when it remembers the refusal:
    id: int = 0  # order in which refusals were remembered
    recorded_at: datetime | None = None  # when the ledger refused it
    head_position: int = 0  # the log's last position when it was refused


class VersionConflict(Exception):
    """Another append already holds that stream version: reload and judge again."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"version conflict: {detail} is already recorded")
        self.detail = detail


class TrackingConflict(Exception):
    """The tracking position is not beyond what that application already recorded."""


class EventStore(Protocol):
    async def append(
        self,
        tenant: str,
        events: Sequence[NewEvent],
        *,
        idempotency_key: str | None = None,
        tracking: Tracking | None = None,
    ) -> Appended: ...

    async def read_stream(
        self,
        tenant: str,
        stream: str,
        *,
        after_version: int | None = None,
        upto_version: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> list[RecordedEvent]: ...

    async def read_streams(
        self, tenant: str, after: Mapping[str, int]
    ) -> dict[str, list[RecordedEvent]]:
        """Several streams in one read: for each stream named, its events after the given
        version (0: all of it), in version order; every stream named is a key, [] when
        nothing follows."""
        ...

    async def read_all(
        self,
        tenant: str,
        *,
        after: int = 0,
        upto_position: int | None = None,
        upto_business_time: datetime | None = None,
        names: Sequence[str] = (),
        limit: int = 1000,
    ) -> list[RecordedEvent]: ...

    async def read_log(
        self,
        tenant: str,
        *,
        after: int = 0,
        payloads: Collection[str] = (),
        limit: int = 1000,
    ) -> list[LoggedEvent]:
        """Every event after `after`, in position order, as LoggedEvent: the payload only
        of those named in `payloads`. For a reader of every event that decodes few, as
        the watchers: a whole RecordedEvent costs it more than judging the event."""
        ...

    async def head(self, tenant: str) -> int:
        """The last position recorded for the tenant (0 when there is none)."""
        ...

    async def clock(self, tenant: str) -> datetime | None:
        """The ledger's clock: the latest business time recorded (None: nothing yet)."""
        ...

    async def recorded(self, tenant: str, idempotency_key: str) -> Appended | None:
        """What the append with this key recorded (replayed=True), or None if unseen."""
        ...

    async def tracking_position(self, tenant: str, application: str) -> int | None: ...

    async def remember_refusal(
        self, tenant: str, refusal: RememberedRefusal
    ) -> RememberedRefusal:
        """Keep a refusal under its key and answer what is kept: the first refusal of a
        key stays; a key that recorded events is never remembered as refused."""
        ...

    async def refusal(self, tenant: str, key: str) -> RememberedRefusal | None:
        """The refusal remembered under `key`, or None."""
        ...

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
        """Remembered refusals in the order they were made (by id, after `after_id`):
        those made while the log's head was in (after_position, upto_position] (a
        refusal before any event has head 0: after_position None includes it), of a
        rule, about an agent, refused at or after `since` and before `until`."""
        ...


    def follow(
        self, tenant: str, after: int = 0, *, names: Sequence[str] = ()
    ) -> AsyncIterator[RecordedEvent]:
        """Every event after `after`, in position order, then new ones as they commit."""
        ...


@runtime_checkable
class Batching(Protocol):
    """A store that can judge commands in batches and record each batch at once (a bulk
    import: domain.importing): `open_batch` answers None when it cannot with this vault."""

    def open_batch(self, tenant: str, vault: KeyVault, *, record: bool = True) -> Batch | None:
        ...


class Batch(Protocol):
    """A layer over the ledger to judge a batch of commands against (its `store` and
    `vault`), recorded in one go by `commit`."""

    @property
    def store(self) -> EventStore: ...

    @property
    def vault(self) -> KeyVault: ...

    async def prepare(self, keys: Collection[str], streams: Collection[str],
                      subjects: Collection[str]) -> None:
        """Ask ahead, in one read each, what the batch's commands would ask one at a
        time: their keys' answers, which of these streams exist, these subjects' keys."""
        ...

    async def prepare_claims(self, digests: Collection[bytes]) -> None:
        """Ask ahead who holds these identity digests."""
        ...

    async def commit(self) -> bool:
        """Record everything judged since the last commit, atomically; False when
        someone else recorded meanwhile: nothing was recorded, the layer now stands on
        the ledger as it is, and the batch must be judged again."""
        ...


class KeyVault(Protocol):
    """Per-subject data keys kept outside the event payloads.

    Personal data in events is encrypted with its subject's key (e.g. "agent:A1");
    destroying the key is how a person is forgotten: the ciphertext stays in the chain,
    unreadable, and every hash and amount around it stays intact.
    """

    async def key_for(self, tenant: str, subject: str) -> bytes:
        """The subject's key, created (32 random bytes) on first use."""
        ...

    async def get(self, tenant: str, subject: str) -> bytes | None:
        """The subject's key, or None when it never existed or was destroyed."""
        ...

    async def destroy(self, tenant: str, subject: str) -> bool:
        """Erase the key for good; True when there was one."""
        ...

    def identities(self, tenant: str) -> AbstractAsyncContextManager[IdentityClaims]:
        """The brand's identity claims, held by one caller at a time (across processes)
        until the context ends: a join judges and records under it, so two joins with
        the same number cannot both find it free."""
        ...

    async def erase_identity(self, tenant: str, agent: str) -> None:
        """Erase the digests `agent` holds (forget): its number is free again."""
        ...


class IdentityClaims(Protocol):
    """Which agent holds each keyed digest of a 身份证 number (domain.agents.identity),
    kept beside the keys, outside the event payloads. A claim is a hint the join checks
    against the holder's own sealed data: one left by a join that was never recorded,
    or by a forgotten agent, holds nothing."""

    async def holder(self, digest: bytes) -> str | None: ...

    async def claim(self, digest: bytes, agent: str) -> None:
        """`agent` holds the number of `digest` now (whoever held it before)."""
        ...
