"""`verify-payouts`: every statement ever issued, re-derived from the events alone.

Three accounts of each statement are compared: what the pure settlement code derives
from the sales, returns, joins, policies and closes in the log (no projection table is
read for it), what the StatementIssued events say was issued, and what the statements
read model holds. On a healthy ledger all three agree to the fen.
"""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal

import asyncpg

from domain.ports import EventStore
from domain.settlement.facts import Line, Statement
from domain.settlement.history import replay

Accounts = dict[str, Statement]  # agent -> statement, for one period


async def stored_statements(pool: asyncpg.Pool, tenant: str, period: str) -> Accounts:
    heads = await pool.fetch(
        "SELECT agent, tax_flag, policy_version FROM rm_statements.statements"
        " WHERE tenant = $1 AND period = $2",
        tenant,
        period,
    )
    rows = await pool.fetch(
        "SELECT * FROM rm_statements.lines WHERE tenant = $1 AND period = $2 ORDER BY agent, n",
        tenant,
        period,
    )
    lines: dict[str, list[Line]] = {}
    for r in rows:
        lines.setdefault(r["agent"], []).append(
            Line(
                kind=r["kind"], agent=r["agent"], sale_id=r["sale"], sale_source=r["sale_event"],
                period=r["line_period"], base_fen=r["base_fen"], rate=Decimal(r["rate"]),
                amount_fen=r["amount_fen"], policy_version=r["policy_version"],
                bracket=r["bracket"], return_source=r["return_event"], capped_fen=r["capped_fen"],
            )
        )
    return {
        h["agent"]: Statement(h["agent"], period, tuple(lines.get(h["agent"], ())),
                              h["tax_flag"], h["policy_version"])
        for h in heads
    }


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


async def verify_payouts(store: EventStore, pool: asyncpg.Pool, tenant: str) -> list[str]:
    history = await replay(store, tenant)
    found: list[str] = []
    for period in history.closed:
        derived = {st.agent: st for st in history.derived[period]}
        issued = {st.agent: st for st in history.issued.get(period, [])}
        found += differences(period, derived, issued, ("re-derived", "issued events"))
        stored = await stored_statements(pool, tenant, period)
        found += differences(period, issued, stored, ("issued events", "statements table"))
    return found
