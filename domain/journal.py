"""The command journal's language: one JSON object, one validated command.

Format in ../shared/DOMAIN.md. Each line is judged on its own: accepted, refused with a
rule code, or malformed (bad JSON, unknown command, missing, ill-typed or empty field),
in which case nothing of it is recorded. parse_command is the one place a command's
shape is checked, for the API as for a journal, within the limits of domain.bounds
(strict JSON types, clean bounded text, bounded money, quantities and years); the
commands' constructors keep only the invariants the rest of the domain relies on (aware
times, lines one per SKU of positive quantities, a rejected dispute without adjustment).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from domain import bounds
from domain.agents import commands as agent_cmds
from domain.compliance import commands as compliance_cmds
from domain.compliance.disputes import OUTCOMES, parse_subject
from domain.money import format_cny, parse_cny
from domain.orders import commands as order_cmds
from domain.periods import parse_period
from domain.policy.model import DEFAULT_POLICY, from_document
from domain.policy.service import IssuePolicy
from domain.settlement.service import ClosePeriod


class Malformed(ValueError):
    """A command of the wrong shape; `numbers` are the limit and the value that broke it."""

    def __init__(self, detail: str, **numbers: str | int | None) -> None:
        super().__init__(detail)
        self.numbers = numbers


# parsing: one function per shape, each naming the field that is wrong


def parse_line(line: str) -> object:
    try:
        doc = json.loads(line, parse_float=_no_float)
    except ValueError as e:
        raise Malformed(f"not JSON: {e}") from None
    except RecursionError:
        raise Malformed(f"nested deeper than {bounds.MAX_DEPTH}") from None
    if not isinstance(doc, dict):
        raise Malformed("not a JSON object")
    return parse_command(doc)


def parse_command(doc: dict[str, Any], *, plain: bool = False) -> object:
    """The command a journal line's object stands for. The API builds that object itself
    rather than text to load, so a float in it (a policy document is the client's own
    JSON) is refused here as json.loads refuses one in a line, and every string of it,
    keys included, is held to the limits of domain.bounds. `plain`: `doc` was loaded,
    without a float, from a text that plain_text() passed, so none of its values can
    break those limits and they are not looked at one by one."""
    if not plain:
        _check_values(doc, 0)
    cmd = doc.get("cmd")
    parser = _PARSERS.get(cmd) if isinstance(cmd, str) else None
    if parser is None:
        raise Malformed(f"unknown cmd {cmd!r}")
    fields = _Fields(doc)
    try:
        command = parser(fields)
        fields.done()
    except Malformed:
        raise
    except (ValueError, TypeError, KeyError) as e:
        raise Malformed(f"{cmd}: {e}") from None
    return command


def _no_float(text: str) -> Any:
    raise ValueError(f"number {text} has a fraction: amounts are decimal strings")


def plain_text(text: str) -> bool:
    """True when no value of the JSON object in `text` can break a limit of _check_values:
    no escape (every string is then as it stands in the text), no character no text may
    hold, no longer than any text may be, fewer brackets than the nesting allowed."""
    return (len(text) <= bounds.MAX_TEXT and "\\" not in text
            and bounds.bad_character(text) is None
            and text.count("{") + text.count("[") <= bounds.MAX_DEPTH)


def _check_values(value: Any, depth: int) -> None:
    """No float, no text that is dirty or too long, no nesting too deep, anywhere."""
    if isinstance(value, str):
        _check_text(value, bounds.MAX_TEXT)
    elif isinstance(value, float):
        raise Malformed(f"number {value!r} has a fraction: amounts are decimal strings")
    elif isinstance(value, dict | list):
        if depth >= bounds.MAX_DEPTH:
            raise Malformed(f"nested deeper than {bounds.MAX_DEPTH}", limit=bounds.MAX_DEPTH)
        for key in value if isinstance(value, dict) else ():
            _check_values(key, depth + 1)
        for item in value.values() if isinstance(value, dict) else value:
            _check_values(item, depth + 1)


def _check_text(text: str, limit: int, what: str = "text") -> None:
    bad = bounds.bad_character(text)
    if bad is not None:
        raise Malformed(f"{what} holds the control character {bad}", character=bad)
    if len(text) > limit:
        raise Malformed(f"{what} is longer than {limit} characters", limit=limit,
                        length=len(text))


def _time(what: str, text: Any) -> datetime:
    """An ISO 8601 time with its offset, in the years the ledger keeps."""
    if not isinstance(text, str):
        raise Malformed(f"{what}: missing (business time with its offset)")
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise Malformed(f"{what}: {text!r} is not an ISO 8601 time") from None
    if at.tzinfo is None:
        raise Malformed(f"{what}: {text!r} carries no UTC offset")
    first, last = bounds.YEARS
    if not first <= at.year <= last:
        raise Malformed(f"{what}: {text!r} is not in the years {first} to {last}",
                        year=at.year, first=first, last=last)
    return at


class _Fields:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.used = {"cmd"}
        self.at = self._at()

    def _at(self) -> datetime:
        self.used.add("at")
        return _time("at", self.doc.get("at"))

    def get(
        self, key: str, kind: type | tuple[type, ...], default: Any = ..., *, nullable: bool = False
    ) -> Any:
        self.used.add(key)
        if key not in self.doc:
            if default is ...:
                raise Malformed(f"{self.doc['cmd']}: {key} is missing")
            return default
        value = self.doc[key]
        if value is None and nullable:
            return None
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            raise Malformed(f"{self.doc['cmd']}: {key} has the wrong type")
        return value

    def text(self, key: str, *, nullable: bool = False, spaces: bool = False) -> Any:
        """A string that holds something: a tier, a name, a reason given (only spaces
        count as nothing too, unless `spaces`)."""
        value = self.get(key, str, nullable=nullable)
        if value is not None and not (value if spaces else value.strip()):
            raise Malformed(f"{self.doc['cmd']}: {key} must be a non-empty string")
        return value

    def id(self, key: str, default: Any = ..., *, nullable: bool = False,
           spaces: bool = False) -> Any:
        """One of the brand's identifiers (agent, sale, sku, …): text of at most MAX_ID."""
        if default is not ... and key not in self.doc:
            self.used.add(key)
            return default
        value = self.text(key, nullable=nullable, spaces=spaces)
        if value is not None:
            _check_text(value, bounds.MAX_ID, f"{self.doc['cmd']}: {key}")
        return value

    def money(self, key: str, default: int | None = None,
              limit: int = bounds.MAX_MONEY_FEN) -> int | None:
        value = self.get(key, str, None, nullable=True)
        return default if value is None else _bounded(f"{self.doc['cmd']}: {key}",
                                                      parse_cny(value), limit)

    def lines(self, priced: bool | None) -> tuple[order_cmds.OrderLine, ...]:
        cmd = self.doc["cmd"]
        rows = self.get("lines", list)
        if len(rows) > bounds.MAX_LINES:
            raise Malformed(f"{cmd}: more than {bounds.MAX_LINES} lines",
                            limit=bounds.MAX_LINES, lines=len(rows))
        found = []
        for i, row in enumerate(rows, start=1):
            if not isinstance(row, dict) or set(row) - {"sku", "qty", "unit_price"}:
                raise Malformed(f"{cmd}: line {i} must hold sku, qty, unit_price")
            if priced is False and "unit_price" in row:
                raise Malformed(f"{cmd}: line {i}: no unit_price here")
            price = row.get("unit_price")
            sku: Any = row.get("sku")
            qty: Any = row.get("qty")
            if not isinstance(sku, str) or not sku:
                raise ValueError("sku must be a non-empty string")
            _check_text(sku, bounds.MAX_ID, f"{cmd}: line {i}: sku")
            if not isinstance(qty, int) or isinstance(qty, bool):
                raise ValueError(f"qty of {sku} must be a positive integer")
            _bounded_qty(cmd, sku, qty)
            fen = None if price is None else _bounded(
                f"{cmd}: unit_price of {sku}", parse_cny(price), bounds.MAX_UNIT_PRICE_FEN)
            found.append(order_cmds.OrderLine(sku, qty, fen))
        _bounded_total(cmd, found)
        return tuple(found)

    def done(self) -> None:
        extra = set(self.doc) - self.used
        if extra:
            raise Malformed(f"{self.doc['cmd']}: unknown field(s) {', '.join(sorted(extra))}")


