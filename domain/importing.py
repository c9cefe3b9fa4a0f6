"""Importing a command journal: JSON lines in, the same services as the API, a summary out.

The whole journal is read and checked before any line is judged (UTF-8, JSON, each
command's shape: domain.journal): a journal with one malformed line records nothing and
the summary names every bad line by number, so a corrected copy can simply be imported.

A line's idempotency key is its content: sha256 of its object made canonical (sorted
keys, no spaces), which includes its optional `"id"`, the brand's own command id. So
importing the same journal again, or a corrected copy with lines removed or moved,
records nothing twice and answers every line as the first time: an accepted line by the
store's key, a refused one by the refusal remembered under its key (domain.ledger), never
judged again against a ledger that has moved on. Two lines with the same content are one
command (the second answers as the first, and the summary says so): give each an "id"
to record both.

Two ways through, with one outcome (tests/scenarios/test_bulk_import.py): one line at a
time, each recorded before the next is judged; or, on a store that can (domain.ports
Batching: PostgreSQL), in batches of BATCH lines judged one after another by the same
Ledger.handle against a layer over the ledger and recorded together, a batch that met
another writer judged again (eventstore/bulk.py). The journal is read twice, checked
first and then parsed batch by batch, so a long one is never held parsed in memory.

At the end, a reconciliation report (Summary.report): per command kind, the lines read,
accepted, refused by rule (each line with the numbers it was refused with), malformed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from domain.agents.identity import IDENTITY_SUBJECT, identity_digest
from domain.agents.personal import subject
from domain.errors import Refused
from domain.events import streams
from domain.handling import AggregateCache, Context
from domain.journal import Malformed, parse_command, plain_text
from domain.ledger import Ledger
from domain.ports import Batch, Batching, EventStore, KeyVault, MetadataValue

BATCH = 4_000  # lines judged, then recorded in one transaction
FEWEST = 50  # a batch that keeps meeting other writers is halved down to this
# Aggregates a bulk import keeps between commands: a journal's agents and their stock
# (two streams each) and its recent sales; beyond this the least recently used are
# read again when needed.
CACHE_SIZE = 250_000
# Lines checked are kept parsed for the run up to this many (some 700 bytes each); a
# longer journal is parsed again as it is run, rather than held whole in memory.
KEEP_PARSED = 150_000


@dataclass
class KindTally:
    """One command kind's lines in the report."""

    read: int = 0
    accepted: int = 0
    refused: dict[str, list[tuple[int, dict[str, MetadataValue]]]] = field(
        default_factory=dict)  # rule -> (line, the numbers it was refused with)
    malformed: list[int] = field(default_factory=list)


