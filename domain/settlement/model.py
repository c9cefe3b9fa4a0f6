"""Settlement as events: a period closed, and the statements its close issued.

A period's close is one append: PeriodClosed in "period-<P>" and one StatementIssued per
agent in "statement-<agent>-<P>". Lines are stored whole (each citing its sale or
return event and policy version), so a statement can be explained without re-running
anything, and re-derived by anyone to check it was right.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate

from domain.settlement.facts import Line, Statement


def statement_stream(agent: str, period: str) -> str:
    return f"statement-{agent}-{period}"


def line_document(line: Line) -> dict[str, Any]:
    return {
        "kind": line.kind,
        "sale": line.sale_id,
        "sale_event": line.sale_source,
        "period": line.period,
        "base_fen": line.base_fen,
        "rate": str(line.rate),
        "amount_fen": line.amount_fen,
        "bracket": line.bracket,
        "return_event": line.return_source,
        "capped_fen": line.capped_fen,
        "policy_version": line.policy_version,
    }


def line_from_document(agent: str, doc: dict[str, Any]) -> Line:
    return Line(
        kind=doc["kind"],
        agent=agent,
        sale_id=doc["sale"],
        sale_source=doc["sale_event"],
        period=doc["period"],
        base_fen=doc["base_fen"],
        rate=Decimal(doc["rate"]),
        amount_fen=doc["amount_fen"],
        policy_version=doc["policy_version"],
        bracket=doc["bracket"],
        return_source=doc["return_event"],
        capped_fen=doc["capped_fen"],
    )


class SettlementPeriod(Aggregate):
    TOPIC = "SettlementPeriod"

    class Event(Aggregate.Event):
        pass

    class Closed(Event, Aggregate.Created):
        TOPIC = "PeriodClosed"
        period: str
        statements: int
        total_fen: int
        tax_flagged: list[str]  # agents whose payout this period is above the threshold

        def apply(self, period: SettlementPeriod) -> None:
            period.period = self.period

    Created = Closed  # the library looks for 'Created'; one class, one topic

    if TYPE_CHECKING:
        period: str


class IssuedStatement(Aggregate):
    TOPIC = "Statement"

    class Event(Aggregate.Event):
        pass

    class Issued(Event, Aggregate.Created):
        TOPIC = "StatementIssued"
        agent: str
        period: str
        lines: list[dict[str, Any]]
        total_fen: int
        tax_flag: bool
        policy_version: int

        def apply(self, statement: IssuedStatement) -> None:
            statement.agent = self.agent
            statement.period = self.period
            statement.total_fen = self.total_fen

    Created = Issued

    if TYPE_CHECKING:
        agent: str
        period: str
        total_fen: int


def statement_from_event(event: IssuedStatement.Issued) -> Statement:
    return Statement(
        agent=event.agent,
        period=event.period,
        lines=tuple(line_from_document(event.agent, d) for d in event.lines),
        tax_flag=event.tax_flag,
        policy_version=event.policy_version,
    )
