"""How every command is handled: load, judge, append once, retry on a conflict.

A command's decision reads some streams through a Session, raises Refused or changes
aggregates; the changes of all streams go to the store in ONE append (atomic across
streams) with the expected versions the decision saw. A VersionConflict means someone
else wrote one of those streams meanwhile: load again and judge again, a few times.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from eventsourcing.domain import Aggregate

from domain.business_time import rules as time_rules
from domain.errors import Refused, judge
from domain.events import Codec
from domain.policy.model import Policy
from domain.ports import Appended, EventStore, MetadataValue, NewEvent, VersionConflict

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")

MAX_ATTEMPTS = 5
_codec = Codec()


@dataclass(frozen=True, slots=True)
class Context:
    """Who says so, and the key that makes saying it twice harmless."""

    tenant: str
    actor: str
    idempotency_key: str | None = None
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class Accepted:
    first_position: int | None
    last_position: int | None
    replayed: bool = False  # the idempotency key was seen: nothing new recorded
    policy_version: int | None = None


class AggregateCache:
    """Aggregates replayed by earlier commands, so a long import neither replays every
    stream from version 1 for every line (quadratic in a busy agent's stock stream) nor
    reads again what it wrote itself.

    The cache follows the log: it knows the position up to which its aggregates are
    current. Before each command one look at the tenant's head says whether anyone else
    appended since; their events (usually none) evict the streams they touched, and
    every aggregate left is current without a read. Aggregates are mutable and shared,
    so ONE cache serves ONE sequential caller (the journal runner), never concurrent
    commands. Bounded, least recently used first out.
    """

    # More foreign events than this since the last command: forget the tenant's cache
    # rather than read them all.
    CATCH_UP_LIMIT = 5_000

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        # None: the stream is known to be empty (a policy never issued, a period not yet
        # closed), which is worth knowing too: its first event would evict it.
        self._items: OrderedDict[tuple[str, str], Aggregate | None] = OrderedDict()
        self._current_at: dict[str, int] = {}  # tenant -> position the cache is current at
        # (tenant, name) -> state a service carries from one command to the next, current
        # as of a log position it knows itself (the settlement ledger a close goes on from).
        self._carried: dict[tuple[str, str], object] = {}

    async def follow(self, store: EventStore, tenant: str) -> int:
        """Make every cached aggregate of `tenant` current; returns the head it is at."""
        head = await store.head(tenant)
        known = self._current_at.setdefault(tenant, head)  # empty: current anywhere
        if head - known > self.CATCH_UP_LIMIT:
            for key in [k for k in self._items if k[0] == tenant]:
                del self._items[key]
        elif head > known:
            for event in await store.read_all(
                tenant, after=known, upto_position=head, limit=self.CATCH_UP_LIMIT
            ):
                self.drop(tenant, event.stream)
        self._current_at[tenant] = head
        return head

    def recorded(self, tenant: str, head: int, appended: Appended) -> None:
        """Our own append: if it came right after `head`, the cache is current after it."""
        if appended.first_position == head + 1 and appended.last_position is not None:
            self._current_at[tenant] = appended.last_position

    def rewind(self, tenant: str, head: int, streams: Iterable[str]) -> None:
        """Appends after `head` to these streams were discarded (a bulk import's batch
        that met another writer): forget the streams; current again at `head`, so the
        next command follows whatever else was recorded since."""
        for stream in streams:
            self.drop(tenant, stream)
        for key in [k for k in self._carried if k[0] == tenant]:
            del self._carried[key]  # it may have read the discarded appends
        self._current_at[tenant] = head

    def carried(self, tenant: str, name: str) -> object | None:
        """What a service carried from an earlier command (`carry`), or None."""
        return self._carried.get((tenant, name))

    def carry(self, tenant: str, name: str, state: object) -> None:
        """Keep `state` for the next command of this caller. It must stay true of the log
        however others append (so it must know its own position and read on from there),
        and it is dropped when appends are discarded (rewind)."""
        self._carried[(tenant, name)] = state

    def knows(self, tenant: str, stream: str) -> bool:
        return (tenant, stream) in self._items

    def get(self, tenant: str, stream: str) -> Aggregate | None:
        found = self._items.get((tenant, stream))
        self._items.move_to_end((tenant, stream))
        return found

    def lend(self, tenant: str, stream: str) -> Lent | None:
        """The cached aggregate of `stream` for a session to judge with, or None.
        Here it is current (the cache followed the log before this command)."""
        key = (tenant, stream)
        aggregate = self._items.get(key, _MISSING)  # one look: every command lends several
        if aggregate is _MISSING:
            return None
        self._items.move_to_end(key)
        return Lent(aggregate, _version(aggregate), current=True)  # type: ignore[arg-type]

    def keep(self, tenant: str, stream: str, aggregate: Aggregate | None) -> None:
        """What the store holds of `stream` as of the aggregate's version."""
        if self._items.get((tenant, stream), _MISSING) is aggregate:
            return  # the one lent (moved to the end then), unchanged or changed in place
        self.put(tenant, stream, aggregate)

    def put(self, tenant: str, stream: str, aggregate: Aggregate | None) -> None:
        self._items[(tenant, stream)] = aggregate
        self._items.move_to_end((tenant, stream))
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def drop(self, tenant: str, stream: str) -> None:
        self._items.pop((tenant, stream), None)


_MISSING = object()


@dataclass(frozen=True, slots=True)
class Lent:
    aggregate: Aggregate | None
    version: int
    current: bool  # False: the events after `version` must be read and applied first


def _version(aggregate: Aggregate | None) -> int:
    return aggregate.version if aggregate is not None else 0


class SharedAggregateCache(AggregateCache):
    """Aggregates as they stood at a known version, for commands that run concurrently
    (the API's requests), so a command reads only what was recorded since instead of
    replaying a long stream (an agent's stock grows with every sale) from version 1.

    Nothing is trusted without a read: a session that finds an entry reads the stream's
    events after the entry's version (in the same one read it does anyway) and applies
    them, so it judges on the stream's current version and the append's optimistic
    check sees exactly what it would have seen after a full replay.

    An entry is lent to ONE session at a time: lending takes it out of the cache, so no
    two commands ever hold the same (mutable) object; a concurrent command on the same
    stream finds nothing and replays it from the store, as without a cache. The session
    gives it back when the store has confirmed what it holds: with its own new events
    after an accepted append, or unchanged. A newer entry given back meanwhile wins.
    """

    async def follow(self, store: EventStore, tenant: str) -> int:
        return 0  # every lent aggregate is brought current by the session's own read

    def recorded(self, tenant: str, head: int, appended: Appended) -> None:
        pass

    def carry(self, tenant: str, name: str, state: object) -> None:
        pass  # carried state is mutable: concurrent commands would share it

    def lend(self, tenant: str, stream: str) -> Lent | None:
        if not self.knows(tenant, stream):
            return None
        aggregate = self._items.pop((tenant, stream))
        return Lent(aggregate, _version(aggregate), current=False)

    def keep(self, tenant: str, stream: str, aggregate: Aggregate | None) -> None:
        if self.knows(tenant, stream) and _version(self._items[(tenant, stream)]) > _version(
            aggregate
        ):
            return
        self.put(tenant, stream, aggregate)


class Session:
    """One attempt at one command: what it read, and what it changed."""

    def __init__(
        self, store: EventStore, tenant: str, at: datetime, cache: AggregateCache | None = None
    ) -> None:
        self.store = store
        self.tenant = tenant
        self.at = at
        self.cache = cache
        self.read_versions: dict[str, int] = {}
        self._loaded: dict[str, Any] = {}
        self._changed: dict[str, Aggregate] = {}
        self._unkept: set[str] = set()
        self.policy: Policy | None = None

    async def load(self, stream: str, cls: type[A]) -> A | None:
        """The aggregate in `stream` as it stands now (None: the stream is empty)."""
        if stream in self._changed:
            return self._changed[stream]  # type: ignore[return-value]
        if stream not in self._loaded:
            await self.prefetch((stream,))
        aggregate = self._loaded[stream]
        if aggregate is not None and not isinstance(aggregate, cls):
            raise TypeError(f"stream {stream} holds a {type(aggregate).__name__}")
        return aggregate

    async def prefetch(self, wanted: Iterable[str]) -> None:
        """Load the streams not loaded yet, with at most one read of the store for all
        of them: a command that names its streams up front pays one round trip, not
        one per stream."""
        after: dict[str, int] = {}
        lent: dict[str, Aggregate | None] = {}
        for stream in dict.fromkeys(wanted):
            if stream in self._loaded or stream in self._changed:
                continue
            found = self.cache.lend(self.tenant, stream) if self.cache is not None else None
            if found is not None and found.current:
                self._keep_loaded(stream, found.aggregate)
                continue
            if found is not None:
                lent[stream] = found.aggregate
            after[stream] = found.version if found is not None else 0
        if not after:
            return
        read = await self.store.read_streams(self.tenant, after)
        for stream in after:
            self._keep_loaded(stream, _codec.replay(read[stream], lent.get(stream)))

    def _keep_loaded(self, stream: str, aggregate: Aggregate | None) -> None:
        self._loaded[stream] = aggregate
        self.read_versions[stream] = _version(aggregate)

    def save(self, stream: str, aggregate: Aggregate, *, keep: bool = True) -> None:
        """Mark an aggregate (loaded or new) as changed by this command. `keep=False`:
        not worth a place in the cache (a statement, written once by a close and seldom
        read again: a close of 100,000 agents would push every busy aggregate out)."""
        self._changed[stream] = aggregate
        if not keep:
            self._unkept.add(stream)

    def settle(self, recorded: bool) -> None:
        """Keep what the store now holds in the cache; forget whatever it does not:
        an aggregate is kept unchanged since it was read, or changed by this command
        when its append was recorded."""
        if self.cache is None:
            return
        for stream, aggregate in {**self._loaded, **self._changed}.items():
            unchanged = _version(aggregate) == self.read_versions.get(stream, 0)
            if stream in self._unkept:
                self.cache.drop(self.tenant, stream)
            elif unchanged or (recorded and stream in self._changed):
                self.cache.keep(self.tenant, stream, aggregate)
            else:
                self.cache.drop(self.tenant, stream)

    def new_events(self, metadata: dict[str, MetadataValue]) -> list[NewEvent]:
        # One copy for all of them: a bulk import's commit makes its canonical text once.
        metadata = dict(metadata)
        return [
            _codec.encode(stream, event, metadata, shared=True)
            for stream, aggregate in self._changed.items()
            for event in aggregate.collect_events()
        ]


Decision = Callable[[Session], Awaitable[None]]


async def load(store: EventStore, tenant: str, stream: str, cls: type[A]) -> A | None:
    """Read one aggregate as it stands now (for queries; commands use a Session)."""
    aggregate = _codec.replay(await store.read_stream(tenant, stream))
    if aggregate is not None and not isinstance(aggregate, cls):
        raise TypeError(f"stream {stream} holds a {type(aggregate).__name__}")
    return aggregate


async def execute(
    store: EventStore,
    ctx: Context,
    at: datetime,
    command: str,
    decide: Decision,
    policy_at: Callable[[Session], Awaitable[Policy]],
    cache: AggregateCache | None = None,
    prefetch: Sequence[str] = (),
) -> Accepted:
    """Judge `decide` under the policy in force at `at`; append what it changed.

    `prefetch`: streams the decision will load (the policy's among them), read together
    in one round trip before it starts; any other stream is read when loaded."""
    for attempt in range(MAX_ATTEMPTS):
        head = await cache.follow(store, ctx.tenant) if cache is not None else 0
        session = Session(store, ctx.tenant, at, cache)
        try:
            await session.prefetch(prefetch)
            session.policy = await policy_at(session)
            late = time_rules.too_late(at, await store.clock(ctx.tenant),
                                       session.policy.late_entry_hours)
            try:
                await decide(session)
            except Refused as refused:
                judge(refused, late)  # whichever answers first
                raise
            judge(late)
        except Refused:
            session.settle(recorded=False)
            seen = await _seen_before(store, ctx)
            if seen is not None:
                return seen
            raise
        except BaseException:
            session.settle(recorded=False)
            raise
        metadata: dict[str, MetadataValue] = {
            "actor": ctx.actor,
            "command": command,
            "policy_version": session.policy.version,
            "idempotency_key": ctx.idempotency_key,
            "request_id": ctx.request_id,
        }
        try:
            appended = await store.append(
                ctx.tenant, session.new_events(metadata), idempotency_key=ctx.idempotency_key
            )
        except BaseException as e:
            session.settle(recorded=False)
            if isinstance(e, VersionConflict) and attempt < MAX_ATTEMPTS - 1:
                continue
            raise
        # A replayed key recorded nothing: what this attempt built is not the store's.
        session.settle(recorded=not appended.replayed)
        if cache is not None:
            cache.recorded(ctx.tenant, head, appended)
        return Accepted(
            appended.first_position,
            appended.last_position,
            appended.replayed,
            session.policy.version,
        )
    raise AssertionError("unreachable")


async def _seen_before(store: EventStore, ctx: Context) -> Accepted | None:
    """What an accepted first attempt with this idempotency key recorded, if any.

    A repeated command must answer as the first time, but judged again it would often
    be refused (already-joined, duplicate-sale…) because its own first run changed the
    streams. Asked only on a refusal: on acceptance the append itself answers replayed.
    """
    if ctx.idempotency_key is None:
        return None
    first = await store.recorded(ctx.tenant, ctx.idempotency_key)
    if first is None:
        return None
    return Accepted(first.first_position, first.last_position, replayed=True)