@dataclass
class Summary:
    lines: int = 0  # non-blank lines read
    accepted: int = 0
    replayed: int = 0  # accepted lines whose idempotency key was already recorded
    refused: dict[str, list[int]] = field(default_factory=dict)  # rule -> line numbers
    malformed: list[tuple[int, str]] = field(default_factory=list)  # (line, what is wrong)
    repeats: dict[int, int] = field(default_factory=dict)  # line -> earlier line, same content
    kinds: dict[str, KindTally] = field(default_factory=dict)  # cmd -> its lines
    recorded: bool = True  # False: a dry run

    @property
    def refused_lines(self) -> dict[int, str]:
        return {n: rule for rule, lines in self.refused.items() for n in lines}

    def _kind(self, kind: str) -> KindTally:
        return self.kinds.setdefault(kind, KindTally())

    def describe(self) -> str:
        if self.malformed:
            out = [f"{self.lines} lines, {len(self.malformed)} malformed: nothing recorded"]
            out += [f"malformed line {n}: {what}" for n, what in self.malformed]
            return "\n".join(out)
        out = [
            f"{self.lines} lines: {self.accepted} accepted"
            + (f" ({self.replayed} already recorded)" if self.replayed else "")
        ]
        for rule, lines in sorted(self.refused.items()):
            out.append(f"refused {rule}: {len(lines)} (lines {', '.join(map(str, lines))})")
        for n, earlier in self.repeats.items():
            out.append(f"line {n} repeats line {earlier}: one command, answered once"
                       ' (give each its own "id" to record both)')
        return "\n".join(out)

    def reconciliation(self) -> str:
        """The report as a table: per kind, lines read, accepted, refused, malformed;
        then each refusal by kind and rule with its lines and numbers."""
        rows = [("kind", "read", "accepted", "refused", "malformed")]
        for kind, t in sorted(self.kinds.items()):
            rows.append((kind, str(t.read), str(t.accepted),
                         str(sum(map(len, t.refused.values()))), str(len(t.malformed))))
        rows.append(("all", str(self.lines), str(self.accepted), str(len(self.refused_lines)),
                     str(len(self.malformed))))
        width = [max(len(r[i]) for r in rows) for i in range(5)]
        out = ["reconciliation"]
        out += ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in
                          enumerate(zip(r, width, strict=True))) for r in rows]
        for kind, t in sorted(self.kinds.items()):
            for rule, found in sorted(t.refused.items()):
                out.append(f"{kind} refused {rule}: {len(found)}")
                out += [f"  line {n}: {_numbers(numbers)}" for n, numbers in found]
            if t.malformed:
                out.append(f"{kind} malformed: lines {', '.join(map(str, t.malformed))}")
        return "\n".join(out)

    def report(self) -> dict[str, Any]:
        """The report as JSON."""
        whats = dict(self.malformed)
        return {
            "recorded": self.recorded, "lines": self.lines, "accepted": self.accepted,
            "already_recorded": self.replayed,
            "refused": len(self.refused_lines), "malformed": len(self.malformed),
            "kinds": {kind: {
                "read": t.read, "accepted": t.accepted,
                "refused": {rule: [{"line": n, "numbers": numbers} for n, numbers in found]
                            for rule, found in sorted(t.refused.items())},
                "malformed": [{"line": n, "what": whats[n]} for n in t.malformed],
            } for kind, t in sorted(self.kinds.items())},
            "repeats": [{"line": n, "repeats": e} for n, e in self.repeats.items()],
        }

    def report_csv(self) -> str:
        """The report as CSV: one row per kind and outcome (per rule for refusals), its
        count and lines, and for refusals each line's numbers as JSON."""
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(("kind", "outcome", "rule", "count", "lines", "numbers"))
        for kind, t in sorted(self.kinds.items()):
            w.writerow((kind, "read", "", t.read, "", ""))
            w.writerow((kind, "accepted", "", t.accepted, "", ""))
            for rule, found in sorted(t.refused.items()):
                w.writerow((kind, "refused", rule, len(found), " ".join(str(n) for n, _ in found),
                            json.dumps({str(n): numbers for n, numbers in found},
                                       ensure_ascii=False)))
            if t.malformed:
                w.writerow((kind, "malformed", "", len(t.malformed),
                            " ".join(map(str, t.malformed)), ""))
        return out.getvalue()


def _numbers(numbers: dict[str, MetadataValue]) -> str:
    return ", ".join(f"{k} {v}" for k, v in numbers.items()) or "-"


@dataclass(frozen=True, slots=True)
class Line:
    number: int
    key: str
    command: object
    kind: str = "?"


def idempotency_key(doc: dict[str, Any]) -> str:
    """A line's key from its content alone: the same command, wherever it stands."""
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"journal:{hashlib.sha256(canonical.encode()).hexdigest()}"


def read_journal(raw_lines: Iterable[str | bytes], summary: Summary) -> list[Line]:
    """Every non-blank line checked; what is wrong goes to summary.malformed."""
    return list(_read(raw_lines, summary))


def _read(raw_lines: Iterable[str | bytes], summary: Summary | None) -> Iterator[Line]:
    """The journal's lines parsed, in order; with a summary, each line is counted and
    what is wrong goes to summary.malformed."""
    for number, raw in enumerate(raw_lines, start=1):
        try:
            text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        except UnicodeDecodeError as e:
            if summary is not None:
                summary.lines += 1
                summary._kind("?").read += 1
                summary._kind("?").malformed.append(number)
                summary.malformed.append((number, f"not UTF-8 (byte {e.start + 1} of the line)"))
            continue
        if not text.strip():
            continue
        kind = "?"
        try:
            doc, plain = _doc(text)
            kind = doc["cmd"] if isinstance(doc.get("cmd"), str) else "?"
            line = _line(number, doc, kind, plain)
        except Malformed as e:
            if summary is not None:
                summary.lines += 1
                summary._kind(kind).read += 1
                summary._kind(kind).malformed.append(number)
                summary.malformed.append((number, str(e)))
            continue
        if summary is not None:
            summary.lines += 1
            summary._kind(kind).read += 1
        yield line


