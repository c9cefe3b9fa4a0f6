"""The event store on PostgreSQL through asyncpg.

Appends for one tenant go through one writer task that takes every request waiting at
that moment and records them with one call of wl_append (one round trip, one
transaction, one fsync): group commit. Throughput therefore rises with the number of
concurrent callers instead of queueing on the tenant's chain-head lock. Followers are
woken once per committed batch (wl_append's NOTIFY, which PostgreSQL delivers at
commit) and read by position, so a missed or coalesced notification can delay them but
never make them skip.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from domain.ports import (
    Appended,
    Batch,
    LoggedEvent,
    MetadataValue,
    NewEvent,
    RecordedEvent,
    RememberedRefusal,
    Tracking,
    TrackingConflict,
    VersionConflict,
)
from eventstore import refusals
from eventstore.chain import canonical_json, event_digest
from eventstore.errors import (
    UNAVAILABLE,
    DatabaseUnavailable,
    cancelled_meanwhile,
    database_errors,
    translate,
)

log = logging.getLogger(__name__)

# A connection of our own or one lent by the pool: the same methods either way.
Conn: TypeAlias = asyncpg.Connection | PoolConnectionProxy

CHANNEL = "weiledger_events"
MAX_BATCH = 256  # requests per transaction; bounds one batch's latency and memory
LINGER_SECONDS = 0.25  # an idle writer gives its connection back after this
# An append waits this long at most for a connection and its commit: past it the
# caller hears DatabaseUnavailable (503 over HTTP) instead of waiting on a database
# that does not answer.
APPEND_TIMEOUT_SECONDS = 10.0
FIRST_RETRY_SECONDS = 0.1  # a writer's pause after a failure, doubled after each in a row
MAX_RETRY_SECONDS = 1.0  # up to this: a database back is found within it
FOLLOW_PAGE = 1000
FOLLOW_POLL_SECONDS = 1.0  # safety net should a notification be lost with its connection

_APPEND = "SELECT * FROM wl_append($1, $2, $3)"  # eventstore/sql/functions/wl_append.sql
COLUMNS = (
    "tenant, position, stream, version, name, payload, business_time, metadata, "
    "recorded_at, prev_hash, hash"
)
# One round trip for all of a command's streams, each an index range scan of (tenant,
# stream, version), whatever the statistics say. asyncpg prepares the statement and
# PostgreSQL keeps a generic plan after five runs; one planned while `events` was
# nearly empty (never analysed) scanned the tenant's whole log on every call, slower
# with every event. OFFSET 0 keeps the subquery from being pulled up into a join, and
# ORDER BY version makes the (tenant, stream, version) index the cheapest even on an
# empty table (tests/integration/test_query_plans.py).
READ_STREAMS = (
    f"SELECT e.* FROM unnest($2::text[], $3::bigint[]) AS w(s, v), LATERAL"
    f" (SELECT {COLUMNS} FROM events WHERE tenant = $1 AND stream = w.s"
    " AND version > w.v ORDER BY version OFFSET 0) AS e ORDER BY e.stream, e.version"
)


class _Metadata(Mapping[str, MetadataValue]):
    """An event's metadata, parsed from its JSON on first use: most readers (a
    projection, a settlement replay over a million sales) never look at it."""

    __slots__ = ("_parsed", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._parsed: dict[str, MetadataValue] | None = None

    def _items(self) -> dict[str, MetadataValue]:
        if self._parsed is None:
            self._parsed = json.loads(self._text)
        return self._parsed

    def __getitem__(self, key: str) -> MetadataValue:
        return self._items()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items())

    def __len__(self) -> int:
        return len(self._items())

    def __repr__(self) -> str:
        return repr(self._items())


def row_to_event(row: asyncpg.Record) -> RecordedEvent:
    return RecordedEvent(
        tenant=row["tenant"],
        position=row["position"],
        stream=row["stream"],
        version=row["version"],
        name=row["name"],
        payload=row["payload"],
        business_time=row["business_time"],
        metadata=_Metadata(row["metadata"]),
        recorded_at=row["recorded_at"],
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


@dataclass
class _Request:
    events: Sequence[NewEvent]
    metas: list[str]  # each event's canonical metadata JSON, as stored and hashed
    digests: list[bytes]
    key: str | None
    tracking: Tracking | None
    done: asyncio.Future[Appended] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    sent: bool = False  # taken into a batch: from here it may be recorded

    def answer(self, outcome: Appended | BaseException) -> None:
        """Settle the caller's future, unless it is settled already: a caller that was
        cancelled (a client gone) or gave up waiting takes no answer, and must not keep
        the batch's other callers from theirs."""
        if self.done.done():
            return
        if isinstance(outcome, BaseException):
            self.done.set_exception(outcome)
        else:
            self.done.set_result(outcome)


