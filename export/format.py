"""What is inside an export, byte for byte: file names, the event line, the checkpoint
event, CSV dialect and headers, money. Shared by the writer and the offline verifier.

events.jsonl holds one JSON object per event, in position order, with every field the
hash chain covers (eventstore/chain.py), so the chain is recomputed from the file alone:
payload as base64 (the exact stored bytes), metadata as stored, times in UTC with
microseconds (the chain hashes them as integer microseconds).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from domain.periods import CST
from domain.ports import RecordedEvent
from domain.settlement.history import READS

FORMAT = "weiledger-export/2"  # 2: the log root, the prefix, the opening events
EVENTS = "events.jsonl"
AGENTS = "agents.csv"
ORDERS = "orders.csv"
STATEMENTS = "statements.csv"
LINES = "statement_lines.csv"
ALERTS = "alerts.csv"
DISPUTES = "disputes.csv"
REFUSALS = "refusals.csv"
# What a range that starts after position 1 needs to stand on its own: the chain hash of
# every event before it (32 raw bytes each, in position order: the leaves of the log's
# Merkle tree, which the manifest signs), and, in full, the events before it that
# settlement reads (OPENING_NAMES), each proven by its leaf.
PREFIX = "prefix_hashes.bin"
OPENING = "opening.jsonl"
HASH_BYTES = 32
POLICIES = "policies.json"
CHECKPOINTS = "checkpoints.json"
PUBLIC_KEY = "public_key.pem"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"  # base64 of the Ed25519 signature over manifest.json's bytes
# Every file the manifest lists (all but the manifest and its signature).
LISTED = (EVENTS, PREFIX, OPENING, AGENTS, ORDERS, STATEMENTS, LINES, ALERTS, DISPUTES,
          REFUSALS, POLICIES, CHECKPOINTS, PUBLIC_KEY)
OPENING_NAMES = READS  # what domain/settlement/history.py's replay reads

CHECKPOINT_STREAM = "checkpoints"
CHECKPOINT_EVENT = "CheckpointSigned"
MERKLE_TREE = "rfc6962-sha256"

# Excel opens a CSV as UTF-8 only when it starts with a byte order mark; without it,
# Chinese names come out as mojibake on a zh-CN Windows.
BOM = "\ufeff"
CSV_LINE_END = "\r\n"  # RFC 4180, as Excel writes it

STATEMENT_HEADER = (
    "代理 agent", "结算周期 period", "合计(元) total_cny", "行数 lines",
    "纳税申报 tax_flag", "政策版本 policy_version", "事件 event", "位置 position",
)
LINE_HEADER = (
    "代理 agent", "结算周期 period", "行号 line", "类型 kind", "销售单 sale",
    "销售事件 sale_event", "所属周期 line_period", "基数(元) base_cny", "费率 rate",
    "金额(元) amount_cny", "档位 bracket", "退货事件 return_event",
    "封顶扣减(元) capped_cny", "政策版本 policy_version",
)


# Times in the CSVs are China time as a spreadsheet reads a date and time
# ("2026-05-03 14:05:00"), the offset in the column's name, never in the cell.
CST_COLUMN = "(+08:00)"


def cst_cell(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(CST).strftime("%Y-%m-%d %H:%M:%S")


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def event_line(e: RecordedEvent) -> bytes:
    return json.dumps(
        {
            "position": e.position,
            "tenant": e.tenant,
            "stream": e.stream,
            "version": e.version,
            "name": e.name,
            "business_time": iso(e.business_time),
            "recorded_at": iso(e.recorded_at),
            "metadata": dict(e.metadata),
            "payload": base64.b64encode(e.payload).decode("ascii"),
            "prev_hash": e.prev_hash.hex(),
            "hash": e.hash.hex(),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode() + b"\n"


def event_from_line(raw: bytes) -> RecordedEvent:
    """Parse one line of events.jsonl; ValueError (or KeyError) when it is not one."""
    d = json.loads(raw)
    return RecordedEvent(
        tenant=d["tenant"],
        position=int(d["position"]),
        stream=d["stream"],
        version=int(d["version"]),
        name=d["name"],
        payload=base64.b64decode(d["payload"], validate=True),
        business_time=datetime.fromisoformat(d["business_time"]),
        metadata=d["metadata"],
        recorded_at=datetime.fromisoformat(d["recorded_at"]),
        prev_hash=bytes.fromhex(d["prev_hash"]),
        hash=bytes.fromhex(d["hash"]),
    )


def checkpoint_payload(fields: Mapping[str, Any]) -> bytes:
    return json.dumps(dict(fields), sort_keys=True, separators=(",", ":")).encode()


def read_checkpoint(payload: bytes) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(payload)
    return found


def cny(fen: int) -> str:
    """Fen as yuan with two decimals, exactly: 12345 -> "123.45", -5 -> "-0.05"."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def fen(text: str) -> int:
    """The inverse of cny; refuses anything that is not a whole number of fen."""
    value = Decimal(text) * 100
    if value != value.to_integral_value():
        raise ValueError(f"{text!r} is not a whole number of fen")
    return int(value)