def _doc(text: str) -> tuple[dict[str, Any], bool]:
    """The line's object, and whether its values need no checking one by one
    (domain.journal.plain_text; a float is left to that check to name)."""
    try:
        try:
            doc, plain = json.loads(text, parse_float=_float_seen), plain_text(text)
        except _FloatSeen:
            doc, plain = json.loads(text), False
    except ValueError as e:
        raise Malformed(f"not JSON: {e}") from None
    if not isinstance(doc, dict):
        raise Malformed("not a JSON object")
    return doc, plain


class _FloatSeen(Exception):
    pass


def _float_seen(text: str) -> Any:
    raise _FloatSeen


def _line(number: int, doc: dict[str, Any], kind: str, plain: bool = False) -> Line:
    command_id = doc.get("id")
    if command_id is not None and (not isinstance(command_id, str) or not command_id.strip()):
        raise Malformed("id: the command's id must be a non-empty string")
    # Checked before the key is made of it: a lone surrogate cannot even be encoded.
    command = parse_command({k: v for k, v in doc.items() if k != "id"}, plain=plain)
    return Line(number, idempotency_key(doc), command, kind)


async def run_journal(
    store: EventStore,
    vault: KeyVault,
    tenant: str,
    lines: Iterable[str | bytes],
    progress: Callable[[int], None] | None = None,
    *,
    actor: str = "journal",
    bulk: bool = True,
    record: bool = True,
    batch: int = BATCH,
) -> Summary:
    """Check every line, then, if none is malformed, run each through Ledger.handle,
    oldest first: in batches when the store can (`bulk`), else one at a time.
    `progress(n)` as lines are judged (fits tqdm's update). `record=False` (a dry run,
    on a store that batches): judged alike, nothing recorded.

    `lines` is read twice when it can be (a list, or an object that opens the journal
    afresh at each iteration); an iterator is read into a list first."""
    if iter(lines) is lines:
        lines = list(lines)
    summary = Summary(recorded=record)
    kept: list[Line] | None = []  # parsed lines, while they are few enough to keep
    repeats = _Repeats()
    for line in _read(lines, summary):
        repeats.read(line.key)
        if kept is not None:
            kept.append(line)
            if len(kept) > KEEP_PARSED:
                kept = None
    if summary.malformed:
        return summary
    batches = store.open_batch(tenant, vault, record=record) if (
        bulk or not record) and isinstance(store, Batching) else None
    if batches is None and not record:
        raise ValueError("a dry run needs a store that judges in batches")
    journal = iter(kept) if kept is not None else _read(lines, None)
    del kept
    repeats.all_read()
    if batches is None:
        ledger = Ledger(store, vault, AggregateCache())  # lines run one after another
        for line in journal:
            repeats.judged(line, summary)
            await _run_line(ledger, tenant, actor, line, summary)
            if progress is not None:
                progress(1)
        return summary
    await _run_batches(batches, tenant, actor, journal, summary, progress, batch, repeats)
    return summary


class _Repeats:
    """Which lines repeat an earlier one (the same key), exactly, in little memory: a
    million whole keys with their line numbers would take some 250 MB for the whole
    run. While the journal is checked only 64 bits of each key are kept; then only the
    keys whose 64 bits met another's are kept whole, with their first line, as lines
    are judged (a few, or none: two different keys share 64 bits once in 10^7 journals
    of a million lines)."""

    def __init__(self) -> None:
        self._seen: set[int] = set()
        self._twice: set[int] = set()  # bits met more than once
        self._first: dict[str, int] = {}  # key -> its first line, for those bits only

    @staticmethod
    def _bits(key: str) -> int:
        return hash(key)

    def read(self, key: str) -> None:
        bits = self._bits(key)
        if bits in self._seen:
            self._twice.add(bits)
        else:
            self._seen.add(bits)

    def all_read(self) -> None:
        self._seen = set()

    def judged(self, line: Line, summary: Summary) -> None:
        if self._bits(line.key) not in self._twice:
            return
        earlier = self._first.setdefault(line.key, line.number)
        if earlier != line.number:
            summary.repeats[line.number] = earlier


