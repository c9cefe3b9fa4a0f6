"""The Dispute aggregate (申诉): an agent's challenge of a number, in "dispute-<id>".

Opened (by or for an agent, about a sale, a statement or a period), answered by HQ
(the 48-hour clock of dispute-overdue stops), resolved with an outcome and, when money
is owed either way, an adjustment in fen that settlement puts on the agent's next
statement.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from eventsourcing.domain import Aggregate

from domain.periods import parse_period

OPENED, ANSWERED, RESOLVED = "opened", "answered", "resolved"
SUBJECT_KINDS = ("sale", "statement", "period")
OUTCOMES = ("upheld", "partly-upheld", "rejected", "withdrawn")


def dispute_stream(dispute: str) -> str:
    return f"dispute-{dispute}"


def parse_subject(subject: str) -> tuple[str, str]:
    """'sale:S1', 'statement:2026-03' (the agent's statement of that period) or
    'period:2026-03' -> (kind, reference). ValueError when malformed."""
    kind, sep, ref = subject.partition(":")
    if not sep or kind not in SUBJECT_KINDS or not ref.strip():
        raise ValueError(
            f"subject {subject!r} must be sale:<id>, statement:<YYYY-MM> or period:<YYYY-MM>"
        )
    if kind != "sale":
        parse_period(ref)
    return kind, ref


class Dispute(Aggregate):
    TOPIC = "Dispute"

    class Event(Aggregate.Event):
        pass

    class Opened(Event, Aggregate.Created):
        TOPIC = "DisputeOpened"
        dispute: str
        agent: str
        subject: str  # see parse_subject
        text: str

        def apply(self, dispute: Dispute) -> None:
            dispute.dispute = self.dispute
            dispute.agent = self.agent
            dispute.subject = self.subject
            dispute.status = OPENED

    class Answered(Event):
        TOPIC = "DisputeAnswered"
        dispute: str
        agent: str
        text: str

        def apply(self, dispute: Dispute) -> None:
            dispute.status = ANSWERED

    class Resolved(Event):
        TOPIC = "DisputeResolved"
        dispute: str
        agent: str
        outcome: str  # one of OUTCOMES
        adjustment_fen: int  # owed to the agent (+) or by it (-); 0: none
        text: str

        def apply(self, dispute: Dispute) -> None:
            dispute.status = RESOLVED

    Created = Opened  # the library looks for 'Created'; one class, one topic

    if TYPE_CHECKING:
        dispute: str
        agent: str
        subject: str
        status: str
