"""The demo brand's journal is a function of its end date alone: an interrupted demo is
finished by generating it again (cli/demo.py), so the same date must give the same
lines, every one of them well formed, ending on the mark of completion."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from cli.demo_brand import DAYS, DemoBrand
from domain.journal import parse_line
from domain.periods import CST

END = datetime(2026, 12, 4, tzinfo=CST)


def test_the_same_end_gives_the_same_journal_well_formed_and_marked_complete():
    first, again = list(DemoBrand(END).lines()), list(DemoBrand(END).lines())
    assert first == again
    for line in first:
        parse_line(line)  # Malformed if not
    opening, last = json.loads(first[0]), json.loads(first[-1])
    assert (opening["cmd"], datetime.fromisoformat(opening["at"])) == (
        "policy", END - timedelta(days=DAYS))
    assert (last["cmd"], datetime.fromisoformat(last["at"])) == ("tick", END)
    times = [datetime.fromisoformat(json.loads(x)["at"]) for x in first]
    assert times == sorted(times)  # oldest first: no line is judged late
    assert 15_000 < len(first) < 25_000