class _TenantWriter:
    """Collects the tenant's pending appends and commits them together.

    It never dies of a database error: a connection that cannot be had, or a batch that
    fails, fails the requests it holds (DatabaseUnavailable for the connection's
    failures: eventstore/errors.py) and the writer pauses before it tries again, a
    little longer after each failure in a row (FIRST_RETRY_SECONDS doubling up to
    MAX_RETRY_SECONDS), so a database that is down is asked a few times a second, not
    spun on. Should its task end all the same, append starts another."""

    def __init__(self, store: PostgresEventStore, tenant: str) -> None:
        self.store = store
        self.tenant = tenant
        self.pending: list[_Request] = []
        self.wake = asyncio.Event()
        self.failures = 0  # failed attempts in a row
        self.task = asyncio.get_running_loop().create_task(self._run())
        self.task.add_done_callback(self._ended)

    def submit(self, request: _Request) -> None:
        self.pending.append(request)
        self.wake.set()

    def withdraw(self, request: _Request) -> bool:
        """Take back a request not yet sent; False if it may be being recorded."""
        if request.sent:
            return False
        with contextlib.suppress(ValueError):
            self.pending.remove(request)
        return True

    def _ended(self, task: asyncio.Task[None]) -> None:
        stopped = DatabaseUnavailable("the event store is closing")
        for request in self.pending:
            request.answer(stopped)
        self.pending.clear()

    async def _run(self) -> None:
        while True:
            await self.wake.wait()
            try:
                async with self.store.pool.acquire(timeout=self.store.timeout) as conn:
                    while await self._drain(conn):
                        try:
                            # Not wait_for: on 3.11 it can swallow a cancellation (shutdown).
                            async with asyncio.timeout(LINGER_SECONDS):
                                await self.wake.wait()
                        except TimeoutError:
                            break
            except Exception as error:  # no connection (or it broke on its way back)
                if cancelled_meanwhile():
                    raise asyncio.CancelledError from error
                self._fail(self.pending, translate(error))
                self.pending = []
            if self.failures:
                await asyncio.sleep(min(MAX_RETRY_SECONDS,
                                        FIRST_RETRY_SECONDS * 2 ** (self.failures - 1)))

    def _fail(self, requests: list[_Request], error: BaseException) -> None:
        self.failures += 1
        if self.failures == 1:
            log.warning("appends of %s failed: %r; retrying", self.tenant, error)
        for request in requests:
            request.answer(error)

    async def _drain(self, conn: Conn) -> bool:
        """Commit everything pending; False if the connection may be unusable."""
        self.wake.clear()
        while self.pending:
            batch, self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
            # A caller already gone (cancelled, or tired of waiting) records nothing.
            batch = [r for r in batch if not r.done.done()]
            if not batch:
                continue
            for request in batch:
                request.sent = True
            try:
                await self._commit(conn, batch)
            except Exception as error:  # the whole batch failed: none of it is acknowledged
                lost = translate(error)
                if isinstance(lost, DatabaseUnavailable):  # perhaps after its commit
                    lost = DatabaseUnavailable(
                        f"{lost.reason}; it may have been recorded: send it again with the"
                        " same idempotency key")
                self._fail(batch, lost)
                self.wake.set()  # what is still pending goes on a fresh connection
                return False
            if self.failures:
                log.warning("appends of %s commit again", self.tenant)
                self.failures = 0
        return True

    async def _commit(self, conn: Conn, batch: list[_Request]) -> None:
        # asyncpg encodes a tuple as a record of the parameter's composite type
        # (wl_append_request, wl_new_event: migration 007), its fields in order.
        requests = [
            (r.key, r.tracking.application, r.tracking.position) if r.tracking
            else (r.key, None, None)
            for r in batch
        ]
        events = [
            (number, event.stream, event.version, event.name, event.payload, meta,
             event.business_time, digest)
            for number, request in enumerate(batch, start=1)
            for event, meta, digest in zip(
                request.events, request.metas, request.digests, strict=True
            )
        ]
        # The statement's own bound: a server that stops answering (no reset, no
        # close) must not hold every append of the tenant for ever.
        rows = await conn.fetch(_APPEND, self.tenant, requests, events,
                                timeout=self.store.timeout)
        for row in rows:
            request = batch[row["request"] - 1]
            outcome = row["outcome"]
            if outcome == "conflict":
                request.answer(VersionConflict(row["detail"]))
            elif outcome == "tracking":
                request.answer(TrackingConflict(row["detail"]))
            else:
                request.answer(Appended(
                    row["first_position"], row["last_position"], replayed=outcome == "replayed"
                ))