def _bounded(what: str, fen: int, limit: int) -> int:
    if abs(fen) > limit:
        raise Malformed(f"{what}: {format_cny(fen)} is beyond {format_cny(limit)}",
                        amount=format_cny(fen), limit=format_cny(limit))
    return fen


def _bounded_qty(cmd: str, sku: str, qty: int) -> None:
    if not 1 <= qty <= bounds.MAX_QTY:
        raise Malformed(f"{cmd}: qty of {sku} must be from 1 to {bounds.MAX_QTY}",
                        sku=sku, qty=qty, limit=bounds.MAX_QTY)


def _bounded_total(cmd: str, lines: list[order_cmds.OrderLine]) -> None:
    """At most MAX_QTY units in one command, and a priced one within MAX_AMOUNT_FEN."""
    units = sum(line.qty for line in lines)
    if units > bounds.MAX_QTY:
        raise Malformed(f"{cmd}: {units} units in one command, more than {bounds.MAX_QTY}",
                        qty=units, limit=bounds.MAX_QTY)
    amount = sum(line.qty * (line.unit_price or 0) for line in lines)
    _bounded(f"{cmd}: amount", amount, bounds.MAX_AMOUNT_FEN)


def _join(f: _Fields) -> agent_cmds.Join:
    return agent_cmds.Join(
        f.at,
        f.id("agent"),
        f.id("sponsor", nullable=True),
        f.id("tier"),
        f.text("name"),
        f.text("id_number"),
        f.text("phone"),
        fee=f.money("fee", 0) or 0,
        required_purchase=f.get("required_purchase", bool, False),
    )


