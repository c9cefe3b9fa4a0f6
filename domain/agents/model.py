"""The Agent aggregate: one node of the tree, in stream "agent-<id>".

Status: active -> suspended -> active (reinstate); active/suspended -> terminated.
`forgotten` is orthogonal: the person's data is erased, the node and its amounts stay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate

ACTIVE, SUSPENDED, TERMINATED = "active", "suspended", "terminated"


class Agent(Aggregate):
    TOPIC = "Agent"

    class Event(Aggregate.Event):
        pass

    class Joined(Event, Aggregate.Created):
        TOPIC = "AgentJoined"
        agent: str
        sponsor: str | None  # None: joined directly under HQ
        tier: str
        depth: int
        personal: str  # sealed PersonalData (see personal.py), never the clear text

        def apply(self, agent: Agent) -> None:
            agent.agent = self.agent
            agent.sponsor = self.sponsor
            agent.tier = self.tier
            agent.depth = self.depth
            agent.personal = self.personal
            agent.status = ACTIVE
            agent.forgotten = False
            agent.downline = []
            agent.joined_at = self.timestamp

    class DownlineJoined(Event):
        """A direct recruit joined under this agent (recorded with the recruit's join)."""

        TOPIC = "DownlineJoined"
        recruit: str
        tier: str

        def apply(self, agent: Agent) -> None:
            agent.downline.append(self.recruit)

    class Promoted(Event):
        TOPIC = "AgentPromoted"
        from_tier: str
        to_tier: str
        evidence: dict[str, Any]  # own and direct downline's net retail, by period

        def apply(self, agent: Agent) -> None:
            agent.tier = self.to_tier

    class Demoted(Event):
        TOPIC = "AgentDemoted"
        from_tier: str
        to_tier: str
        reason: str

        def apply(self, agent: Agent) -> None:
            agent.tier = self.to_tier

    class Warned(Event):
        TOPIC = "AgentWarned"
        reason: str

    class Suspended(Event):
        TOPIC = "AgentSuspended"
        reason: str

        def apply(self, agent: Agent) -> None:
            agent.status = SUSPENDED

    class Reinstated(Event):
        TOPIC = "AgentReinstated"
        reason: str

        def apply(self, agent: Agent) -> None:
            agent.status = ACTIVE

    class Terminated(Event):
        TOPIC = "AgentTerminated"
        reason: str

        def apply(self, agent: Agent) -> None:
            agent.status = TERMINATED

    class Forgotten(Event):
        """Personal data erased: its key was destroyed; amounts and the node stay."""

        TOPIC = "AgentForgotten"

        def apply(self, agent: Agent) -> None:
            agent.forgotten = True

    Created = Joined  # the library looks for 'Created'; one class, one topic

    if TYPE_CHECKING:  # set by the events; class annotations would become init args
        from datetime import datetime

        agent: str
        sponsor: str | None
        tier: str
        depth: int
        personal: str
        status: str
        forgotten: bool
        downline: list[str]
        joined_at: datetime

    @property
    def active(self) -> bool:
        return self.status == ACTIVE
