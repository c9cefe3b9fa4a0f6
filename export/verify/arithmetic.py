"""The sums inside the events and the order rows, each difference named with its numbers.

- a retail sale's and a return's `amount` is the sum of quantity x unit price of its
  lines (a return refunds at the sale's prices, which its lines carry);
- a purchase's lines are priced and positive, and every row of orders.csv states an
  amount that is its quantity x unit price (signed: a return, a buy-back negative);
- a StatementIssued's `total_fen` is the sum of its lines;
- what the clawbacks of a sale take from an agent never exceeds what that agent's lines
  paid for that sale (a clawback reverses a line, never more).

Clawbacks are rare and come after the line they claw, so the first pass notes which
(agent, sale) they touch and a second reads only those lines: memory holds the
clawbacks, not every line of every statement.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from typing import IO, Any

from domain.events import Codec
from domain.ports import RecordedEvent
from export import format as f

Opener = Callable[[], IO[bytes]]
_decode = Codec().mapper.transcoder.decode
SUMMED = ("RetailSaleRecorded", "SaleReturned")
MAX_FAULTS = 50


def _events(*openers: tuple[str, Opener]) -> Iterator[tuple[str, RecordedEvent]]:
    for name, opener in openers:
        with opener() as raw:
            for line in raw:
                try:
                    yield name, f.event_from_line(line)
                except (ValueError, KeyError, TypeError):
                    continue  # the chain check names the line


def _place(file: str, e: RecordedEvent) -> str:
    return f"{file} position {e.position} ({e.name} {e.stream}@{e.version})"


def _lines_sum(lines: list[dict[str, Any]]) -> int:
    return sum(int(x["qty"]) * int(x["unit_price"]) for x in lines)


def check_events(*openers: tuple[str, Opener]) -> tuple[int, list[str]]:
    """(events whose sums were checked, faults) over the named event files."""
    faults: list[str] = []
    clawed: dict[tuple[str, str], list[tuple[str, int]]] = {}  # -> (where, fen clawed)
    checked = 0
    for file, e in _events(*openers):
        if e.name not in (*SUMMED, "StockPurchased", "StatementIssued"):
            continue
        d = _decode(e.payload)
        checked += 1
        where = _place(file, e)
        try:
            if e.name in SUMMED:
                total = _lines_sum(d["lines"])
                if total != d["amount"]:
                    faults.append(f"{where}: amount {f.cny(d['amount'])}, its lines' qty x "
                                  f"unit price sum to {f.cny(total)}")
            elif e.name == "StockPurchased":
                for x in d["lines"]:
                    if int(x["qty"]) <= 0 or int(x["unit_price"]) < 0:
                        faults.append(f"{where}: line {x['sku']} of {x['qty']} at "
                                      f"{f.cny(int(x['unit_price']))}")
            else:
                total = sum(int(x["amount_fen"]) for x in d["lines"])
                if total != d["total_fen"]:
                    faults.append(f"{where}: total {f.cny(d['total_fen'])} of {d['agent']} "
                                  f"for {d['period']}, its lines sum to {f.cny(total)}")
                for n, x in enumerate(d["lines"], start=1):
                    if x["kind"] == "clawback":
                        clawed.setdefault((d["agent"], x["sale"]), []).append(
                            (f"{where} line {n}", -int(x["amount_fen"])))
        except (KeyError, TypeError, ValueError) as error:
            faults.append(f"{where}: its lines cannot be summed ({error!r})")
    if clawed:
        faults += _clawbacks(clawed, openers)
    return checked, faults[:MAX_FAULTS]


def _clawbacks(clawed: dict[tuple[str, str], list[tuple[str, int]]],
               openers: tuple[tuple[str, Opener], ...]) -> list[str]:
    paid: dict[tuple[str, str], int] = dict.fromkeys(clawed, 0)
    for _file, e in _events(*openers):
        if e.name != "StatementIssued":
            continue
        d = _decode(e.payload)
        for x in d["lines"]:
            key = (d["agent"], x["sale"])
            if key in paid and x["kind"] != "clawback":
                paid[key] += int(x["amount_fen"])
    faults = []
    for (agent, sale), claws in clawed.items():
        taken = 0
        for where, fen in claws:
            taken += fen
            if fen < 0 or taken > paid[(agent, sale)]:
                faults.append(f"{where}: clawback of {f.cny(fen)} from {agent} for sale {sale} "
                              f"({f.cny(taken)} clawed in all), its lines paid "
                              f"{f.cny(paid[(agent, sale)])}")
    return faults


def check_orders(raw: IO[bytes]) -> tuple[int, list[str]]:
    """(rows, faults): each priced row of orders.csv states qty x unit price."""
    faults: list[str] = []
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    rows = csv.reader(text)
    header = next(rows, [])
    qty, price, amount = (header.index(c) for c in ("数量 qty", "单价(元) unit_price_cny",
                                                    "金额(元) amount_cny"))
    count = 0
    for n, row in enumerate(rows, start=2):
        count += 1
        if not row[price]:
            continue  # a purchase's line as the buyer recorded it: priced by the tier
        want = int(row[qty]) * f.fen(row[price])
        if f.fen(row[amount]) != want:
            faults.append(f"{f.ORDERS} line {n}: amount {row[amount]}, {row[qty]} x "
                          f"{row[price]} is {f.cny(want)}")
    return count, faults[:MAX_FAULTS]
