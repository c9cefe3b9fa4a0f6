"""Importing a command journal: JSON lines in, the same services as the API, a summary out.

Every line carries a deterministic idempotency key (sha256 of its text and its line
number), so importing the same file twice records nothing new the second time and
answers as the first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from domain.errors import Refused
from domain.handling import AggregateCache, Context
from domain.journal import Malformed, parse_line
from domain.ledger import Ledger
from domain.ports import EventStore, KeyVault


@dataclass
class Summary:
    lines: int = 0  # non-blank lines read
    accepted: int = 0
    replayed: int = 0  # accepted lines whose idempotency key was already recorded
    refused: dict[str, list[int]] = field(default_factory=dict)  # rule -> line numbers
    malformed: list[tuple[int, str]] = field(default_factory=list)  # (line, what is wrong)

    @property
    def refused_lines(self) -> dict[int, str]:
        return {n: rule for rule, lines in self.refused.items() for n in lines}

    def describe(self) -> str:
        out = [
            f"{self.lines} lines: {self.accepted} accepted"
            + (f" ({self.replayed} already recorded)" if self.replayed else "")
        ]
        for rule, lines in sorted(self.refused.items()):
            out.append(f"refused {rule}: {len(lines)} (lines {', '.join(map(str, lines))})")
        for n, what in self.malformed:
            out.append(f"malformed line {n}: {what}")
        return "\n".join(out)


def idempotency_key(line: str, number: int) -> str:
    return f"journal:{hashlib.sha256(line.encode()).hexdigest()}:{number}"


async def run_journal(
    store: EventStore,
    vault: KeyVault,
    tenant: str,
    lines: Iterable[str],
    progress: Callable[[int], None] | None = None,
    *,
    actor: str = "journal",
) -> Summary:
    """Run every line through Ledger.handle, oldest first. `progress(1)` after each line
    (fits tqdm's update)."""
    ledger = Ledger(store, vault, AggregateCache())  # lines run one after another
    summary = Summary()
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if line:
            summary.lines += 1
            await _run_line(ledger, tenant, actor, line, number, summary)
        if progress is not None:
            progress(1)
    return summary


async def _run_line(
    ledger: Ledger, tenant: str, actor: str, line: str, number: int, summary: Summary
) -> None:
    try:
        command = parse_line(line)
    except Malformed as e:
        summary.malformed.append((number, str(e)))
        return
    ctx = Context(tenant, actor, idempotency_key(line, number), request_id=f"line:{number}")
    try:
        accepted = await ledger.handle(ctx, command)
    except Refused as refusal:
        summary.refused.setdefault(refusal.rule, []).append(number)
        return
    summary.accepted += 1
    summary.replayed += accepted.replayed
