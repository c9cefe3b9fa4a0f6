"""Commands about agents. Their shape is checked where they are parsed (domain.journal),
their rules in rules.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.periods import require_aware


@dataclass(frozen=True, slots=True)
class AgentCommand:
    at: datetime
    agent: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", require_aware(self.at))


@dataclass(frozen=True, slots=True)
class Join(AgentCommand):
    sponsor: str | None
    tier: str
    name: str
    id_number: str
    phone: str
    fee: int = 0  # fen; any fee is refused (join-fee)
    required_purchase: bool = False  # refused too: no purchase may be a condition of joining


@dataclass(frozen=True, slots=True)
class Promote(AgentCommand):
    tier: str


@dataclass(frozen=True, slots=True)
class Demote(AgentCommand):
    tier: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Warn(AgentCommand):
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Suspend(AgentCommand):
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Reinstate(AgentCommand):
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Terminate(AgentCommand):
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Forget(AgentCommand):
    pass
