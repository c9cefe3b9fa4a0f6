"""Retail sales, net retail per agent and period, and stock sold down the tree.

- `sales`: one row per retail sale (零售): seller, customer id (the brand's own, needed
  for the repurchase rate), business time, period, units, amount, and what came back.
- `net_retail`: per agent and period, retail minus returns, each counted in the period
  of its own business time. That is how the ledger weighs promotion evidence
  (Stock.net_retail), so the console and the promotion rule agree.
- `downline_sales`: per agent and period, stock it sold to its direct downline
  (StockShipped): the push-down alert compares it with the agent's own net retail.
- `network_daily`: the whole network's retail, returns and stock bought from HQ per
  CST day (a few hundred rows a year), so the console's overview sums any stretch of
  days (this month so far against the same days of the last) without reading sales.

Periods are calendar months in China Standard Time (domain.periods). Amounts in fen.
A batch becomes at most four statements, whatever its size.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TypeVar

import asyncpg

from domain.events import Codec
from domain.periods import cst_date, period_of
from domain.ports import RecordedEvent
from projections.runner import Projection

SALE_STREAM, STOCK_STREAM = "sale-", "stock-"
SALE_COLUMNS = ("tenant", "sale", "seller", "customer", "sold_at", "period", "units", "amount",
                "position")

# (agent, period) -> [sales, units, amount, returned units, returned amount]
Totals = dict[tuple[str, str], list[int]]
# CST day -> [retail units, retail amount, returned units, returned amount, HQ units, HQ amount]
Daily = dict[date, list[int]]
K = TypeVar("K")
DAILY_COLUMNS = ("units", "amount", "returned_units", "returned_amount", "hq_units", "hq_amount")


def _id(stream: str, prefix: str) -> str:
    if not stream.startswith(prefix):
        raise ValueError(f"stream {stream!r} does not start with {prefix!r}")
    return stream[len(prefix):]


def _add(totals: dict[K, list[int]], key: K, *values: int) -> None:
    row = totals.setdefault(key, [0] * len(values))
    for i, v in enumerate(values):
        row[i] += v


class SalesProjection(Projection):
    name = "sales"
    version = 3  # 2: fillfactor 90 on sales; 3: network_daily
    reads = ("RetailSaleRecorded", "SaleReturned", "StockShipped", "StockPurchased")
    ddl = """
    CREATE TABLE {s}.sales (
        tenant          text        NOT NULL,
        sale            text        NOT NULL,
        seller          text        NOT NULL,
        customer        text,
        sold_at         timestamptz NOT NULL,
        period          text        NOT NULL,
        units           bigint      NOT NULL,
        amount          bigint      NOT NULL,
        returned_units  bigint      NOT NULL DEFAULT 0,
        returned_amount bigint      NOT NULL DEFAULT 0,
        position        bigint      NOT NULL,
        PRIMARY KEY (tenant, sale),
        CHECK (returned_units <= units)
    ) WITH (fillfactor = 90);  -- room on the page: a return's update stays HOT
    CREATE INDEX sales_by_period ON {s}.sales (tenant, period);
    CREATE INDEX sales_by_customer ON {s}.sales (tenant, customer, sold_at)
        WHERE customer IS NOT NULL;
    CREATE TABLE {s}.net_retail (
        tenant          text   NOT NULL,
        agent           text   NOT NULL,
        period          text   NOT NULL,
        sales           bigint NOT NULL,
        units           bigint NOT NULL,
        amount          bigint NOT NULL,
        returned_units  bigint NOT NULL,
        returned_amount bigint NOT NULL,
        PRIMARY KEY (tenant, agent, period)
    );
    CREATE INDEX net_retail_by_period ON {s}.net_retail (tenant, period);
    CREATE TABLE {s}.downline_sales (
        tenant text   NOT NULL,
        agent  text   NOT NULL,
        period text   NOT NULL,
        units  bigint NOT NULL,
        amount bigint NOT NULL,
        PRIMARY KEY (tenant, agent, period)
    );
    CREATE TABLE {s}.network_daily (
        tenant          text   NOT NULL,
        day             date   NOT NULL,
        units           bigint NOT NULL,
        amount          bigint NOT NULL,
        returned_units  bigint NOT NULL,
        returned_amount bigint NOT NULL,
        hq_units        bigint NOT NULL,
        hq_amount       bigint NOT NULL,
        PRIMARY KEY (tenant, day)
    );
    """

    def __init__(self) -> None:
        self.codec = Codec()

    async def apply(
        self, conn: asyncpg.Connection, s: str, tenant: str, events: Sequence[RecordedEvent]
    ) -> None:
        sales: list[tuple[object, ...]] = []
        returned: dict[str, list[tuple[str, int, int]]] = {}  # sale -> (period, units, amount)
        net: Totals = {}
        shipped: Totals = {}
        daily: Daily = {}
        for e in events:
            d = self.codec.decode(e)
            period, day = period_of(e.business_time), cst_date(e.business_time)
            units = sum(line["qty"] for line in d.lines)
            if e.name == "RetailSaleRecorded":
                sales.append((tenant, d.sale, d.seller, d.customer, e.business_time, period,
                              units, d.amount, e.position))
                _add(net, (d.seller, period), 1, units, d.amount, 0, 0)
                _add(daily, day, units, d.amount, 0, 0, 0, 0)
            elif e.name == "SaleReturned":
                returned.setdefault(_id(e.stream, SALE_STREAM), []).append(
                    (period, units, d.amount)
                )
                _add(daily, day, 0, 0, units, d.amount, 0, 0)
            elif e.name == "StockPurchased":
                if d.seller is None:  # from HQ; from the upline it is stock moved inside
                    amount = sum(line["qty"] * line["unit_price"] for line in d.lines)
                    _add(daily, day, 0, 0, 0, 0, units, amount)
            else:
                amount = sum(line["qty"] * line["unit_price"] for line in d.lines)
                _add(shipped, (_id(e.stream, STOCK_STREAM), period), units, amount)
        if sales:
            await conn.copy_records_to_table(
                "sales", schema_name=s, columns=SALE_COLUMNS, records=sales
            )
        if returned:
            await _returns(conn, s, tenant, returned, net)
        await _upsert(conn, s, "net_retail", tenant, net,
                      ("sales", "units", "amount", "returned_units", "returned_amount"))
        await _upsert(conn, s, "downline_sales", tenant, shipped, ("units", "amount"))
        await _add_days(conn, s, tenant, daily)


async def _add_days(conn: asyncpg.Connection, s: str, tenant: str, daily: Daily) -> None:
    if not daily:
        return
    days = sorted(daily)
    typed = ", ".join(f"${i + 3}::bigint[]" for i in range(len(DAILY_COLUMNS)))
    added = ", ".join(f"{c} = network_daily.{c} + EXCLUDED.{c}" for c in DAILY_COLUMNS)
    await conn.execute(
        f"INSERT INTO {s}.network_daily (tenant, day, {', '.join(DAILY_COLUMNS)})"
        f" SELECT $1, u.* FROM unnest($2::date[], {typed}) AS u"
        f" ON CONFLICT (tenant, day) DO UPDATE SET {added}",
        tenant, days, *([daily[day][i] for day in days] for i in range(len(DAILY_COLUMNS))),
    )


async def _returns(
    conn: asyncpg.Connection,
    s: str,
    tenant: str,
    returned: dict[str, list[tuple[str, int, int]]],
    net: Totals,
) -> None:
    """Add returns to their sales (after this batch's own sales are in) and learn each
    sale's seller from the row, since a return's event does not repeat it."""
    keys = sorted(returned)
    rows = await conn.fetch(
        f"UPDATE {s}.sales x SET returned_units = x.returned_units + r.units,"
        " returned_amount = x.returned_amount + r.amount"
        " FROM unnest($2::text[], $3::bigint[], $4::bigint[]) AS r(sale, units, amount)"
        " WHERE x.tenant = $1 AND x.sale = r.sale RETURNING x.sale, x.seller",
        tenant,
        keys,
        [sum(u for _, u, _ in returned[k]) for k in keys],
        [sum(a for _, _, a in returned[k]) for k in keys],
    )
    seller = {r["sale"]: r["seller"] for r in rows}
    missing = set(keys) - set(seller)
    if missing:
        raise LookupError(f"returns of unknown sales: {sorted(missing)}")
    for sale, parts in returned.items():
        for period, units, amount in parts:
            _add(net, (seller[sale], period), 0, 0, 0, units, amount)


async def _upsert(
    conn: asyncpg.Connection,
    s: str,
    table: str,
    tenant: str,
    totals: Totals,
    columns: tuple[str, ...],
) -> None:
    if not totals:
        return
    keys = sorted(totals)
    names = ", ".join(columns)
    typed = ", ".join(f"${i + 4}::bigint[]" for i in range(len(columns)))
    added = ", ".join(f"{c} = {table}.{c} + EXCLUDED.{c}" for c in columns)
    await conn.execute(
        f"INSERT INTO {s}.{table} (tenant, agent, period, {names})"
        f" SELECT $1, u.* FROM unnest($2::text[], $3::text[], {typed}) AS u"
        f" ON CONFLICT (tenant, agent, period) DO UPDATE SET {added}",
        tenant,
        [a for a, _ in keys],
        [p for _, p in keys],
        *([totals[k][i] for k in keys] for i in range(len(columns))),
    )
