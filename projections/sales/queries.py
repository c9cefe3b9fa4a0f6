"""Reads of the sales read model (rm_sales)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from domain.periods import cst_date, period_of
from eventstore.database import Reader, Row


def through_day(period: str | None, at: datetime | None, now: datetime | None = None
                ) -> date | None:
    """The CST day whose end an agent's net retail in `period` is summed to, when `at`
    cuts the period short; None when the period's total is the answer: no `at` (now),
    `at` not before `now` (nothing later is recorded yet: business time is never ahead
    of the server's clock), at in another period, or on the period's last day.

    Day by day, not to the instant: the console's "as of" is the end of a day."""
    if period is None or at is None or period_of(at) != period:
        return None
    day = cst_date(at)
    if at >= (now or datetime.now(UTC)) or (day + timedelta(days=1)).day == 1:
        return None
    return day


def net_retail_sql(agent: str, period: str, through: str) -> str:
    """An SQL expression: the net retail (fen) of the agent `agent` in `period` (SQL
    expressions; $1 the tenant), through the end of the CST day `through` (a date
    parameter, see through_day; NULL: the whole period). The period's row when the day
    is NULL, else the period's first days: at most 31 rows of one agent's key."""
    return f"""coalesce(CASE WHEN {through}::date IS NULL THEN
        (SELECT r.amount - r.returned_amount FROM rm_sales.net_retail r
          WHERE r.tenant = $1 AND r.agent = {agent} AND r.period = {period})
        ELSE (SELECT sum(x.amount - x.returned_amount) FROM rm_sales.agent_daily x
               WHERE x.tenant = $1 AND x.agent = {agent}
                 AND x.day >= date_trunc('month', {through}::date::timestamp)::date
                 AND x.day <= {through}::date) END, 0)::bigint"""


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


@dataclass(frozen=True, slots=True)
class NetworkRetail:
    """The whole network over some CST days: retail net of returns, and stock bought from
    HQ against stock sold at retail (units and fen)."""

    net_retail_fen: int
    retail_units: int
    returned_units: int
    hq_units: int
    hq_fen: int

    @property
    def sold_units(self) -> int:
        return self.retail_units - self.returned_units


async def network_retail(db: Reader, tenant: str, first: date, last: date) -> NetworkRetail:
    """The network's figures over the CST days first..last, both included."""
    row = await db.fetchrow(
        "SELECT coalesce(sum(amount - returned_amount), 0)::bigint AS net,"
        " coalesce(sum(units), 0)::bigint AS units,"
        " coalesce(sum(returned_units), 0)::bigint AS returned,"
        " coalesce(sum(hq_units), 0)::bigint AS hq_units,"
        " coalesce(sum(hq_amount), 0)::bigint AS hq_fen"
        " FROM rm_sales.network_daily WHERE tenant = $1 AND day BETWEEN $2 AND $3",
        tenant, first, last,
    )
    assert row is not None  # an aggregate: always one row
    return NetworkRetail(row["net"], row["units"], row["returned"], row["hq_units"],
                         row["hq_fen"])


async def monthly_net_retail(db: Reader, tenant: str, first: date, last: date
                             ) -> dict[str, int]:
    """Network net retail per period (CST month) over the days first..last."""
    rows = await db.fetch(
        "SELECT to_char(day, 'YYYY-MM') AS period, sum(amount - returned_amount)::bigint AS net"
        " FROM rm_sales.network_daily WHERE tenant = $1 AND day BETWEEN $2 AND $3"
        " GROUP BY 1 ORDER BY 1",
        tenant, first, last,
    )
    return {r["period"]: r["net"] for r in rows}