def _policy(f: _Fields) -> IssuePolicy:
    version = f.get("version", int, None, nullable=True)
    if version is not None and not 1 <= version <= 2**31 - 1:
        raise Malformed(f"policy: version {version} is not from 1 to {2**31 - 1}",
                        version=version)
    effective = f.get("effective_from", str, None, nullable=True)
    f.used.update(f.doc)  # the rest is the policy document, checked by the policy model
    document = {
        k: v for k, v in f.doc.items() if k not in {"at", "cmd", "version", "effective_from"}
    }
    start = None if effective is None else _time("policy: effective_from", effective)
    # The document's shape is checked here, as every command's is (a journal line of the
    # wrong shape is malformed, not a crash of the import); the service judges its hard
    # limits, with the version in force.
    from_document(document, version or 2, start or f.at, DEFAULT_POLICY)
    return IssuePolicy(f.at, document, version, start)


def _period(f: _Fields) -> ClosePeriod:
    period = f.get("period", str)
    parse_period(period)
    return ClosePeriod(f.at, period)


def _open_dispute(f: _Fields) -> compliance_cmds.OpenDispute:
    # subject: "sale:<id>", "statement:<YYYY-MM>" or "period:<YYYY-MM>"
    dispute, agent, subject = f.id("dispute"), f.id("agent"), f.text("subject")
    text = f.text("text")
    parse_subject(subject)
    return compliance_cmds.OpenDispute(f.at, dispute, agent, subject, text)


def _resolve_dispute(f: _Fields) -> compliance_cmds.ResolveDispute:
    # adjustment: CNY owed to the agent ("12.50") or by it ("-12.50"), on its next statement
    dispute, outcome = f.id("dispute"), f.get("outcome", str)
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}")
    return compliance_cmds.ResolveDispute(
        f.at, dispute, outcome, f.money("adjustment", 0) or 0, f.get("text", str, "")
    )


def _product(f: _Fields) -> order_cmds.ListProduct:
    sku, name = f.get("sku", str), f.get("name", str)
    if not sku or not name:
        raise ValueError("sku and name must be non-empty")
    _check_text(sku, bounds.MAX_ID, "product: sku")
    price = _bounded("product: retail_price", parse_cny(f.get("retail_price", str)),
                     bounds.MAX_UNIT_PRICE_FEN)
    return order_cmds.ListProduct(f.at, sku, name, price)


def _status(cls: type[agent_cmds.AgentCommand]) -> Callable[[_Fields], object]:
    return lambda f: cls(f.at, f.id("agent"), reason=f.get("reason", str, ""))  # type: ignore[call-arg]


_PARSERS: dict[str, Callable[[_Fields], object]] = {
    "policy": _policy,
    "product": _product,
    "join": _join,
    "promote": lambda f: agent_cmds.Promote(f.at, f.id("agent"), f.get("tier", str)),
    "demote": lambda f: agent_cmds.Demote(
        f.at, f.id("agent"), f.get("tier", str), f.get("reason", str, "")
    ),
    "warn": _status(agent_cmds.Warn),
    "suspend": _status(agent_cmds.Suspend),
    "reinstate": _status(agent_cmds.Reinstate),
    "terminate": _status(agent_cmds.Terminate),
    "forget": lambda f: agent_cmds.Forget(f.at, f.id("agent")),
    "purchase": lambda f: order_cmds.Purchase(
        f.at, f.id("buyer", spaces=True), f.id("seller", nullable=True, spaces=True),
        f.lines(None)
    ),
    "sale": lambda f: order_cmds.RecordSale(
        f.at,
        f.id("sale", spaces=True),
        f.id("seller", spaces=True),
        f.id("customer", None, nullable=True, spaces=True),
        f.lines(True),
    ),
    "return": lambda f: order_cmds.ReturnSale(
        f.at,
        f.id("sale", spaces=True),
        f.lines(False),
        f.get("reason", str, None, nullable=True),
        f.get("hq_approved", bool, False),
    ),
    "buyback": lambda f: order_cmds.Buyback(
        f.at, f.id("agent", spaces=True), f.lines(None), f.get("resalable", bool, True)
    ),
    "close_period": _period,
    "open_dispute": _open_dispute,
    "answer_dispute": lambda f: compliance_cmds.AnswerDispute(
        f.at, f.id("dispute"), f.text("text")
    ),
    "resolve_dispute": _resolve_dispute,
    "tick": lambda f: compliance_cmds.Tick(f.at),
    "acknowledge_alert": lambda f: compliance_cmds.AcknowledgeAlert(
        f.at, f.text("alert"), f.get("note", str, "")
    ),
    "resolve_alert": lambda f: compliance_cmds.ResolveAlert(
        f.at, f.text("alert"), f.text("reason")
    ),
}
