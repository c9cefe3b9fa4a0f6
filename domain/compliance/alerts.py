"""The Alert aggregate: one breach of one rule, in stream "alert-<id>".

The id is the breach key the watchers derive from the log ("push-down:A2:2026-03",
"days-of-cover:A1:1"), so a breach has exactly one stream and version 1 of it can be
written only once: raising the same breach twice is a version conflict, not a second
alert. People then acknowledge it (seen, being looked at) and resolve it (with why).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate

RAISED, ACKNOWLEDGED, RESOLVED = "raised", "acknowledged", "resolved"
STREAM_PREFIX = "alert-"


def alert_stream(alert: str) -> str:
    return f"{STREAM_PREFIX}{alert}"


def breach_key(rule: str, agent: str, *parts: str | int) -> str:
    """The stable id of one breach: rule, agent, then what tells breaches apart."""
    return ":".join([rule, agent, *map(str, parts)])


class Alert(Aggregate):
    TOPIC = "Alert"

    class Event(Aggregate.Event):
        pass

    class Raised(Event, Aggregate.Created):
        TOPIC = "AlertRaised"
        alert: str  # the breach key
        rule: str
        agent: str
        severity: str  # "warning" or "critical"
        numbers: dict[str, Any]  # what raised it (money as CNY strings)
        cites: list[dict[str, Any]]  # {"position", "stream", "name"} of the events cited
        policy_version: int  # the version whose thresholds judged it

        def apply(self, alert: Alert) -> None:
            alert.alert = self.alert
            alert.rule = self.rule
            alert.agent = self.agent
            alert.severity = self.severity
            alert.status = RAISED

    class Acknowledged(Event):
        TOPIC = "AlertAcknowledged"
        by: str
        note: str

        def apply(self, alert: Alert) -> None:
            alert.status = ACKNOWLEDGED

    class Resolved(Event):
        TOPIC = "AlertResolved"
        by: str
        reason: str

        def apply(self, alert: Alert) -> None:
            alert.status = RESOLVED

    Created = Raised  # the library looks for 'Created'; one class, one topic

    if TYPE_CHECKING:  # set by the events; class annotations would become init args
        alert: str
        rule: str
        agent: str
        severity: str
        status: str

    @property
    def open(self) -> bool:
        return self.status != RESOLVED
