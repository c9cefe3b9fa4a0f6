"""The rows of each export file, read from server-side cursors in the caller's snapshot.

Every function is an async generator over one connection that is inside a
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

from domain.agents.personal import ERASED_DATA, Unreadable, subject, unseal
from domain.events import Codec, streams
from domain.periods import CST
from domain.ports import RecordedEvent
from eventstore import reads
from eventstore.database import Conn
from eventstore.vault import keys_of
from export.format import CHECKPOINT_EVENT, cny, read_checkpoint
from projections import progress
from projections.alerts.queries import alerts_between
from projections.tree.queries import nodes_at

PREFETCH = 2_000  # rows a cursor fetches at a time, and agents masked per page
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


def events(conn: Conn, tenant: str, first: int, last: int,
           names: tuple[str, ...] = ()) -> AsyncIterator[RecordedEvent]:
    return reads.scan(conn, tenant, first, last, names, prefetch=PREFETCH)


async def agents(conn: Conn, tenant: str, last: int) -> AsyncIterator[Row]:
    """The tree as it stood at `last`, with personal data masked, or erased if forgotten."""
    if not await progress.exists(conn, "rm_tree.nodes"):
        return
    page: list[Any] = []
    async for node in nodes_at(conn, tenant, last, prefetch=PREFETCH):
        page.append(node)
        if len(page) == PREFETCH:
            for row in await _masked(conn, tenant, page):
                yield row
            page = []
    for row in await _masked(conn, tenant, page):
        yield row


async def _masked(conn: Conn, tenant: str, nodes: list[Any]) -> list[Row]:
    """Each node's row with its personal data masked: the join event (version 1 of the
    agent's stream) holds the sealed data, and the key vault's row is gone once the
    agent was forgotten."""
    if not nodes:
        return []
    sealed = await reads.first_payloads(conn, tenant, [streams.agent(n["agent"]) for n in nodes])
    keys = await keys_of(conn, tenant, [subject(n["agent"]) for n in nodes])
    found = []
    for r in nodes:
        data, state = ERASED_DATA, "已删除 erased"
        payload, key = sealed.get(streams.agent(r["agent"])), keys.get(subject(r["agent"]))
        if payload is not None and key is not None:
            try:
                data = unseal(key, tenant, r["agent"], _decode(payload)["personal"]).masked()
                state = "脱敏 masked"
            except (Unreadable, KeyError):
                pass
        found.append((r["agent"], r["sponsor"] or "", r["depth"], r["tier"], r["status"],
                      r["path"], local(r["joined_at"]), data.name, data.id_number, data.phone,
                      state))
    return found


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
    if not await progress.exists(conn, "rm_alerts.alerts"):
        return
    async for r in alerts_between(conn, tenant, first, last, prefetch=PREFETCH):
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


async def read_model_position(conn: Conn, name: str, tenant: str) -> int | None:
    """Where read model `name` stands (None: the service never built it)."""
    if not await progress.exists(conn, f"rm_{name}.checkpoint"):
        return None
    return await progress.position(conn, name, tenant)
