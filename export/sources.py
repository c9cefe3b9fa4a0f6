"""The rows of each export file, read from server-side cursors in the caller's snapshot.

Every function is an async generator over one asyncpg connection that is inside a
REPEATABLE READ transaction (writer.py opens it), so all files describe one instant and
rows stream through in pages: nothing here holds more than a cursor's prefetch.

Orders and statements come from the events themselves (the authority the chain
protects), not from read models that may lag; the tree and the alerts, which need
state folded over time, come from their read models, as of the export's last position.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from domain.agents.personal import ERASED_DATA, Unreadable, subject, unseal
from domain.events import Codec, streams
from domain.periods import CST
from domain.ports import RecordedEvent
from eventstore.postgres import COLUMNS, row_to_event
from export.format import CHECKPOINT_EVENT, cny, read_checkpoint

Conn = asyncpg.Connection | PoolConnectionProxy  # a connection or a pool's proxy of one
PREFETCH = 2_000
_decode = Codec().mapper.transcoder.decode
Row = tuple[Any, ...]

AGENT_HEADER = (
    "代理 agent", "推荐人 sponsor", "层级 depth", "级别 tier", "状态 status", "路径 path",
    "加入时间 joined", "姓名(脱敏) name_masked", "身份证(脱敏) id_number_masked",
    "手机(脱敏) phone_masked", "个人信息 personal_data",
)
ORDER_HEADER = (
    "位置 position", "时间 time", "类型 kind", "单号 order", "买方 buyer", "卖方 seller",
    "顾客 customer", "商品 sku", "数量 qty", "单价(元) unit_price_cny", "金额(元) amount_cny",
    "事件 event",
)
ALERT_HEADER = (
    "预警 alert", "规则 rule", "代理 agent", "严重程度 severity", "状态 status",
    "政策版本 policy_version", "发生时间 raised_at", "位置 position", "数字 numbers",
    "依据 cites", "确认时间 acknowledged_at", "确认人 acknowledged_by",
    "解决时间 resolved_at", "解决人 resolved_by", "解决原因 resolved_reason",
)
# Event name -> the kind of order it records, as orders.csv names it. A purchase from an
# upline is also a StockShipped in the seller's stream: the buyer's side is listed once.
ORDER_KINDS = {
    "StockPurchased": "进货 purchase",
    "RetailSaleRecorded": "零售 sale",
    "SaleReturned": "退货 return",
    "BuybackCompleted": "回购 buyback",
}


def local(moment: Any) -> str:
    return "" if moment is None else moment.astimezone(CST).isoformat(sep=" ")


async def events(conn: Conn, tenant: str, first: int, last: int,
                 names: tuple[str, ...] = ()) -> AsyncIterator[RecordedEvent]:
    cursor = conn.cursor(
        f"SELECT {COLUMNS} FROM events WHERE tenant = $1 AND position BETWEEN $2 AND $3"
        " AND (cardinality($4::text[]) = 0 OR name = ANY($4)) ORDER BY position",
        tenant, first, last, list(names), prefetch=PREFETCH,
    )
    async for row in cursor:
        yield row_to_event(row)


async def table_exists(conn: Conn, table: str) -> bool:
    return bool(await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table))


async def agents(conn: Conn, tenant: str, last: int) -> AsyncIterator[Row]:
    """The tree as it stood at `last`, with personal data masked, or erased if forgotten."""
    if not await table_exists(conn, "rm_tree.nodes"):
        return
    # The join event (version 1 of the agent's stream) holds the sealed personal data;
    # the key vault row is gone once the agent was forgotten.
    cursor = conn.cursor(
        "SELECT n.agent, n.sponsor, n.depth, n.tier, n.status, n.path, n.joined_at,"
        " e.payload, k.key FROM rm_tree.nodes n"
        " LEFT JOIN events e ON e.tenant = n.tenant AND e.stream = $3 || n.agent"
        "  AND e.version = 1"
        " LEFT JOIN personal_data_keys k ON k.tenant = n.tenant AND k.subject = $4 || n.agent"
        # The version valid at `last`: [valid_from, valid_to) in positions (tree.py).
        " WHERE n.tenant = $1 AND n.valid_from_position <= $2"
        "  AND (n.valid_to_position IS NULL OR n.valid_to_position > $2)"
        ' ORDER BY n.path COLLATE "C"',
        tenant, last, streams.agent(""), subject(""), prefetch=PREFETCH,
    )
    async for r in cursor:
        data, state = ERASED_DATA, "已删除 erased"
        if r["payload"] is not None and r["key"] is not None:
            try:
                sealed = _decode(r["payload"])["personal"]
                data = unseal(bytes(r["key"]), tenant, r["agent"], sealed).masked()
                state = "脱敏 masked"
            except (Unreadable, KeyError):
                pass
        yield (r["agent"], r["sponsor"] or "", r["depth"], r["tier"], r["status"], r["path"],
               local(r["joined_at"]), data.name, data.id_number, data.phone, state)


async def orders(conn: Conn, tenant: str, first: int,
                 last: int) -> AsyncIterator[Row]:
    """One row per order line: purchases, retail sales, returns, buy-backs."""
    async for e in events(conn, tenant, first, last, tuple(ORDER_KINDS)):
        d = _decode(e.payload)
        owner = e.stream.split("-", 1)[1]
        kind = ORDER_KINDS[e.name]
        if e.name == "StockPurchased":
            number, buyer, seller, customer = d["purchase"], owner, d["seller"] or "HQ", ""
        elif e.name == "BuybackCompleted":
            number, buyer, seller, customer = d["buyback"], "HQ", owner, ""
        else:  # a sale and its returns live in stream sale-<id>
            number, buyer, seller, customer = owner, "", d.get("seller", ""), d.get("customer")
        for line in d["lines"]:
            price = line.get("unit_price")
            amount = "" if price is None else cny(price * line["qty"])
            yield (e.position, local(e.business_time), kind, number, buyer, seller or "",
                   customer or "", line["sku"], line["qty"],
                   "" if price is None else cny(price), amount, f"{e.stream}@{e.version}")


async def statements(conn: Conn, tenant: str, first: int,
                     last: int) -> AsyncIterator[tuple[RecordedEvent, dict[str, Any]]]:
    async for e in events(conn, tenant, first, last, ("StatementIssued",)):
        yield e, _decode(e.payload)


async def statement_rows(conn: Conn, tenant: str, first: int,
                         last: int) -> AsyncIterator[Row]:
    async for e, d in statements(conn, tenant, first, last):
        yield (d["agent"], d["period"], cny(d["total_fen"]), len(d["lines"]),
               "是 yes" if d["tax_flag"] else "否 no", d["policy_version"],
               f"{e.stream}@{e.version}", e.position)


async def line_rows(conn: Conn, tenant: str, first: int,
                    last: int) -> AsyncIterator[Row]:
    async for _e, d in statements(conn, tenant, first, last):
        for n, x in enumerate(d["lines"], start=1):
            yield (d["agent"], d["period"], n, x["kind"], x["sale"], x["sale_event"],
                   x["period"], cny(x["base_fen"]), x["rate"], cny(x["amount_fen"]),
                   "" if x["bracket"] is None else x["bracket"], x["return_event"] or "",
                   cny(x["capped_fen"]), x["policy_version"])


async def alerts(conn: Conn, tenant: str, first: int,
                 last: int) -> AsyncIterator[Row]:
    if not await table_exists(conn, "rm_alerts.alerts"):
        return
    cursor = conn.cursor(
        "SELECT * FROM rm_alerts.alerts WHERE tenant = $1 AND position BETWEEN $2 AND $3"
        " ORDER BY position, alert", tenant, first, last, prefetch=PREFETCH,
    )
    async for r in cursor:
        yield (r["alert"], r["rule"], r["agent"], r["severity"], r["status"],
               r["policy_version"], local(r["raised_at"]), r["position"],
               _json(r["numbers"]), _json(r["cites"]), local(r["acknowledged_at"]),
               r["acknowledged_by"] or "", local(r["resolved_at"]), r["resolved_by"] or "",
               r["resolved_reason"] or "")


def _json(value: Any) -> str:
    parsed = json.loads(value) if isinstance(value, str) else value
    return json.dumps(parsed, ensure_ascii=False, sort_keys=True)


async def policies(conn: Conn, tenant: str,
                   last: int) -> AsyncIterator[tuple[RecordedEvent, dict[str, Any]]]:
    """Every policy version issued up to `last`, even before the range: it judged it."""
    async for e in events(conn, tenant, 1, last, ("PolicyIssued",)):
        yield e, _decode(e.payload)


async def checkpoints(conn: Conn, tenant: str, first: int,
                      last: int) -> AsyncIterator[dict[str, Any]]:
    async for e in events(conn, tenant, first, last, (CHECKPOINT_EVENT,)):
        yield {"position": e.position, **read_checkpoint(e.payload)}


async def read_model_position(conn: Conn, schema: str, tenant: str) -> int | None:
    if not await table_exists(conn, f"{schema}.checkpoint"):
        return None
    value: int | None = await conn.fetchval(
        f"SELECT position FROM {schema}.checkpoint WHERE tenant = $1", tenant
    )
    return value
