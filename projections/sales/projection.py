"""Retail sales, net retail per agent and period, and stock sold down the tree.

- `sales`: one row per retail sale (零售): seller, customer id (the brand's own, needed
  for the repurchase rate), business time, period, units, amount, and what came back.
- `net_retail`: per agent and period, retail minus returns, each counted in the period
  of its own business time. That is how the ledger weighs promotion evidence
  (Stock.net_retail), so the console and the promotion rule agree.
- `downline_sales`: per agent and period, stock it sold to its direct downline
  (StockShipped): the push-down alert compares it with the agent's own net retail.
- `agent_daily`: per agent and CST day, retail and returns (each on its own business
  day), so the console's "as of a past date" sums a period's first days of one agent
  exactly, where `net_retail` has the whole month.
- `network_daily`: the whole network's retail, returns and stock bought from HQ per
  CST day (a few hundred rows a year), so the console's overview sums any stretch of
  days (this month so far against the same days of the last) without reading sales.

Periods are calendar months in China Standard Time (domain.periods). Amounts in fen.
A batch becomes at most five statements, whatever its size.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, NamedTuple

import asyncpg

from domain.events import Codec
from domain.periods import cst_date, period_of
from domain.ports import RecordedEvent
from projections.runner import Projection

SALE_STREAM, STOCK_STREAM = "sale-", "stock-"
SALE_COLUMNS = ("tenant", "sale", "seller", "customer", "sold_at", "period", "units", "amount",
                "position")

# A table's key (its columns after the tenant) -> the values added to its other columns.
Totals = dict[tuple[Any, ...], list[int]]
# (name, SQL type) of each key column, for unnest.
AGENT_PERIOD = (("agent", "text"), ("period", "text"))
AGENT_DAY = (("agent", "text"), ("day", "date"))
DAY = (("day", "date"),)
NET_COLUMNS = ("sales", "units", "amount", "returned_units", "returned_amount")
AGENT_DAILY_COLUMNS = ("amount", "returned_amount")
DAILY_COLUMNS = ("units", "amount", "returned_units", "returned_amount", "hq_units", "hq_amount")


def _id(stream: str, prefix: str) -> str:
    if not stream.startswith(prefix):
        raise ValueError(f"stream {stream!r} does not start with {prefix!r}")
    return stream[len(prefix):]


def _add(totals: Totals, key: tuple[Any, ...], *values: int) -> None:
    row = totals.setdefault(key, [0] * len(values))
    for i, v in enumerate(values):
        row[i] += v


class SalesProjection(Projection):
    name = "sales"
    version = 4  # 2: fillfactor 90 on sales; 3: network_daily; 4: agent_daily
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
    CREATE TABLE {s}.agent_daily (
        tenant          text   NOT NULL,
        agent           text   NOT NULL,
        day             date   NOT NULL,
        amount          bigint NOT NULL,
        returned_amount bigint NOT NULL,
        PRIMARY KEY (tenant, agent, day)
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
        returned: dict[str, list[Returned]] = {}  # sale -> its returns in this batch
        net: Totals = {}
        agent_daily: Totals = {}
        shipped: Totals = {}
        daily: Totals = {}
        for e in events:
            d = self.codec.decode(e)
            period, day = period_of(e.business_time), cst_date(e.business_time)
            units = sum(line["qty"] for line in d.lines)
            if e.name == "RetailSaleRecorded":
                sales.append((tenant, d.sale, d.seller, d.customer, e.business_time, period,
                              units, d.amount, e.position))
                _add(net, (d.seller, period), 1, units, d.amount, 0, 0)
                _add(agent_daily, (d.seller, day), d.amount, 0)
                _add(daily, (day,), units, d.amount, 0, 0, 0, 0)
            elif e.name == "SaleReturned":
                returned.setdefault(_id(e.stream, SALE_STREAM), []).append(
                    Returned(period, day, units, d.amount)
                )
                _add(daily, (day,), 0, 0, units, d.amount, 0, 0)
            elif e.name == "StockPurchased":
                if d.seller is None:  # from HQ; from the upline it is stock moved inside
                    amount = sum(line["qty"] * line["unit_price"] for line in d.lines)
                    _add(daily, (day,), 0, 0, 0, 0, units, amount)
            else:
                amount = sum(line["qty"] * line["unit_price"] for line in d.lines)
                _add(shipped, (_id(e.stream, STOCK_STREAM), period), units, amount)
        if sales:
            await conn.copy_records_to_table(
                "sales", schema_name=s, columns=SALE_COLUMNS, records=sales
            )
        if returned:
            await _returns(conn, s, tenant, returned, net, agent_daily)
        await _add_into(conn, s, "net_retail", tenant, net, AGENT_PERIOD, NET_COLUMNS)
        await _add_into(conn, s, "agent_daily", tenant, agent_daily, AGENT_DAY,
                        AGENT_DAILY_COLUMNS)
        await _add_into(conn, s, "downline_sales", tenant, shipped, AGENT_PERIOD,
                        ("units", "amount"))
        await _add_into(conn, s, "network_daily", tenant, daily, DAY, DAILY_COLUMNS)


class Returned(NamedTuple):
    period: str
    day: date
    units: int
    amount: int


async def _returns(
    conn: asyncpg.Connection,
    s: str,
    tenant: str,
    returned: dict[str, list[Returned]],
    net: Totals,
    agent_daily: Totals,
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
        [sum(r.units for r in returned[k]) for k in keys],
        [sum(r.amount for r in returned[k]) for k in keys],
    )
    seller = {r["sale"]: r["seller"] for r in rows}
    missing = set(keys) - set(seller)
    if missing:
        raise LookupError(f"returns of unknown sales: {sorted(missing)}")
    for sale, parts in returned.items():
        for r in parts:
            _add(net, (seller[sale], r.period), 0, 0, 0, r.units, r.amount)
            _add(agent_daily, (seller[sale], r.day), 0, r.amount)


async def _add_into(
    conn: asyncpg.Connection,
    s: str,
    table: str,
    tenant: str,
    totals: Totals,
    key_columns: tuple[tuple[str, str], ...],
    value_columns: tuple[str, ...],
) -> None:
    """Add `totals` into `table` in one statement: a key's row is made, or its columns
    grown by the values (unnest, then INSERT ... ON CONFLICT DO UPDATE)."""
    if not totals:
        return
    keys = sorted(totals)
    keyed = [name for name, _ in key_columns]
    names = ", ".join(keyed + list(value_columns))
    typed = ", ".join(
        [f"${i + 2}::{kind}[]" for i, (_, kind) in enumerate(key_columns)]
        + [f"${i + 2 + len(key_columns)}::bigint[]" for i in range(len(value_columns))]
    )
    added = ", ".join(f"{c} = {table}.{c} + EXCLUDED.{c}" for c in value_columns)
    await conn.execute(
        f"INSERT INTO {s}.{table} (tenant, {names})"
        f" SELECT $1, u.* FROM unnest({typed}) AS u"
        f" ON CONFLICT (tenant, {', '.join(keyed)}) DO UPDATE SET {added}",
        tenant,
        *([k[i] for k in keys] for i in range(len(key_columns))),
        *([totals[k][i] for k in keys] for i in range(len(value_columns))),
    )
