"""The brand's health figures for one period, as queries over the read models.

- net retail: all agents' retail minus returns in the period (fen);
- 30-day repurchase rate: of the customers who bought in the period, the share who
  bought again (from any agent) within 30 days after one of those purchases;
- retail per active agent: net retail over the agents active when the period ended;
- 3-month retention: of the agents who joined in the period, the share still active
  three calendar months (CST) after their join; with `as_of`, only those whose three
  months had passed by then are judged, so a young cohort is not read as retained;
- payout share: statements' payouts for the period (rm_statements.statements:
  tenant, period, total_fen) over its net retail; None until the period is settled.

Ratios are floats: they are indicators, never amounts; money stays integer fen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.periods import period_end, period_start
from eventstore.database import Reader

STATEMENTS = ("rm_statements", "statements")


@dataclass(frozen=True, slots=True)
class Kpis:
    period: str
    net_retail_fen: int
    customers: int
    repurchase_rate_30d: float | None  # None: no customer bought in the period
    active_agents: int
    retail_per_active_agent_fen: int | None  # None: no agent was active
    new_agents: int
    retention_3m: float | None  # None: nobody joined (or nobody could be judged yet)
    payout_share: float | None  # None: no statements read model, or no net retail


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


async def kpis_of(db: Reader, tenant: str, period: str, *, as_of: datetime | None = None) -> Kpis:
    start, end = period_start(period), period_end(period)
    net = int(
        await db.fetchval(
            "SELECT coalesce(sum(amount - returned_amount), 0) FROM rm_sales.net_retail"
            " WHERE tenant = $1 AND period = $2",
            tenant, period,
        )
    )
    buyers = await db.fetchrow(
        """
        WITH bought AS (
            SELECT s.customer, EXISTS (
                       SELECT 1 FROM rm_sales.sales n
                        WHERE n.tenant = $1 AND n.customer = s.customer
                          AND n.sold_at > s.sold_at
                          AND n.sold_at <= s.sold_at + interval '30 days') AS again
              FROM rm_sales.sales s
             WHERE s.tenant = $1 AND s.period = $2 AND s.customer IS NOT NULL
        )
        SELECT count(DISTINCT customer) AS customers,
               count(DISTINCT customer) FILTER (WHERE again) AS again FROM bought
        """,
        tenant, period,
    )
    # Active when the period ended: the version current at its last instant.
    active = int(
        await db.fetchval(
            "SELECT count(*) FROM rm_tree.nodes WHERE tenant = $1 AND status = 'active'"
            " AND valid_from_time < $2 AND (valid_to_time IS NULL OR valid_to_time >= $2)",
            tenant, end,
        )
    )
    cohort = await db.fetchrow(
        """
        WITH joined AS (
            SELECT DISTINCT agent, (joined_at AT TIME ZONE 'Asia/Shanghai' + interval '3 months')
                                   AT TIME ZONE 'Asia/Shanghai' AS mark
              FROM rm_tree.nodes
             WHERE tenant = $1 AND joined_at >= $2 AND joined_at < $3
        ), judged AS (
            SELECT j.agent, EXISTS (
                       SELECT 1 FROM rm_tree.nodes n
                        WHERE n.tenant = $1 AND n.agent = j.agent AND n.status = 'active'
                          AND n.valid_from_time <= j.mark
                          AND (n.valid_to_time IS NULL OR n.valid_to_time > j.mark)) AS kept
              FROM joined j WHERE $4::timestamptz IS NULL OR j.mark <= $4
        )
        SELECT (SELECT count(*) FROM joined) AS joined,
               count(*) AS judged, count(*) FILTER (WHERE kept) AS kept FROM judged
        """,
        tenant, start, end, as_of,
    )
    assert buyers is not None and cohort is not None  # aggregates: always one row
    paid = await _payouts(db, tenant, period)
    return Kpis(
        period=period,
        net_retail_fen=net,
        customers=buyers["customers"],
        repurchase_rate_30d=_share(buyers["again"], buyers["customers"]),
        active_agents=active,
        retail_per_active_agent_fen=net // active if active else None,
        new_agents=cohort["joined"],
        retention_3m=_share(cohort["kept"], cohort["judged"]),
        payout_share=None if paid is None else _share(paid, net),
    )


async def _payouts(db: Reader, tenant: str, period: str) -> int | None:
    """Payouts for the period from the statements read model; None while the period has
    no statement, or the model (or the columns this reads) does not exist."""
    schema, table = STATEMENTS
    columns = {
        r["column_name"]
        for r in await db.fetch(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = $1 AND table_name = $2",
            schema, table,
        )
    }
    if not {"tenant", "period", "total_fen"} <= columns:
        return None
    found = await db.fetchrow(
        f"SELECT count(*) AS n, sum(total_fen) AS paid FROM {schema}.{table}"
        " WHERE tenant = $1 AND period = $2",
        tenant, period,
    )
    # No statement yet: the period is not settled, which is not the same as paying 0.
    return int(found["paid"]) if found is not None and found["n"] else None
