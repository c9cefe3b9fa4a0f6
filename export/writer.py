"""`weiledger export`: the audit zip, streamed from cursors into any binary file object.

    events.jsonl  prefix_hashes.bin  opening.jsonl  agents.csv  orders.csv
    statements.csv  statement_lines.csv  alerts.csv  disputes.csv  refusals.csv  policies.json
    checkpoints.json  public_key.pem
    manifest.json (each file's sha256, bytes and rows; range; head hash; the log's
                   Merkle root; policy versions; the overrides-on compliance warning)
    manifest.sig  (Ed25519 over manifest.json's bytes, base64)

Each entry is written through ZipFile.open(name, "w") while its rows come off a
server-side cursor, hashed on the way, so memory stays flat however long the ledger is;
the zip needs no seeking (data descriptors), so `out` may be a socket-like sink. All
files are read in one REPEATABLE READ snapshot, so they describe one instant.

Range: --from/--to are business dates on the CST calendar. The export is a contiguous
run of positions, so the chain holds together: from the first event whose business time
is on or after `since`, up to (not including) the first event after it whose business
time is past `until` (checkpoint events, which carry the business time of the range they
sign, do not end a range). For a ledger recorded in business-time order that is exactly
the dated events. Default: from position 1 to the head.

A range that starts later stands on its own all the same. It carries the chain hash of
every event before it (prefix_hashes.bin) and, whole, the events before it that
settlement reads (opening.jsonl: joins, sales, returns, closes, statements, policies,
resolutions). The manifest signs the RFC 6962 root over all those hashes and the
range's, so the verifier proves each opening event by its leaf and the prefix by the
first event's prev_hash, then re-derives every statement the range issues from the same
events as the ledger did. We chose the events over a signed snapshot of settlement's
state at the range's start: a snapshot would be one more thing to take on the brand's
word, while an event is checked against the chain, by the same code that settled it.
Alerts and disputes are listed when they are about the range: raised by one of its
events, or dated in it (an alert about May raised in June is in May's export).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import IO, Any, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from config.runtime import Progress
from domain.periods import CST
from domain.policy.model import DEFAULT_POLICY, from_document, to_document
from eventstore import reads
from eventstore.database import Conn
from eventstore.kek import Kek
from export import format as f
from export import sources
from export.merkle import MerkleBuilder
from export.signing import fingerprint, public_pem


class ExportError(Exception):
    """The export cannot be made as asked (no events in the range, no such tenant)."""


class _Hashed(io.RawIOBase):
    """A zip entry that hashes and counts the bytes written to it."""

    def __init__(self, entry: IO[bytes]) -> None:
        self.entry = entry
        self.sha = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.entry.write(chunk)
        self.sha.update(chunk)
        self.size += len(chunk)
        return len(chunk)


@dataclass(frozen=True, slots=True)
class Range:
    first: int
    last: int
    start_prev_hash: bytes
    head_hash: bytes


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), CST).astimezone(UTC)


async def resolve_range(conn: Conn, tenant: str,
                        since: date | None, until: date | None) -> Range:
    first = 1 if since is None else await reads.first_position_from(
        conn, tenant, _start_of(since))
    last = await reads.last_position(conn, tenant)
    if until is not None and first is not None:
        past = await reads.first_position_from(
            conn, tenant, _start_of(until + timedelta(days=1)), at_least=first,
            besides=f.CHECKPOINT_EVENT)
        last = last if past is None else past - 1
    if first is None or last is None or first > last:
        raise ExportError(f"tenant {tenant}: no events between {since} and {until}")
    edges = await reads.hashes(conn, tenant, (first, last))
    return Range(first, last, edges[first][0], edges[last][1])


Drain = Callable[[], Awaitable[None]]
Out = IO[bytes] | io.RawIOBase  # a file, or a pipe to a response
DRAIN_EVERY = 512  # rows between two chances for a slow reader of `out` to catch up


class _Zip:
    def __init__(self, out: Out, drain: Drain | None) -> None:
        self.zip = zipfile.ZipFile(cast(IO[bytes], out), "w", compression=zipfile.ZIP_DEFLATED,
                                   compresslevel=6)
        self.files: dict[str, dict[str, Any]] = {}
        self.drain = drain

    async def _row(self, rows: int) -> None:
        if self.drain is not None and rows % DRAIN_EVERY == 0:
            await self.drain()

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=datetime.now(CST).timetuple()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        return info

    def _done(self, name: str, sink: _Hashed, rows: int) -> None:
        self.files[name] = {"sha256": sink.sha.hexdigest(), "bytes": sink.size, "rows": rows}

    async def lines(self, name: str, source: AsyncIterator[bytes]) -> None:
        with self.zip.open(self._info(name), "w", force_zip64=True) as entry:
            sink, rows = _Hashed(entry), 0
            async for line in source:
                sink.write(line)
                rows += 1
                await self._row(rows)
        self._done(name, sink, rows)

    async def csv(self, name: str, header: Iterable[str], source: AsyncIterator[Any]) -> None:
        with self.zip.open(self._info(name), "w", force_zip64=True) as entry:
            sink, rows = _Hashed(entry), 0
            text = io.TextIOWrapper(io.BufferedWriter(sink, 1 << 16), encoding="utf-8",
                                    newline="")
            text.write(f.BOM)
            out = csv.writer(text, lineterminator=f.CSV_LINE_END)
            out.writerow(header)
            async for row in source:
                out.writerow(row)
                rows += 1
                await self._row(rows)
            text.flush()
            text.detach().flush()
        self._done(name, sink, rows)

    async def hashes(self, name: str, source: AsyncIterator[bytes]) -> None:
        """Raw chain hashes, HASH_BYTES each: a row is a hash."""
        with self.zip.open(self._info(name), "w", force_zip64=True) as entry:
            sink, rows, chunk = _Hashed(entry), 0, bytearray()
            async for h in source:
                chunk += h
                rows += 1
                if rows % DRAIN_EVERY == 0:
                    sink.write(chunk)
                    chunk.clear()
                    await self._row(rows)
            sink.write(chunk)
        self._done(name, sink, rows)

    def blob(self, name: str, data: bytes, rows: int | None = None) -> None:
        with self.zip.open(self._info(name), "w") as entry:
            sink = _Hashed(entry)
            sink.write(data)
        if rows is not None:
            self._done(name, sink, rows)


def _dump(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1, default=str).encode() + b"\n"


async def _policies(conn: Conn, tenant: str, last: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [{"version": DEFAULT_POLICY.version, "effective_from": None,
                                    "source": "default", "document": to_document(DEFAULT_POLICY)}]
    async for e, d in sources.policies(conn, tenant, last):
        found.append({"version": d["version"], "effective_from": f.iso(d["effective_from"]),
                      "source": f"{e.stream}@{e.version}", "position": e.position,
                      "document": d["document"]})
    return found


def _warning(policies: list[dict[str, Any]]) -> str | None:
    on = [p["version"] for p in policies
          if from_document(p["document"], p["version"], datetime.now(UTC),
                           DEFAULT_POLICY).override_levels > 0]
    if not on:
        return None
    return (f"合规警告 compliance warning: policy version(s) {on} paid overrides on the "
            "downline's sales (团队计酬), a mark of pyramid selling under 禁止传销条例 Art. 7")


async def _logged(source: AsyncIterator[bytes], log: MerkleBuilder,
                  progress: Progress | None) -> AsyncIterator[bytes]:
    async for h in source:
        log.add(h)
        if progress is not None:
            progress(1)
        yield h


async def write_export(conn: Conn, tenant: str, out: Out,
                       key: Ed25519PrivateKey, kek: Kek, *, since: date | None = None,
                       until: date | None = None, drain: Drain | None = None,
                       progress: Progress | None = None) -> dict[str, Any]:
    """Write the export of `tenant` to `out`; returns the manifest it signed.

    `drain`, when given, is awaited every few hundred rows: a streaming response uses
    it to hold the writer back until the client has taken what was written.
    `progress` counts the chain's positions written, 1 to the range's last."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        r = await resolve_range(conn, tenant, since, until)
        if progress is not None:
            progress.size(r.last)
        z = _Zip(out, drain)
        log = MerkleBuilder()  # over every chain hash from position 1 to the range's end
        await z.hashes(f.PREFIX, _logged(sources.prefix_hashes(conn, tenant, r.first), log,
                                                   progress))
        await z.lines(f.OPENING, (f.event_line(e) async for e in
                                  sources.events(conn, tenant, 1, r.first - 1, f.OPENING_NAMES)))

        async def in_range() -> AsyncIterator[bytes]:
            async for e in sources.events(conn, tenant, r.first, r.last):
                log.add(e.hash)
                if progress is not None:
                    progress(1)
                yield f.event_line(e)
        await z.lines(f.EVENTS, in_range())
        about = sources.About(r.first, r.last, None if since is None else _start_of(since),
                              None if until is None else _start_of(until + timedelta(days=1)))
        await z.csv(f.AGENTS, sources.AGENT_HEADER, sources.agents(conn, tenant, r.last, kek))
        await z.csv(f.ORDERS, sources.ORDER_HEADER, sources.orders(conn, tenant, r.first, r.last))
        await z.csv(f.STATEMENTS, f.STATEMENT_HEADER,
                    sources.statement_rows(conn, tenant, r.first, r.last))
        await z.csv(f.LINES, f.LINE_HEADER, sources.line_rows(conn, tenant, r.first, r.last))
        numbers = await sources.alert_numbers(conn, tenant, about)
        header = (*sources.ALERT_HEADER, *(sources.NUMBER_COLUMN + n for n in numbers))
        await z.csv(f.ALERTS, header, sources.alerts(conn, tenant, about, numbers))
        await z.csv(f.DISPUTES, sources.DISPUTE_HEADER, sources.disputes(conn, tenant, about))
        numbers = await sources.refusal_numbers(conn, tenant, r.first, r.last)
        header = (*sources.REFUSAL_HEADER, *(sources.NUMBER_COLUMN + n for n in numbers))
        await z.csv(f.REFUSALS, header, sources.refusal_rows(conn, tenant, r.first, r.last,
                                                            numbers))
        policies = await _policies(conn, tenant, r.last)
        z.blob(f.POLICIES, _dump(policies), len(policies))
        marks = [c async for c in sources.checkpoints(conn, tenant, r.first, r.last)]
        z.blob(f.CHECKPOINTS, _dump(marks), len(marks))
        z.blob(f.PUBLIC_KEY, public_pem(key.public_key()), 1)
        lag = {name: await sources.read_model_position(conn, name, tenant)
               for name in ("tree", "alerts", "disputes")}
    manifest = {
        "format": f.FORMAT,
        "tenant": tenant,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "range": {
            "from_date": None if since is None else since.isoformat(),
            "to_date": None if until is None else until.isoformat(),
            "first_position": r.first,
            "last_position": r.last,
            "from_beginning": r.first == 1,
            "start_prev_hash": r.start_prev_hash.hex(),
            "head_hash": r.head_hash.hex(),
        },
        "files": z.files,
        "policy_versions": [p["version"] for p in policies],
        "compliance_warning": _warning(policies),
        # The RFC 6962 root over the chain hashes of positions 1..last_position (the
        # prefix's and the events'), signed with the manifest: a later export's log
        # root proves it extends this one (verify-export --after).
        "log": {"size": r.last, "root": log.root().hex(), "tree": f.MERKLE_TREE},
        "checkpoints": len(marks),
        "merkle_tree": f.MERKLE_TREE,
        "key_fingerprint": fingerprint(key.public_key()),
        "read_models_at": lag,  # agents.csv, alerts.csv, disputes.csv: as of these positions
    }
    body = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
    z.blob(f.MANIFEST, body)
    z.blob(f.SIGNATURE, base64.b64encode(key.sign(body)) + b"\n")
    z.zip.close()
    return manifest
