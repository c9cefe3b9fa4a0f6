"""`verify-payouts`: every statement ever issued, re-derived from the events alone.

Three accounts of each statement are compared: what the pure settlement code derives
from the sales, returns, joins, policies and closes in the log (no projection table is
read for it), what the StatementIssued events say was issued, and what the statements
read model holds (what the API serves). On a healthy ledger all three agree to the fen.

A total is never taken on trust from its lines: each account's stated total (the
event's `total_fen`, the table's `total_fen` and line count, the PeriodClosed's sum) is
held against its own lines and against the other accounts, since a reader sees the
stated figure and an insider would change that one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

from domain.ports import EventStore
from domain.settlement.facts import Line, Statement
from domain.settlement.history import replay
from eventstore.database import Reader
from projections.statements.queries import stored_statements


@dataclass(frozen=True, slots=True)
class Account:
    """One source's statement, with the figures it states beside its lines."""

    statement: Statement
    total_fen: int
    line_count: int


Accounts = dict[str, Account]  # agent -> account, for one period


def derived_account(st: Statement) -> Account:
    return Account(st, st.total_fen, len(st.lines))


def inconsistencies(period: str, accounts: Accounts, name: str) -> list[str]:
    """Where one source's stated figures disagree with its own lines."""
    found: list[str] = []
    for agent in sorted(accounts):
        a = accounts[agent]
        if a.total_fen != a.statement.total_fen:
            found.append(f"{period} {agent}: {name} states total {a.total_fen} fen, "
                         f"its lines sum to {a.statement.total_fen}")
        if a.line_count != len(a.statement.lines):
            found.append(f"{period} {agent}: {name} states {a.line_count} lines, "
                         f"holds {len(a.statement.lines)}")
    return found


def differences(period: str, want: Accounts, got: Accounts, names: tuple[str, str]) -> list[str]:
    """Say, field by field, where `got` departs from `want`."""
    found: list[str] = []
    for agent in sorted(want.keys() | got.keys()):
        where = f"{period} {agent}"
        x, y = want.get(agent), got.get(agent)
        if x is None or y is None:
            missing = names[0] if x is None else names[1]
            found.append(f"{where}: no statement in {missing}")
            continue
        if x.total_fen != y.total_fen:
            found.append(f"{where}: total {names[0]} {x.total_fen} fen, {names[1]} {y.total_fen}")
        a, b = x.statement, y.statement
        for attr in ("tax_flag", "policy_version"):
            if getattr(a, attr) != getattr(b, attr):
                found.append(f"{where}: {attr} {names[0]} {getattr(a, attr)}, "
                             f"{names[1]} {getattr(b, attr)}")
        if len(a.lines) != len(b.lines):
            found.append(
                f"{where}: {len(a.lines)} lines in {names[0]}, {len(b.lines)} in {names[1]}"
            )
        for n, (p, q) in enumerate(zip(a.lines, b.lines, strict=False), start=1):
            for f in fields(Line):
                if getattr(p, f.name) != getattr(q, f.name):
                    found.append(f"{where}: line {n} {f.name} {names[0]} {getattr(p, f.name)}, "
                                 f"{names[1]} {getattr(q, f.name)}")
    return found


async def verify_payouts(store: EventStore, pool: Reader, tenant: str,
                         progress: Callable[[int], None] | None = None) -> list[str]:
    """Every difference found; `progress(n)`: n more positions of the log replayed."""
    history = await replay(store, tenant, await store.head(tenant), progress)
    found: list[str] = []
    for period in history.closed:
        derived = {st.agent: derived_account(st) for st in history.derived[period]}
        issued = {st.agent: Account(st, history.stated_totals[period, st.agent], len(st.lines))
                  for st in history.issued.get(period, [])}
        found += inconsistencies(period, issued, "StatementIssued")
        found += differences(period, derived, issued, ("re-derived", "issued events"))
        count, total = history.closes[period]
        if (count, total) != (len(derived), sum(a.total_fen for a in derived.values())):
            found.append(f"{period}: PeriodClosed states {count} statements of {total} fen, "
                         f"re-derived {len(derived)} of "
                         f"{sum(a.total_fen for a in derived.values())}")
        stored = {agent: Account(*held)
                  for agent, held in (await stored_statements(pool, tenant, period)).items()}
        found += inconsistencies(period, stored, "statements table")
        found += differences(period, issued, stored, ("issued events", "statements table"))
    return found
