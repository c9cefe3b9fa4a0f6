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
from domain.ports import RecordedEvent, RememberedRefusal
from eventstore import reads, refusals
from eventstore.database import Conn
from eventstore.kek import Kek
from eventstore.vault import keys_of
from export.format import CHECKPOINT_EVENT, CST_COLUMN, cny, cst_cell, read_checkpoint
from projections import progress
from projections.alerts.queries import About, alerts_about, disputes_about, number_names
from projections.tree.queries import nodes_at

PREFETCH = 2_000  # rows a cursor fetches at a time, and agents masked per page
_decode = Codec().mapper.transcoder.decode
Row = tuple[Any, ...]

AGENT_HEADER = (
    "代理 agent", "推荐人 sponsor", "层级 depth", "级别 tier", "状态 status", "路径 path",
    f"加入时间 joined {CST_COLUMN}", "姓名(脱敏) name_masked", "身份证(脱敏) id_number_masked",
    "手机(脱敏) phone_masked", "个人信息 personal_data",
)
ORDER_HEADER = (
    "位置 position", f"时间 time {CST_COLUMN}", "类型 kind", "单号 order", "买方 buyer",
    "卖方 seller", "顾客 customer", "商品 sku", "数量 qty", "单价(元) unit_price_cny",
    "金额(元) amount_cny", "事件 event",
)
# alerts.csv: these, then one column per number any listed alert carries
# ("数字 numbers: <name>"), so a spreadsheet sums and filters them.
ALERT_HEADER = (
    "预警 alert", "规则 rule", "代理 agent", "严重程度 severity", "状态 status",
    "政策版本 policy_version", f"发生时间 raised_at {CST_COLUMN}", "位置 position",
    "依据 cites", f"确认时间 acknowledged_at {CST_COLUMN}", "确认人 acknowledged_by",
    f"解决时间 resolved_at {CST_COLUMN}", "解决人 resolved_by", "解决原因 resolved_reason",
)
NUMBER_COLUMN = "数字 numbers: "
DISPUTE_HEADER = (
    "申诉 dispute", "代理 agent", "对象 subject", "状态 status", "内容 text",
    f"提出时间 opened_at {CST_COLUMN}", "提出人 opened_by", f"答复期限 answer_due {CST_COLUMN}",
    f"答复时间 answered_at {CST_COLUMN}", "答复人 answered_by", "答复 answer",
    f"解决时间 resolved_at {CST_COLUMN}", "解决人 resolved_by", "结果 outcome",
    "调整(元) adjustment_cny", "决定 resolution", "位置 position",
)
# refusals.csv: these, then one column per number any listed refusal carries.
REFUSAL_HEADER = (
    "序号 id", f"拒绝时间 refused_at {CST_COLUMN}", f"业务时间 business_time {CST_COLUMN}",
    "命令 command", "规则 rule", "代理 agent", "操作人 actor", "幂等键 key", "请求 request",
    "当时位置 head_position",
)

# Event name -> the kind of order it records, as orders.csv names it (with the sign of its
# quantities and amounts: what goes back, a return or a buy-back, is negative, so a
# column sums to what was kept). A purchase from an
# upline is also a StockShipped in the seller's stream: the buyer's side is listed once.
ORDER_KINDS = {
    "StockPurchased": "进货 purchase",
    "RetailSaleRecorded": "零售 sale",
    "SaleReturned": "退货 return",
    "BuybackCompleted": "回购 buyback",
}
NEGATIVE_KINDS = ("SaleReturned", "BuybackCompleted")


def events(conn: Conn, tenant: str, first: int, last: int,
           names: tuple[str, ...] = ()) -> AsyncIterator[RecordedEvent]:
    return reads.scan(conn, tenant, first, last, names, prefetch=PREFETCH)


async def agents(conn: Conn, tenant: str, last: int, kek: Kek) -> AsyncIterator[Row]:
    """The tree as it stood at `last`, with personal data masked, or erased if forgotten.
    `kek` opens the wrapped personal-data keys (eventstore/kek.py)."""
    if not await progress.exists(conn, "rm_tree.nodes"):
        return
    page: list[Any] = []
    async for node in nodes_at(conn, tenant, last, prefetch=PREFETCH):
        page.append(node)
        if len(page) == PREFETCH:
            for row in await _masked(conn, tenant, page, kek):
                yield row
            page = []
    for row in await _masked(conn, tenant, page, kek):
        yield row


