"""`verify-payouts`: every statement ever issued, re-derived from the events alone.

Three accounts of each statement are compared: what the pure settlement code derives
from the sales, returns, joins, policies and closes in the log (no projection table is
read for it), what the StatementIssued events say was issued, and what the statements
read model holds. On a healthy ledger all three agree to the fen.
"""

from __future__ import annotations

from dataclasses import fields

from domain.ports import EventStore
from domain.settlement.facts import Line, Statement
from domain.settlement.history import replay
from eventstore.database import Reader
from projections.statements.queries import stored_statements

Accounts = dict[str, Statement]  # agent -> statement, for one period


def differences(period: str, want: Accounts, got: Accounts, names: tuple[str, str]) -> list[str]:
    """Say, field by field, where `got` departs from `want`."""
    found: list[str] = []
    for agent in sorted(want.keys() | got.keys()):
        where = f"{period} {agent}"
        a, b = want.get(agent), got.get(agent)
        if a is None or b is None:
            missing = names[0] if a is None else names[1]
            found.append(f"{where}: no statement in {missing}")
            continue
        if a.total_fen != b.total_fen:
            found.append(f"{where}: total {names[0]} {a.total_fen} fen, {names[1]} {b.total_fen}")
        for attr in ("tax_flag", "policy_version"):
            if getattr(a, attr) != getattr(b, attr):
                found.append(f"{where}: {attr} {names[0]} {getattr(a, attr)}, "
                             f"{names[1]} {getattr(b, attr)}")
        if len(a.lines) != len(b.lines):
            found.append(
                f"{where}: {len(a.lines)} lines in {names[0]}, {len(b.lines)} in {names[1]}"
            )
        for n, (x, y) in enumerate(zip(a.lines, b.lines, strict=False), start=1):
            for f in fields(Line):
                if getattr(x, f.name) != getattr(y, f.name):
                    found.append(f"{where}: line {n} {f.name} {names[0]} {getattr(x, f.name)}, "
                                 f"{names[1]} {getattr(y, f.name)}")
    return found


async def verify_payouts(store: EventStore, pool: Reader, tenant: str) -> list[str]:
    history = await replay(store, tenant)
    found: list[str] = []
    for period in history.closed:
        derived = {st.agent: st for st in history.derived[period]}
        issued = {st.agent: st for st in history.issued.get(period, [])}
        found += differences(period, derived, issued, ("re-derived", "issued events"))
        stored = await stored_statements(pool, tenant, period)
        found += differences(period, issued, stored, ("issued events", "statements table"))
    return found
