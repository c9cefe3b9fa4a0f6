"""Alerts (预警) and disputes (申诉) as read models.

Alerts: one row per breach, from AlertRaised (the watchers) and AlertAcknowledged /
AlertResolved (people, whose actor the row keeps); the rule's numbers and the events it
cites are kept whole, as jsonb, so the console shows why without recomputing anything.
Disputes: one row per dispute with its answer, resolution and adjustment, and the time
the 48-hour answer is due.

Events are applied one by one in position order: both kinds are rare next to sales, and
a later event of an alert (its resolution) must find the row its raise made.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import asyncpg

from domain.compliance.alerts import ACKNOWLEDGED, RAISED, RESOLVED
from domain.compliance.disputes import ANSWERED, OPENED
from domain.compliance.disputes import RESOLVED as DISPUTE_RESOLVED
from domain.compliance.rules import DISPUTE_ANSWER
from domain.events import Codec
from domain.ports import RecordedEvent
from projections.runner import Projection

_transcoder = Codec().mapper.transcoder


def _fields(e: RecordedEvent) -> dict[str, Any]:
    return dict(_transcoder.decode(e.payload))


def _actor(e: RecordedEvent) -> str | None:
    actor = e.metadata.get("actor")
    return None if actor is None else str(actor)


class AlertsProjection(Projection):
    name = "alerts"
    # 2: the overview's counts (open now, open at a period's end, raised in a period)
    # answered from the indexes alone: 80-95 ms a count on 151,000 alerts before
    version = 2
    reads = ("AlertRaised", "AlertAcknowledged", "AlertResolved")
    ddl = """
    CREATE TABLE {s}.alerts (
        tenant            text        NOT NULL,
        alert             text        NOT NULL,
        rule              text        NOT NULL,
        agent             text        NOT NULL,
        severity          text        NOT NULL,
        status            text        NOT NULL,
        numbers           jsonb       NOT NULL,
        cites             jsonb       NOT NULL,
        policy_version    int         NOT NULL,
        raised_at         timestamptz NOT NULL,
        position          bigint      NOT NULL,
        acknowledged_at   timestamptz,
        acknowledged_by   text,
        acknowledged_note text,
        resolved_at       timestamptz,
        resolved_by       text,
        resolved_reason   text,
        PRIMARY KEY (tenant, alert)
    );
    CREATE INDEX ON {s}.alerts (tenant, agent, raised_at);
    CREATE INDEX ON {s}.alerts (tenant, status, rule, severity);
    CREATE INDEX ON {s}.alerts (tenant, raised_at) INCLUDE (resolved_at, rule, severity, status);
    """

    async def apply(
        self, conn: asyncpg.Connection, s: str, tenant: str, events: Sequence[RecordedEvent]
    ) -> None:
        for e in events:
            d = _fields(e)
            alert = e.stream.removeprefix("alert-")
            if e.name == "AlertRaised":
                await conn.execute(
                    f"INSERT INTO {s}.alerts (tenant, alert, rule, agent, severity, status,"
                    " numbers, cites, policy_version, raised_at, position)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9, $10, $11)",
                    tenant, alert, d["rule"], d["agent"], d["severity"], RAISED,
                    json.dumps(d["numbers"], ensure_ascii=False), json.dumps(d["cites"]),
                    d["policy_version"], e.business_time, e.position,
                )  # fmt: skip
            elif e.name == "AlertAcknowledged":
                # A later acknowledgement (a second person's note) keeps the first one's time.
                await conn.execute(
                    f"UPDATE {s}.alerts SET status = $3,"
                    " acknowledged_at = coalesce(acknowledged_at, $4),"
                    " acknowledged_by = coalesce(acknowledged_by, $5),"
                    " acknowledged_note = coalesce(acknowledged_note, $6)"
                    " WHERE tenant = $1 AND alert = $2",
                    tenant, alert, ACKNOWLEDGED, e.business_time, d.get("by") or _actor(e),
                    d.get("note"),
                )  # fmt: skip
            else:
                await conn.execute(
                    f"UPDATE {s}.alerts SET status = $3, resolved_at = $4, resolved_by = $5,"
                    " resolved_reason = $6 WHERE tenant = $1 AND alert = $2",
                    tenant, alert, RESOLVED, e.business_time, d.get("by") or _actor(e),
                    d.get("reason"),
                )  # fmt: skip


class DisputesProjection(Projection):
    name = "disputes"
    version = 1
    reads = ("DisputeOpened", "DisputeAnswered", "DisputeResolved")
    ddl = """
    CREATE TABLE {s}.disputes (
        tenant         text        NOT NULL,
        dispute        text        NOT NULL,
        agent          text        NOT NULL,
        subject        text        NOT NULL,
        text           text        NOT NULL,
        status         text        NOT NULL,
        opened_at      timestamptz NOT NULL,
        opened_by      text,
        answer_due     timestamptz NOT NULL,
        answered_at    timestamptz,
        answered_by    text,
        answer         text,
        resolved_at    timestamptz,
        resolved_by    text,
        outcome        text,
        adjustment_fen bigint,
        resolution     text,
        position       bigint      NOT NULL,
        PRIMARY KEY (tenant, dispute)
    );
    CREATE INDEX ON {s}.disputes (tenant, agent, opened_at);
    CREATE INDEX ON {s}.disputes (tenant, status);
    """

    async def apply(
        self, conn: asyncpg.Connection, s: str, tenant: str, events: Sequence[RecordedEvent]
    ) -> None:
        for e in events:
            d = _fields(e)
            if e.name == "DisputeOpened":
                await conn.execute(
                    f"INSERT INTO {s}.disputes (tenant, dispute, agent, subject, text, status,"
                    " opened_at, opened_by, answer_due, position)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    tenant, d["dispute"], d["agent"], d["subject"], d["text"], OPENED,
                    e.business_time, _actor(e), e.business_time + DISPUTE_ANSWER, e.position,
                )  # fmt: skip
            elif e.name == "DisputeAnswered":
                # The first answer stops the 48-hour clock; later ones add to the thread.
                await conn.execute(
                    f"UPDATE {s}.disputes SET status = $3,"
                    " answered_at = coalesce(answered_at, $4),"
                    " answered_by = coalesce(answered_by, $5),"
                    " answer = coalesce(answer || E'\\n', '') || $6"
                    " WHERE tenant = $1 AND dispute = $2",
                    tenant, d["dispute"], ANSWERED, e.business_time, _actor(e), d["text"],
                )  # fmt: skip
            else:
                await conn.execute(
                    f"UPDATE {s}.disputes SET status = $3, resolved_at = $4, resolved_by = $5,"
                    " outcome = $6, adjustment_fen = $7, resolution = $8"
                    " WHERE tenant = $1 AND dispute = $2",
                    tenant, d["dispute"], DISPUTE_RESOLVED, e.business_time, _actor(e),
                    d["outcome"], d["adjustment_fen"], d["text"],
                )  # fmt: skip
