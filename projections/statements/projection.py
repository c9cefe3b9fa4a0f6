"""Statements (结算单) and their lines, as the StatementIssued events recorded them.

One row per statement and one per line; each line keeps the sale (and return) event it
cites, its own period, rate, bracket and policy version, so the console can explain a
payout without recomputing it. `verify-payouts` recomputes it anyway, from the events
alone, and compares with these tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import asyncpg

from domain.events import Codec
from domain.ports import RecordedEvent
from projections.runner import Projection


class StatementsProjection(Projection):
    name = "statements"
    version = 1
    reads = ("StatementIssued",)
    ddl = """
    CREATE TABLE {s}.statements (
        tenant         text        NOT NULL,
        agent          text        NOT NULL,
        period         text        NOT NULL,
        total_fen      bigint      NOT NULL,
        tax_flag       boolean     NOT NULL,
        policy_version int         NOT NULL,
        lines          int         NOT NULL,
        position       bigint      NOT NULL,
        issued_at      timestamptz NOT NULL,
        PRIMARY KEY (tenant, agent, period)
    );
    CREATE INDEX ON {s}.statements (tenant, period);
    CREATE TABLE {s}.lines (
        tenant         text    NOT NULL,
        agent          text    NOT NULL,
        period         text    NOT NULL,
        n              int     NOT NULL,
        kind           text    NOT NULL,
        sale           text    NOT NULL,
        sale_event     text    NOT NULL,
        line_period    text    NOT NULL,
        base_fen       bigint  NOT NULL,
        rate           numeric NOT NULL,
        amount_fen     bigint  NOT NULL,
        bracket        int,
        return_event   text,
        capped_fen     bigint  NOT NULL,
        policy_version int     NOT NULL,
        PRIMARY KEY (tenant, agent, period, n)
    );
    CREATE INDEX ON {s}.lines (tenant, sale);
    """

    def __init__(self) -> None:
        self.codec = Codec()

    async def apply(
        self, conn: asyncpg.Connection, s: str, tenant: str, events: Sequence[RecordedEvent]
    ) -> None:
        heads, lines = [], []
        for e in events:
            st = self.codec.decode(e)
            heads.append((tenant, st.agent, st.period, st.total_fen, st.tax_flag,
                          st.policy_version, len(st.lines), e.position, e.business_time))
            for n, d in enumerate(st.lines, start=1):
                lines.append((tenant, st.agent, st.period, n, d["kind"], d["sale"],
                              d["sale_event"], d["period"], d["base_fen"], Decimal(d["rate"]),
                              d["amount_fen"], d["bracket"], d["return_event"],
                              d["capped_fen"], d["policy_version"]))
        await conn.copy_records_to_table("statements", schema_name=s, records=heads)
        await conn.copy_records_to_table("lines", schema_name=s, records=lines)
