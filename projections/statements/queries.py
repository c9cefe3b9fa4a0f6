"""Reads of the statements read model (rm_statements): heads and their lines."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from domain.settlement.facts import Line, Statement
from eventstore.database import Reader, Row

_HEAD = ("SELECT agent, period, total_fen, tax_flag, policy_version, lines, issued_at"
         " FROM rm_statements.statements")


async def statements(db: Reader, tenant: str, *, agent: str | None, period: str | None,
                     after: tuple[str, str], limit: int) -> list[Row]:
    """Statement heads by (period, agent) after `after`, optionally of one agent or period."""
    return await db.fetch(
        f"{_HEAD} WHERE tenant = $1 AND ($2::text IS NULL OR agent = $2)"
        " AND ($3::text IS NULL OR period = $3)"
        " AND (period, agent COLLATE \"C\") > ($4, $5)"
        " ORDER BY period, agent COLLATE \"C\" LIMIT $6",
        tenant, agent, period, after[0], after[1], limit,
    )


async def statement(db: Reader, tenant: str, agent: str, period: str) -> Row | None:
    """One statement's head (None: not issued)."""
    return await db.fetchrow(
        f"{_HEAD} WHERE tenant = $1 AND agent = $2 AND period = $3", tenant, agent, period
    )


async def lines(db: Reader, tenant: str, agent: str, period: str) -> list[Row]:
    """One statement's lines, in their order."""
    return await db.fetch(
        "SELECT n, kind, sale, sale_event, line_period, base_fen, rate, amount_fen, bracket,"
        " return_event, capped_fen, policy_version FROM rm_statements.lines"
        " WHERE tenant = $1 AND agent = $2 AND period = $3 ORDER BY n",
        tenant, agent, period,
    )


async def stored_statements(db: Reader, tenant: str,
                            period: str) -> dict[str, tuple[Statement, int, int]]:
    """Every statement of the period as the read model holds it, agent -> (statement, its
    stated total_fen, its stated line count: what the API serves), in the settlement
    code's own terms (verify-payouts compares them with the events')."""
    heads = await db.fetch(
        "SELECT agent, tax_flag, policy_version, total_fen, lines FROM rm_statements.statements"
        " WHERE tenant = $1 AND period = $2",
        tenant,
        period,
    )
    rows = await db.fetch(
        "SELECT * FROM rm_statements.lines WHERE tenant = $1 AND period = $2 ORDER BY agent, n",
        tenant,
        period,
    )
    found: dict[str, list[Line]] = {}
    for r in rows:
        found.setdefault(r["agent"], []).append(
            Line(
                kind=r["kind"], agent=r["agent"], sale_id=r["sale"], sale_source=r["sale_event"],
                period=r["line_period"], base_fen=r["base_fen"], rate=Decimal(r["rate"]),
                amount_fen=r["amount_fen"], policy_version=r["policy_version"],
                bracket=r["bracket"], return_source=r["return_event"], capped_fen=r["capped_fen"],
            )
        )
    return {
        h["agent"]: (Statement(h["agent"], period, tuple(found.get(h["agent"], ())),
                               h["tax_flag"], h["policy_version"]),
                     h["total_fen"], h["lines"])
        for h in heads
    }


async def issued_in(db: Reader, tenant: str, period: str) -> tuple[int, int]:
    """(statements issued, their total in fen) for the period."""
    row = await db.fetchrow(
        "SELECT count(*) AS n, coalesce(sum(total_fen), 0)::bigint AS total"
        " FROM rm_statements.statements WHERE tenant = $1 AND period = $2",
        tenant, period,
    )
    assert row is not None  # an aggregate: always one row
    return row["n"], row["total"]


async def statements_of(db: Reader, tenant: str, agent: str, *, at: datetime | None,
                        limit: int) -> list[Row]:
    """The agent's statements issued by `at` (None: now), newest period first."""
    return await db.fetch(
        f"{_HEAD} WHERE tenant = $1 AND agent = $2"
        " AND ($3::timestamptz IS NULL OR issued_at <= $3) ORDER BY period DESC LIMIT $4",
        tenant, agent, at, limit,
    )
