"""Reads of the sales read model (rm_sales)."""

from __future__ import annotations

from eventstore.database import Reader, Row


async def net_retail(db: Reader, tenant: str, agent: str, period: str) -> int:
    """The agent's own retail minus returns in the period, in fen."""
    value = await db.fetchval(
        "SELECT amount - returned_amount FROM rm_sales.net_retail"
        " WHERE tenant = $1 AND agent = $2 AND period = $3",
        tenant, agent, period,
    )
    return int(value or 0)


async def sales(db: Reader, tenant: str, *, seller: str | None, period: str | None,
                after: str, limit: int) -> list[Row]:
    """Retail sales by id after `after`, optionally of one seller or one period."""
    return await db.fetch(
        "SELECT sale, seller, sold_at, period, units, amount, returned_units, returned_amount"
        " FROM rm_sales.sales WHERE tenant = $1 AND sale COLLATE \"C\" > $2"
        " AND ($3::text IS NULL OR seller = $3) AND ($4::text IS NULL OR period = $4)"
        " ORDER BY sale COLLATE \"C\" LIMIT $5",
        tenant, after, seller, period, limit,
    )
