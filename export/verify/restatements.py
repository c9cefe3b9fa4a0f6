"""Every statement in an export, re-derived from its events with the ledger's own code.

`ExportLog` is a read-only EventStore over events.jsonl: domain.settlement.history.replay
asks it for pages in position order, which it answers by reading the file forward (a
request that does not continue the last page starts over), so memory holds a page, not
the ledger. The re-derived statements are then compared, field by field and to the fen,
with statements.csv / statement_lines.csv and with the StatementIssued events.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import IO, NoReturn

from domain.events import Codec
from domain.ports import (
    Appended,
    LoggedEvent,
    NewEvent,
    RecordedEvent,
    RememberedRefusal,
    Tracking,
)
from domain.settlement.facts import Line, Statement
from domain.settlement.history import replay
from export import format as f

Opener = Callable[[], IO[bytes]]
_decode = Codec().mapper.transcoder.decode


class ExportLog:
    """opening.jsonl then events.jsonl, as one log; notes the periods closed in the range."""

    def __init__(self, *openers: Opener, first: int = 1) -> None:
        self.openers = openers
        self.first = first
        self.closed_in_range: set[str] = set()
        self._rest: Iterator[RecordedEvent] | None = None
        self._at = -1  # position the last page ended at

    def _scan(self) -> Iterator[RecordedEvent]:
        for opener in self.openers:
            with opener() as raw:
                for line in raw:
                    try:
                        event = f.event_from_line(line)
                    except (ValueError, KeyError, TypeError):
                        continue  # the chain check names the line
                    if event.name == "PeriodClosed" and event.position >= self.first:
                        self.closed_in_range.add(_decode(event.payload)["period"])
                    yield event

    async def read_all(self, tenant: str, *, after: int = 0, upto_position: int | None = None,
                       upto_business_time: datetime | None = None, names: Sequence[str] = (),
                       limit: int = 1000) -> list[RecordedEvent]:
        if self._rest is None or after != self._at:
            self._rest = self._scan()
        page: list[RecordedEvent] = []
        for event in self._rest:
            if upto_position is not None and event.position > upto_position:
                break
            if event.position <= after or (names and event.name not in names):
                continue
            if upto_business_time is not None and event.business_time > upto_business_time:
                continue
            page.append(event)
            if len(page) == limit:
                self._at = event.position
                return page
        self._rest, self._at = None, -1
        return page

    # Not needed by replay; the export is read-only.
    async def append(self, tenant: str, events: Sequence[NewEvent], *,
                     idempotency_key: str | None = None,
                     tracking: Tracking | None = None) -> Appended:
        raise PermissionError("an export is read-only")

    async def read_stream(self, tenant: str, stream: str, *, after_version: int | None = None,
                          upto_version: int | None = None, desc: bool = False,
                          limit: int | None = None) -> list[RecordedEvent]:
        _unsupported()

    async def read_streams(self, tenant: str,
                           after: Mapping[str, int]) -> dict[str, list[RecordedEvent]]:
        _unsupported()

    async def read_log(self, tenant: str, *, after: int = 0, payloads: Collection[str] = (),
                       limit: int = 1000) -> list[LoggedEvent]:
        _unsupported()

    async def head(self, tenant: str) -> int:
        _unsupported()

    async def recorded(self, tenant: str, idempotency_key: str) -> Appended | None:
        _unsupported()

    async def clock(self, tenant: str) -> datetime | None:
        _unsupported()

    async def tracking_position(self, tenant: str, application: str) -> int | None:
        _unsupported()

    def follow(self, tenant: str, after: int = 0, *,
               names: Sequence[str] = ()) -> AsyncIterator[RecordedEvent]:
        _unsupported()

    async def remember_refusal(self, tenant: str,
                               refusal: RememberedRefusal) -> RememberedRefusal:
        _unsupported()

    async def refusal(self, tenant: str, key: str) -> RememberedRefusal | None:
        _unsupported()

    async def read_refusals(self, tenant: str, *, after_id: int = 0,
                            after_position: int | None = None,
                            upto_position: int | None = None, rule: str | None = None,
                            agent: str | None = None, since: datetime | None = None,
                            until: datetime | None = None,
                            limit: int = 1000) -> list[RememberedRefusal]:
        _unsupported()


def _unsupported() -> NoReturn:
    raise NotImplementedError("an export answers read_all only")


@dataclass(frozen=True, slots=True)
class Listed:
    """A statement as the CSV files list it, with the line numbers to name in a message."""

    statement: Statement  # its lines are statement_lines.csv's
    row: int
    line_rows: tuple[int, ...]
    total_fen: int  # as statements.csv states it
    count: int


def _rows(raw: IO[bytes]) -> Iterator[tuple[int, list[str]]]:
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    for n, row in enumerate(csv.reader(text), start=1):
        if n > 1:
            yield n, row


def read_listed(statements: IO[bytes], lines: IO[bytes]) -> dict[tuple[str, str], Listed]:
    """statements.csv and statement_lines.csv as Statements keyed (period, agent)."""
    found: dict[tuple[str, str], list[tuple[int, Line]]] = {}
    for n, r in _rows(lines):
        agent, period = r[0], r[1]
        found.setdefault((period, agent), []).append((n, Line(
            kind=r[3], agent=agent, sale_id=r[4], sale_source=r[5], period=r[6],  # type: ignore[arg-type]
            base_fen=f.fen(r[7]), rate=Decimal(r[8]), amount_fen=f.fen(r[9]),
            policy_version=int(r[13]), bracket=int(r[10]) if r[10] else None,
            return_source=r[11] or None, capped_fen=f.fen(r[12]),
        )))
    listed: dict[tuple[str, str], Listed] = {}
    for n, r in _rows(statements):
        agent, period = r[0], r[1]
        own = found.pop((period, agent), [])
        st = Statement(agent, period, tuple(x for _, x in own), r[4].startswith("是"), int(r[5]))
        listed[(period, agent)] = Listed(st, n, tuple(m for m, _ in own), f.fen(r[2]), int(r[3]))
    for (period, agent), own in found.items():
        raise ValueError(f"{f.LINES} line {own[0][0]}: no statement of {agent} for {period}")
    return listed


def compare(want: Statement, got: Statement, where: str,
            line_place: Callable[[int], str], names: tuple[str, str]) -> list[str]:
    found: list[str] = []
    # Totals are the sum of the lines; the caller compares the total a file states.
    for attr in ("tax_flag", "policy_version"):
        a, b = getattr(want, attr), getattr(got, attr)
        if a != b:
            found.append(f"{where}: {attr} {names[1]} {b}, {names[0]} {a}")
    if len(want.lines) != len(got.lines):
        found.append(f"{where}: {len(got.lines)} line(s) {names[1]}, {len(want.lines)} {names[0]}")
    for n, (x, y) in enumerate(zip(want.lines, got.lines, strict=False), start=1):
        for fd in fields(Line):
            a, b = getattr(x, fd.name), getattr(y, fd.name)
            if a != b:
                found.append(f"{line_place(n)}: {fd.name} {names[1]} {b}, {names[0]} {a}")
    return found


async def restate(log: ExportLog, tenant: str,
                  listed: dict[tuple[str, str], Listed]) -> tuple[int, list[str]]:
    """(statements re-derived, differences) against the CSVs and the issued events, for
    every period the range closes (the opening events close earlier ones)."""
    history = await replay(log, tenant)
    found: list[str] = []
    count = 0
    for period in history.closed:
        if period not in log.closed_in_range:
            continue
        issued = {st.agent: st for st in history.issued.get(period, [])}
        for st in history.derived[period]:
            count += 1
            key = (period, st.agent)
            own = listed.pop(key, None)
            if own is None:
                found.append(f"{f.STATEMENTS}: no statement of {st.agent} for {period}, "
                             f"re-derived {f.cny(st.total_fen)}")
            else:
                def place(n: int, own: Listed = own, who: str = f"{period} {st.agent}") -> str:
                    row = own.line_rows[n - 1] if n <= len(own.line_rows) else "?"
                    return f"{f.LINES} line {row} ({who} line {n})"
                head = f"{f.STATEMENTS} line {own.row} ({period} {st.agent})"
                if (own.total_fen, own.count) != (st.total_fen, len(st.lines)):
                    found.append(f"{head}: listed {f.cny(own.total_fen)} in {own.count} line(s)"
                                 f", re-derived {f.cny(st.total_fen)} in {len(st.lines)}")
                found += compare(st, own.statement, head, place, ("re-derived", "listed"))
            event = issued.pop(st.agent, None)
            if event is None:
                found.append(f"{f.EVENTS}: no StatementIssued of {st.agent} for {period}")
            else:
                where = f"{f.EVENTS} StatementIssued {st.agent} {period}"
                if event.total_fen != st.total_fen:
                    found.append(f"{where}: issued {f.cny(event.total_fen)}, "
                                 f"re-derived {f.cny(st.total_fen)}")

                def at(n: int, w: str = where) -> str:
                    return f"{w} line {n}"
                found += compare(st, event, where, at, ("re-derived", "issued"))
        found += [f"{f.EVENTS}: StatementIssued of {a} for {period} was not re-derived"
                  for a in issued]
    found += [f"{f.STATEMENTS} line {x.row}: {a} {p} is not a statement of a closed period "
              "in the export" for (p, a), x in listed.items()]
    return count, found
