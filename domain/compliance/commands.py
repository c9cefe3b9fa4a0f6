"""Commands of compliance: time passes, disputes, and people handling alerts.

Their shape is checked where they are parsed (domain.journal); rules are judged by the
service.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.periods import require_aware


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


@dataclass(frozen=True, slots=True)
class AnswerDispute:
    at: datetime
    dispute: str
    text: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", require_aware(self.at))


@dataclass(frozen=True, slots=True)
class ResolveDispute:
    at: datetime
    dispute: str
    outcome: str
    adjustment_fen: int = 0  # + owed to the agent, - owed by it; on its next statement
    text: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", require_aware(self.at))
        # The statement would pay what the outcome says was not owed.
        if self.adjustment_fen and self.outcome in ("rejected", "withdrawn"):
            raise ValueError(f"a {self.outcome} dispute carries no adjustment")


@dataclass(frozen=True, slots=True)
class AcknowledgeAlert:
    at: datetime
    alert: str  # the alert id (breach key)
    note: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", require_aware(self.at))


@dataclass(frozen=True, slots=True)
class ResolveAlert:
    at: datetime
    alert: str
    reason: str  # why: a resolution without one explains nothing to an auditor

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", require_aware(self.at))
