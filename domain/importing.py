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
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from domain.errors import Refused
from domain.handling import AggregateCache, Context
from domain.journal import Malformed, parse_command
from domain.ledger import Ledger
from domain.ports import EventStore, KeyVault


@dataclass
class Summary:
    lines: int = 0  # non-blank lines read
    accepted: int = 0
    replayed: int = 0  # accepted lines whose idempotency key was already recorded
    refused: dict[str, list[int]] = field(default_factory=dict)  # rule -> line numbers
    malformed: list[tuple[int, str]] = field(default_factory=list)  # (line, what is wrong)
    repeats: dict[int, int] = field(default_factory=dict)  # line -> earlier line, same content

    @property
    def refused_lines(self) -> dict[int, str]:
        return {n: rule for rule, lines in self.refused.items() for n in lines}

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


@dataclass(frozen=True, slots=True)
class Line:
    number: int
    key: str
    command: object


def idempotency_key(doc: dict[str, Any]) -> str:
    """A line's key from its content alone: the same command, wherever it stands."""
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"journal:{hashlib.sha256(canonical.encode()).hexdigest()}"


def read_journal(raw_lines: Iterable[str | bytes], summary: Summary) -> list[Line]:
    """Every non-blank line checked; what is wrong goes to summary.malformed."""
    found: list[Line] = []
    for number, raw in enumerate(raw_lines, start=1):
        try:
            text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        except UnicodeDecodeError as e:
            summary.lines += 1
            summary.malformed.append((number, f"not UTF-8 (byte {e.start + 1} of the line)"))
            continue
        if not text.strip():
            continue
        summary.lines += 1
        try:
            found.append(_line(number, text))
        except Malformed as e:
            summary.malformed.append((number, str(e)))
    return found


def _line(number: int, text: str) -> Line:
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise Malformed(f"not JSON: {e}") from None
    if not isinstance(doc, dict):
        raise Malformed("not a JSON object")
    key = idempotency_key(doc)
    command_id = doc.pop("id", None)
    if command_id is not None and (not isinstance(command_id, str) or not command_id.strip()):
        raise Malformed("id: the command's id must be a non-empty string")
    return Line(number, key, parse_command(doc))


async def run_journal(
    store: EventStore,
    vault: KeyVault,
    tenant: str,
    lines: Iterable[str | bytes],
    progress: Callable[[int], None] | None = None,
    *,
    actor: str = "journal",
) -> Summary:
    """Check every line, then, if none is malformed, run each through Ledger.handle,
    oldest first. `progress(1)` after each line judged (fits tqdm's update)."""
    summary = Summary()
    journal = read_journal(lines, summary)
    if summary.malformed:
        return summary
    ledger = Ledger(store, vault, AggregateCache())  # lines run one after another
    first_of: dict[str, int] = {}
    for line in journal:
        earlier = first_of.setdefault(line.key, line.number)
        if earlier != line.number:
            summary.repeats[line.number] = earlier
        await _run_line(ledger, tenant, actor, line, summary)
        if progress is not None:
            progress(1)
    return summary


async def _run_line(ledger: Ledger, tenant: str, actor: str, line: Line, summary: Summary) -> None:
    ctx = Context(tenant, actor, line.key, request_id=f"line:{line.number}")
    try:
        accepted = await ledger.handle(ctx, line.command)
    except Refused as refusal:
        summary.refused.setdefault(refusal.rule, []).append(line.number)
        return
    summary.accepted += 1
    summary.replayed += accepted.replayed