async def _masked(conn: Conn, tenant: str, nodes: list[Any], kek: Kek) -> list[Row]:
    """Each node's row with its personal data masked: the join event (version 1 of the
    agent's stream) holds the sealed data, and the key vault's row is gone once the
    agent was forgotten."""
    if not nodes:
        return []
    sealed = await reads.first_payloads(conn, tenant, [streams.agent(n["agent"]) for n in nodes])
    keys = await keys_of(conn, tenant, [subject(n["agent"]) for n in nodes], kek)
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
                      r["path"], cst_cell(r["joined_at"]), data.name, data.id_number, data.phone,
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
        sign = -1 if e.name in NEGATIVE_KINDS else 1
        for line in d["lines"]:
            price, qty = line.get("unit_price"), sign * line["qty"]
            amount = "" if price is None else cny(price * qty)
            yield (e.position, cst_cell(e.business_time), kind, number, buyer, seller or "",
                   customer or "", line["sku"], qty,
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


async def alert_numbers(conn: Conn, tenant: str, about: About) -> list[str]:
    """The names of the numbers the listed alerts carry: one column each."""
    if not await progress.exists(conn, "rm_alerts.alerts"):
        return []
    return await number_names(conn, tenant, about)


async def alerts(conn: Conn, tenant: str, about: About,
                 numbers: list[str]) -> AsyncIterator[Row]:
    if not await progress.exists(conn, "rm_alerts.alerts"):
        return
    async for r in alerts_about(conn, tenant, about, prefetch=PREFETCH):
        found = _json(r["numbers"])
        yield (r["alert"], r["rule"], r["agent"], r["severity"], r["status"],
               r["policy_version"], cst_cell(r["raised_at"]), r["position"],
               json.dumps(_json(r["cites"]), ensure_ascii=False, sort_keys=True),
               cst_cell(r["acknowledged_at"]), r["acknowledged_by"] or "",
               cst_cell(r["resolved_at"]), r["resolved_by"] or "", r["resolved_reason"] or "",
               *(_cell(found.get(k)) for k in numbers))


async def disputes(conn: Conn, tenant: str, about: About) -> AsyncIterator[Row]:
    if not await progress.exists(conn, "rm_disputes.disputes"):
        return
    async for r in disputes_about(conn, tenant, about, prefetch=PREFETCH):
        adjustment = r["adjustment_fen"]
        yield (r["dispute"], r["agent"], r["subject"], r["status"], r["text"],
               cst_cell(r["opened_at"]), r["opened_by"] or "", cst_cell(r["answer_due"]),
               cst_cell(r["answered_at"]), r["answered_by"] or "", r["answer"] or "",
               cst_cell(r["resolved_at"]), r["resolved_by"] or "", r["outcome"] or "",
               "" if adjustment is None else cny(adjustment), r["resolution"] or "",
               r["position"])


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _cell(value: Any) -> Any:
    """A number as itself; anything else (a list of codes) as compact JSON."""
    if value is None or isinstance(value, str | int):
        return "" if value is None else value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _refused(conn: Conn, tenant: str, first: int,
             last: int) -> AsyncIterator[RememberedRefusal]:
    """The refusals judged while the log ended at a position from first - 1 to last: on
    the ledger as the range's events left it (position 0: before any event)."""
    async def pages() -> AsyncIterator[RememberedRefusal]:
        after = 0
        while True:
            page = await refusals.read(conn, tenant, after_id=after,
                                       after_position=first - 2, upto_position=last,
                                       rule=None, agent=None, since=None, until=None,
                                       limit=PREFETCH)
            for r in page:
                yield r
            if len(page) < PREFETCH:
                return
            after = page[-1].id
    return pages()


async def refusal_numbers(conn: Conn, tenant: str, first: int, last: int) -> list[str]:
    names: set[str] = set()
    async for r in _refused(conn, tenant, first, last):
        names.update(r.numbers)
    return sorted(names)


async def refusal_rows(conn: Conn, tenant: str, first: int, last: int,
                       numbers: list[str]) -> AsyncIterator[Row]:
    async for r in _refused(conn, tenant, first, last):
        yield (r.id, cst_cell(r.recorded_at), cst_cell(r.business_time), r.command, r.rule,
               r.agent or "", r.actor, r.key, r.request_id or "", r.head_position,
               *(_cell(r.numbers.get(k)) for k in numbers))


def prefix_hashes(conn: Conn, tenant: str, first: int) -> AsyncIterator[bytes]:
    """The chain hash of every event before `first`, in position order."""
    return reads.chain_hashes(conn, tenant, first, prefetch=PREFETCH * 5)


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
