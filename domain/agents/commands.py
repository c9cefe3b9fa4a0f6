"""Commands about agents. Shape is checked here (ValueError: malformed); rules elsewhere."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.periods import require_aware


def _text(name: str, value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string")


@dataclass(frozen=True, slots=True)
class AgentCommand:
    at: datetime
    agent: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", require_aware(self.at))
        _text("agent", self.agent)


@dataclass(frozen=True, slots=True)
class Join(AgentCommand):
    sponsor: str | None
    tier: str
    name: str
    id_number: str
    phone: str
    fee: int = 0  # fen; any fee is refused (join-fee)
    required_purchase: bool = False  # refused too: no purchase may be a condition of joining

    def __post_init__(self) -> None:
        AgentCommand.__post_init__(self)
        if self.sponsor is not None:
            _text("sponsor", self.sponsor)
        for name in ("tier", "name", "id_number", "phone"):
            _text(name, getattr(self, name))


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
