"""Importing a journal again, or a corrected copy of it, records nothing twice and
answers every line as the first time (issue 17, must show 3): a line's key is its
content, and a refusal is remembered under it, not judged again against a ledger that
has moved on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from domain.importing import Summary, run_journal
from domain.ports import EventStore
from eventstore.memory_vault import InMemoryKeyVault

SCENARIOS = Path(__file__).parents[2].parent / "shared" / "scenarios"
JOURNALS = sorted(SCENARIOS.glob("*.jsonl"))


def _lines(journal: Path) -> list[str]:
    return [line for line in journal.read_text("utf-8").splitlines() if line.strip()]


def _answers(summary: Summary) -> dict[int, str]:
    """Line number -> "accepted" or the rule that refused it."""
    refused = summary.refused_lines
    return {n: refused.get(n, "accepted") for n in range(1, summary.lines + 1)}


def _corrected(lines: list[str]) -> list[str]:
    """Every third line removed, the rest reordered (odd places, then even), and the
    keys of each object written in another order with other spaces: still the same
    commands."""
    kept = [line for n, line in enumerate(lines) if n % 3 != 1]
    moved = kept[1::2] + kept[0::2]
    return [json.dumps(dict(reversed(json.loads(line).items())), ensure_ascii=False, indent=None,
                       separators=(" ,", " : ")) for line in moved]


@pytest.mark.parametrize("journal", JOURNALS, ids=[j.stem for j in JOURNALS])
async def test_reimporting_a_journal_or_a_corrected_copy_records_nothing_and_answers_alike(
    journal: Path, store: EventStore, tenant: str
) -> None:
    vault, lines = InMemoryKeyVault(), _lines(journal)
    first = await run_journal(store, vault, tenant, lines)
    head = await store.head(tenant)
    assert first.malformed == [] and head > 0
    answered = dict(zip(lines, _answers(first).values(), strict=True))

    again = await run_journal(store, vault, tenant, lines)
    assert await store.head(tenant) == head
    assert _answers(again) == _answers(first)
    assert again.replayed == again.accepted == first.accepted

    copy = _corrected(lines)
    corrected = await run_journal(store, vault, tenant, copy)
    assert await store.head(tenant) == head
    first_answers = {_same(line): answer for line, answer in answered.items()}
    assert list(_answers(corrected).values()) == [
        first_answers[_same(c)] for c in copy
    ]


def _same(line: str) -> str:
    return json.dumps(json.loads(line), sort_keys=True)