class PostgresEventStore:
    """`timeout`: seconds at most an append waits for its answer (a connection, the
    commit); past it the caller gets DatabaseUnavailable saying whether anything can
    have been recorded."""

    def __init__(self, pool: asyncpg.Pool, *, timeout: float = APPEND_TIMEOUT_SECONDS) -> None:
        self.pool = pool
        self.timeout = timeout
        self._writers: dict[str, _TenantWriter] = {}

    async def close(self) -> None:
        tasks = [w.task for w in self._writers.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._writers.clear()

    async def append(
        self,
        tenant: str,
        events: Sequence[NewEvent],
        *,
        idempotency_key: str | None = None,
        tracking: Tracking | None = None,
    ) -> Appended:
        # Made canonical once, for the digest and for the row both.
        texts = [canonical_json(e.metadata) for e in events]
        digests = [
            event_digest(tenant, e.stream, e.version, e.name, e.payload, text, e.business_time)
            for e, text in zip(events, texts, strict=True)
        ]
        request = _Request(events, [t.decode() for t in texts], digests, idempotency_key,
                           tracking)
        writer = self._writers.get(tenant)
        if writer is None or writer.task.done():
            writer = self._writers[tenant] = _TenantWriter(self, tenant)
        writer.submit(request)
        try:
            async with asyncio.timeout(self.timeout):
                return await request.done
        except TimeoutError:
            if writer.withdraw(request):
                raise DatabaseUnavailable(
                    f"no connection to commit on within {self.timeout:g} s;"
                    " nothing was recorded") from None
            raise DatabaseUnavailable(
                f"no answer from the database within {self.timeout:g} s; it may have been"
                " recorded: send it again with the same idempotency key") from None

    def open_batch(self, tenant: str, vault: object, *, record: bool = True) -> Batch | None:
        """Batches for a bulk import (eventstore/bulk.py), with the vault in the same
        database; None with any other vault."""
        from eventstore.bulk import PostgresBatch
        from eventstore.vault import PostgresKeyVault

        if not isinstance(vault, PostgresKeyVault):
            return None
        return PostgresBatch(self, vault, tenant, record=record)

    async def cannot_commit(self, within: float = 2.0) -> str | None:
        """Why an append could not commit now (None: it could): no connection within
        `within` seconds, or a server that takes no writes (a standby, read-only)."""
        try:
            async with asyncio.timeout(within):
                with database_errors():
                    async with self.pool.acquire() as conn:
                        read_only = await conn.fetchval(
                            "SELECT pg_is_in_recovery()"
                            " OR current_setting('transaction_read_only')::bool")
        except TimeoutError:
            return f"no database connection within {within:g} s"
        except DatabaseUnavailable as error:
            return f"database unavailable: {error.reason}"
        return "the database takes no writes (read-only)" if read_only else None

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
        order = "DESC" if desc else "ASC"
        with database_errors():
            rows = await self.pool.fetch(
                f"SELECT {COLUMNS} FROM events WHERE tenant = $1 AND stream = $2"
                " AND ($3::bigint IS NULL OR version > $3)"
                " AND ($4::bigint IS NULL OR version <= $4)"
                f" ORDER BY version {order} LIMIT $5",
                tenant,
                stream,
                after_version,
                upto_version,
                limit,
            )
        return [row_to_event(r) for r in rows]

    async def read_streams(
        self, tenant: str, after: Mapping[str, int]
    ) -> dict[str, list[RecordedEvent]]:
        found: dict[str, list[RecordedEvent]] = {stream: [] for stream in after}
        if not found:
            return found
        with database_errors():
            rows = await self.pool.fetch(
                READ_STREAMS,
                tenant,
                list(found),
                [after[stream] for stream in found],
            )
        for row in rows:
            found[row["stream"]].append(row_to_event(row))
        return found

    async def read_all(
        self,
        tenant: str,
        *,
        after: int = 0,
        upto_position: int | None = None,
        upto_business_time: datetime | None = None,
        names: Sequence[str] = (),
        limit: int = 1000,
        conn: Conn | None = None,
    ) -> list[RecordedEvent]:
        """`conn`: read on this connection (its transaction) rather than one of the pool's:
        a caller holding a connection must not wait for a second one (a projection
        runner on a small pool would hold the last connection and wait forever)."""
        with database_errors():
            rows = await (self.pool if conn is None else conn).fetch(
                f"SELECT {COLUMNS} FROM events WHERE tenant = $1 AND position > $2"
                " AND ($3::bigint IS NULL OR position <= $3)"
                " AND ($4::timestamptz IS NULL OR business_time <= $4)"
                " AND (cardinality($5::text[]) = 0 OR name = ANY($5))"
                " ORDER BY position LIMIT $6",
                tenant,
                after,
                upto_position,
                upto_business_time,
                list(names),
                limit,
            )
        return [row_to_event(r) for r in rows]

    async def read_log(
        self,
        tenant: str,
        *,
        after: int = 0,
        payloads: Collection[str] = (),
        limit: int = 1000,
    ) -> list[LoggedEvent]:
        # Five columns instead of eleven, and no payload the reader will not decode:
        # asyncpg decodes every column of every row, and the watchers read them all.
        with database_errors():
            rows = await self.pool.fetch(
                "SELECT position, stream, name, business_time,"
                " CASE WHEN name = ANY($3::text[]) THEN payload END"
                " FROM events WHERE tenant = $1 AND position > $2 ORDER BY position LIMIT $4",
                tenant,
                after,
                list(payloads),
                limit,
            )
        return [LoggedEvent(*row) for row in rows]

    async def head(self, tenant: str, *, conn: Conn | None = None) -> int:
        with database_errors():
            position = await (self.pool if conn is None else conn).fetchval(
                "SELECT position FROM chain_heads WHERE tenant = $1", tenant
            )
        return position or 0

    async def clock(self, tenant: str) -> datetime | None:
        # One step down the index events_by_business_time (tenant, business_time, …).
        found: datetime | None = await self.pool.fetchval(
            "SELECT max(business_time) FROM events WHERE tenant = $1", tenant
        )
        return found

    async def recorded(self, tenant: str, idempotency_key: str) -> Appended | None:
        with database_errors():
            row = await self.pool.fetchrow(
                "SELECT first_position, last_position FROM idempotency_keys"
                " WHERE tenant = $1 AND key = $2",
                tenant,
                idempotency_key,
            )
        return None if row is None else Appended(row[0], row[1], replayed=True)

    async def remember_refusal(
        self, tenant: str, refusal: RememberedRefusal
    ) -> RememberedRefusal:
        with database_errors():
            return await refusals.remember(self.pool, tenant, refusal)

    async def refusal(self, tenant: str, key: str) -> RememberedRefusal | None:
        with database_errors():
            return await refusals.find(self.pool, tenant, key)

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
        with database_errors():
            return await refusals.read(
                self.pool, tenant, after_id=after_id, after_position=after_position,
                upto_position=upto_position, rule=rule, agent=agent, since=since,
                until=until, limit=limit,
            )

    async def tracking_position(self, tenant: str, application: str) -> int | None:
        with database_errors():
            value: int | None = await self.pool.fetchval(
                "SELECT max(notification_id) FROM tracking"
                " WHERE tenant = $1 AND application_name = $2",
                tenant,
                application,
            )
        return value

    async def listen(
        self, tenant: str | None, on_commit: Callable[[int], Any]
    ) -> Callable[[], Any]:
        """Call on_commit(last position) after each committed batch of the tenant (or of
        any tenant, with None).

        Returns an async function that stops listening and frees the connection. A
        follower whose listening connection is lost with its server hears nothing until
        its next read fails (DatabaseUnavailable) and it listens again; meanwhile it
        polls (FOLLOW_POLL_SECONDS here, projections' own poll there).
        """
        with database_errors():
            conn = await self.pool.acquire(timeout=self.timeout)

        def heard(_conn: object, _pid: int, _channel: str, payload: object) -> None:
            name, _, position = str(payload).partition("\n")
            if tenant is None or name == tenant:
                on_commit(int(position))

        try:
            with database_errors():
                await conn.add_listener(CHANNEL, heard)
        except BaseException:
            # Cancelled (or failed) before the caller holds `stop`: give the connection
            # back now, or the pool could never close.
            await self.pool.release(conn)
            raise

        async def stop() -> None:
            try:
                # A connection lost with its server took its LISTEN along.
                with contextlib.suppress(*UNAVAILABLE):
                    await conn.remove_listener(CHANNEL, heard)
            finally:
                await self.pool.release(conn)

        return stop

    async def follow(
        self, tenant: str, after: int = 0, *, names: Sequence[str] = ()
    ) -> AsyncIterator[RecordedEvent]:
        woken = asyncio.Event()
        stop = await self.listen(tenant, lambda _position: woken.set())
        try:
            while True:
                woken.clear()
                end = await self.head(tenant)
                batch = await self.read_all(
                    tenant, after=after, upto_position=end, names=names, limit=FOLLOW_PAGE
                )
                for event in batch:
                    yield event
                if len(batch) == FOLLOW_PAGE:
                    after = batch[-1].position
                    continue
                after = end
                if await self.head(tenant) > after:
                    continue
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(FOLLOW_POLL_SECONDS):
                        await woken.wait()
        finally:
            await stop()
