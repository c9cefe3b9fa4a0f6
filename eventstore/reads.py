"""Reads of the events table for the API's timelines and lists and for the export.

Functions over a pool or a connection rather than methods of PostgresEventStore: the
export reads all its files inside one REPEATABLE READ transaction on one connection
(one instant), and these reads serve no command, so the domain's port has no need of
them. Events come back as the store's own RecordedEvent, decoded as every read decodes
them (postgres.row_to_event).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from datetime import datetime

from domain.ports import RecordedEvent
from eventstore.database import Conn, Reader
from eventstore.postgres import COLUMNS, row_to_event


async def events_of_streams(db: Reader, tenant: str, streams: Sequence[str], *,
                            after: int, limit: int) -> list[RecordedEvent]:
    """The events of any of `streams` after log position `after`, in log order."""
    rows = await db.fetch(
        f"SELECT {COLUMNS} FROM events WHERE tenant = $1 AND stream = ANY($2::text[])"
        " AND position > $3 ORDER BY position LIMIT $4",
        tenant, list(streams), after, limit,
    )
    return [row_to_event(r) for r in rows]


async def streams_with(db: Reader, tenant: str, name: str, *, after: str,
                       limit: int) -> list[str]:
    """The streams holding an event named `name`, by stream id (bytewise) after `after`."""
    rows = await db.fetch(
        "SELECT stream FROM events WHERE tenant = $1 AND name = $2"
        " AND stream COLLATE \"C\" > $3 ORDER BY stream COLLATE \"C\" LIMIT $4",
        tenant, name, after, limit,
    )
    return [r["stream"] for r in rows]


async def first_payloads(db: Reader, tenant: str, streams: Sequence[str]) -> dict[str, bytes]:
    """The payload of each stream's first event (version 1), for the streams that have one."""
    rows = await db.fetch(
        "SELECT stream, payload FROM events WHERE tenant = $1 AND stream = ANY($2::text[])"
        " AND version = 1",
        tenant, list(streams),
    )
    return {r["stream"]: r["payload"] for r in rows}


async def scan(conn: Conn, tenant: str, first: int, last: int, names: Collection[str] = (), *,
               prefetch: int) -> AsyncIterator[RecordedEvent]:
    """Events at positions first..last (only those named `names`, if any), in log order,
    from a server-side cursor: `conn` must be inside a transaction."""
    cursor = conn.cursor(
        f"SELECT {COLUMNS} FROM events WHERE tenant = $1 AND position BETWEEN $2 AND $3"
        " AND (cardinality($4::text[]) = 0 OR name = ANY($4)) ORDER BY position",
        tenant, first, last, list(names), prefetch=prefetch,
    )
    async for row in cursor:
        yield row_to_event(row)


async def chain_hashes(conn: Conn, tenant: str, before: int, *,
                       prefetch: int) -> AsyncIterator[bytes]:
    """The chain hash of every event before position `before`, in log order, from a
    server-side cursor (`conn` inside a transaction): the leaves an export carries for
    the log before its range."""
    cursor = conn.cursor("SELECT hash FROM events WHERE tenant = $1 AND position < $2"
                         " ORDER BY position", tenant, before, prefetch=prefetch)
    async for row in cursor:
        yield bytes(row["hash"])


async def last_position(db: Reader, tenant: str) -> int | None:
    """The newest event's position as this snapshot sees it (None: no events)."""
    value: int | None = await db.fetchval(
        "SELECT max(position) FROM events WHERE tenant = $1", tenant
    )
    return value


async def first_position_from(db: Reader, tenant: str, business_time: datetime, *,
                              at_least: int = 0, besides: str | None = None) -> int | None:
    """The first position at or after `at_least` whose business time is `business_time`
    or later, ignoring events named `besides` (None: there is none)."""
    value: int | None = await db.fetchval(
        "SELECT min(position) FROM events WHERE tenant = $1 AND business_time >= $2"
        " AND position >= $3 AND ($4::text IS NULL OR name <> $4)",
        tenant, business_time, at_least, besides,
    )
    return value


