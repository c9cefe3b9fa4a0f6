"""Commands of compliance: time passes, disputes, and people handling alerts.

Shape is checked here (ValueError: malformed); rules are judged by the service.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.compliance.disputes import OUTCOMES, parse_subject
from domain.periods import require_aware


def _text(name: str, value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string")


@dataclass(frozen=True, slots=True)
class Tick:
    """Business time passes to `at` (the journal's `tick`)."""

    at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", require_aware(self.at))


@dataclass(frozen=True, slots=True)
class OpenDispute:
    at: datetime
    dispute: str
    agent: str
    subject: str
    text: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", require_aware(self.at))
        for name in ("dispute", "agent", "subject", "text"):
            _text(name, getattr(self, name))
        parse_subject(self.subject)


@dataclass(frozen=True, slots=True)
class AnswerDispute:
    at: datetime
    dispute: str
    text: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", require_aware(self.at))
        _text("dispute", self.dispute)
        _text("text", self.text)


@dataclass(frozen=True, slots=True)
class ResolveDispute:
    at: datetime
    dispute: str
    outcome: str
    adjustment_fen: int = 0  # + owed to the agent, - owed by it; on its next statement
    text: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", require_aware(self.at))
        _text("dispute", self.dispute)
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}")
        if not isinstance(self.adjustment_fen, int) or isinstance(self.adjustment_fen, bool):
            raise ValueError("adjustment must be an amount in fen")
        if self.adjustment_fen and self.outcome in ("rejected", "withdrawn"):
            raise ValueError(f"a {self.outcome} dispute carries no adjustment")


@dataclass(frozen=True, slots=True)
class AcknowledgeAlert:
    at: datetime
    alert: str  # the alert id (breach key)
    note: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", require_aware(self.at))
        _text("alert", self.alert)


@dataclass(frozen=True, slots=True)
class ResolveAlert:
    at: datetime
    alert: str
    reason: str  # why: a resolution without one explains nothing to an auditor

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", require_aware(self.at))
        _text("alert", self.alert)
        _text("reason", self.reason)