async def _run_batches(
    batches: Batch, tenant: str, actor: str, journal: Iterator[Line], summary: Summary,
    progress: Callable[[int], None] | None, batch: int, repeats: _Repeats,
) -> None:
    size = batch
    cache = AggregateCache(CACHE_SIZE)
    ledger = Ledger(batches.store, batches.vault, cache)
    pending: list[Line] = []
    judged = 0  # the last line number progress was told of (a batch judged again is not)
    while True:
        # After a batch was halved more lines may wait than fit one: read none then.
        pending += islice(journal, max(0, size - len(pending)))
        if not pending:
            return
        chunk, pending = pending[:size], pending[size:]
        await _prepare(batches, tenant, chunk)  # first: it stands the layer on the head
        head = await batches.store.head(tenant)
        part = Summary()
        for line in chunk:
            await _run_line(ledger, tenant, actor, line, part)
            if progress is not None and line.number > judged:
                judged = line.number
                progress(1)
        written = {e.stream for e in await batches.store.read_all(
            tenant, after=head, limit=sys.maxsize)}
        if await batches.commit():
            for line in chunk:
                repeats.judged(line, summary)
            _merge(summary, part)
            size = min(batch, size * 2)  # back up towards full batches once they pass
            continue
        # Someone else recorded meanwhile: judge the chunk again (smaller, so that a
        # busy ledger is met less often), on the ledger as it now stands.
        cache.rewind(tenant, head, written)
        size = max(FEWEST, size // 2)
        pending = chunk + pending


async def _prepare(batches: Batch, tenant: str, chunk: Sequence[Line]) -> None:
    wanted: dict[str, None] = {}
    subjects: dict[str, None] = {}
    numbers = []
    for line in chunk:
        cmd = line.command
        for name in ("agent", "seller", "buyer", "sponsor"):
            agent = getattr(cmd, name, None)
            if isinstance(agent, str):
                wanted[streams.agent(agent)] = wanted[streams.stock(agent)] = None
        sale = getattr(cmd, "sale", None)
        if isinstance(sale, str):
            wanted[streams.sale(sale)] = None
        if line.kind in ("join", "forget"):
            subjects[subject(cmd.agent)] = None  # type: ignore[attr-defined]
        if line.kind == "join":
            numbers.append(cmd.id_number)  # type: ignore[attr-defined]
    if numbers:
        subjects[IDENTITY_SUBJECT] = None
    await batches.prepare([line.key for line in chunk], list(wanted), list(subjects))
    if numbers:
        key = await batches.vault.key_for(tenant, IDENTITY_SUBJECT)
        await batches.prepare_claims([identity_digest(key, n) for n in numbers])


def _merge(summary: Summary, part: Summary) -> None:
    summary.accepted += part.accepted
    summary.replayed += part.replayed
    for rule, lines in part.refused.items():
        summary.refused.setdefault(rule, []).extend(lines)
    for kind, t in part.kinds.items():
        mine = summary._kind(kind)
        mine.accepted += t.accepted
        for rule, found in t.refused.items():
            mine.refused.setdefault(rule, []).extend(found)


async def _run_line(ledger: Ledger, tenant: str, actor: str, line: Line, summary: Summary) -> None:
    ctx = Context(tenant, actor, line.key, request_id=f"line:{line.number}")
    try:
        accepted = await ledger.handle(ctx, line.command)
    except Refused as refusal:
        summary.refused.setdefault(refusal.rule, []).append(line.number)
        summary._kind(line.kind).refused.setdefault(refusal.rule, []).append(
            (line.number, dict(refusal.numbers)))
        return
    summary.accepted += 1
    summary.replayed += accepted.replayed
    summary._kind(line.kind).accepted += 1