async def hashes(db: Reader, tenant: str,
                 positions: Collection[int]) -> dict[int, tuple[bytes, bytes]]:
    """Position -> (previous hash, hash) of the events at `positions`."""
    rows = await db.fetch(
        "SELECT position, prev_hash, hash FROM events WHERE tenant = $1"
        " AND position = ANY($2::bigint[])",
        tenant, list(positions),
    )
    return {r["position"]: (bytes(r["prev_hash"]), bytes(r["hash"])) for r in rows}


async def positioned_hashes(db: Reader, tenant: str, *, after: int, upto: int,
                            limit: int) -> list[tuple[int, bytes]]:
    """(position, hash) of the events after `after` up to `upto`, in log order (the
    receipts hold them against what they signed)."""
    rows = await db.fetch(
        "SELECT position, hash FROM events WHERE tenant = $1 AND position > $2"
        " AND position <= $3 ORDER BY position LIMIT $4",
        tenant, after, upto, limit,
    )
    return [(r["position"], bytes(r["hash"])) for r in rows]


async def event_at(db: Reader, tenant: str, position: int) -> RecordedEvent | None:
    """The event at `position` (None: no such position)."""
    row = await db.fetchrow(f"SELECT {COLUMNS} FROM events WHERE tenant = $1 AND position = $2",
                            tenant, position)
    return None if row is None else row_to_event(row)


async def events_where(db: Reader, tenant: str, *, stream: str | None, name: str | None,
                       since: datetime | None, until: datetime | None, after: int,
                       limit: int) -> list[RecordedEvent]:
    """Events after log position `after`, in log order, of one stream and/or one name,
    at business times in [since, until) (each None: any).

    Only the conditions asked for are written, so that each is planned onto its index
    (a stream's, business time's, a kind's); `$n IS NULL OR ...` would leave every one to a
    scan of the log by position. No index on name itself: with one, PostgreSQL planned the
    projections' reads of the log (a few names, in position order) onto it and sorted
    hundreds of thousands of rows per batch whenever its statistics were stale (3 s a
    batch after a large import). So the kind is asked as `lower(name)`, the expression
    of events_by_kind (migration 012), which no other read is written on: that index
    serves this query only (and a kind typed in any case is found)."""
    where, args = ["tenant = $1", "position > $2"], [tenant, after]
    for condition, value in (("stream = ${}", stream), ("lower(name) = lower(${})", name),
                             ("business_time >= ${}", since), ("business_time < ${}", until)):
        if value is not None:
            args.append(value)
            where.append(condition.format(len(args)))
    args.append(limit)
    # With dates, `position + 0`: else the planner walks the whole log by position
    # (expecting the day's events anywhere) rather than take the day by business time.
    order = "position + 0" if since is not None or until is not None else "position"
    rows = await db.fetch(
        f"SELECT {COLUMNS} FROM events WHERE {' AND '.join(where)}"
        f" ORDER BY {order} LIMIT ${len(args)}",
        *args,
    )
    return [row_to_event(r) for r in rows]


async def latest_of_streams(db: Reader, tenant: str, streams: Sequence[str], *,
                            upto: datetime | None, before: int | None,
                            limit: int) -> list[RecordedEvent]:
    """The events of any of `streams` dated `upto` or earlier (None: any), before log
    position `before` (None: the head), newest first: an agent's timeline as of then."""
    rows = await db.fetch(
        f"SELECT {COLUMNS} FROM events WHERE tenant = $1 AND stream = ANY($2::text[])"
        " AND ($3::timestamptz IS NULL OR business_time <= $3)"
        " AND ($4::bigint IS NULL OR position < $4) ORDER BY position DESC LIMIT $5",
        tenant, list(streams), upto, before, limit,
    )
    return [row_to_event(r) for r in rows]
