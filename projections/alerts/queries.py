"""Reads of the alerts (rm_alerts) and disputes (rm_disputes) read models."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventstore.database import Conn, Reader, Row


async def alerts(db: Reader, tenant: str, *, agent: str | None, status: str | None,
                 rule: str | None, after: int, limit: int) -> list[Row]:
    """Alerts in the order they were raised, after log position `after`, filtered."""
    return await db.fetch(
        "SELECT * FROM rm_alerts.alerts WHERE tenant = $1 AND position > $2"
        " AND ($3::text IS NULL OR agent = $3) AND ($4::text IS NULL OR status = $4)"
        " AND ($5::text IS NULL OR rule = $5) ORDER BY position LIMIT $6",
        tenant, after, agent, status, rule, limit,
    )


async def alert(db: Reader, tenant: str, alert_id: str) -> Row | None:
    return await db.fetchrow(
        "SELECT * FROM rm_alerts.alerts WHERE tenant = $1 AND alert = $2", tenant, alert_id
    )


@dataclass(frozen=True, slots=True)
class About:
    """What an alert or a dispute must be about to be listed with a range of the log:
    raised (opened) by one of its events, or dated in it (an alert about May may be
    raised in June)."""

    first: int
    last: int
    start: datetime | None  # None: from the beginning
    end: datetime | None  # exclusive; None: to the end

    def where(self, moment: str) -> tuple[str, tuple[Any, ...]]:
        return ("tenant = $1 AND (position BETWEEN $2 AND $3 OR"
                f" ({moment} >= coalesce($4::timestamptz, '-infinity')"
                f" AND {moment} < coalesce($5::timestamptz, 'infinity')))",
                (self.first, self.last, self.start, self.end))


async def alerts_about(conn: Conn, tenant: str, about: About, *,
                       prefetch: int) -> AsyncIterator[Row]:
    """Alerts about `about`, from a server-side cursor (`conn` inside a transaction):
    the export streams them."""
    where, args = about.where("raised_at")
    cursor = conn.cursor(f"SELECT * FROM rm_alerts.alerts WHERE {where} ORDER BY position, alert",
                         tenant, *args, prefetch=prefetch)
    async for row in cursor:
        yield row


async def number_names(db: Reader, tenant: str, about: About) -> list[str]:
    """The names of the numbers the alerts about `about` carry, bytewise."""
    where, args = about.where("raised_at")
    rows = await db.fetch(
        "SELECT k FROM (SELECT DISTINCT jsonb_object_keys(numbers) AS k FROM rm_alerts.alerts"
        f' WHERE {where}) keys ORDER BY k COLLATE "C"', tenant, *args)
    return [r["k"] for r in rows]


async def disputes_about(conn: Conn, tenant: str, about: About, *,
                         prefetch: int) -> AsyncIterator[Row]:
    where, args = about.where("opened_at")
    cursor = conn.cursor(f"SELECT * FROM rm_disputes.disputes WHERE {where}"
                         " ORDER BY position, dispute", tenant, *args, prefetch=prefetch)
    async for row in cursor:
        yield row


async def disputes(db: Reader, tenant: str, *, agent: str | None, status: str | None,
                   after: int, limit: int) -> list[Row]:
    """Disputes in the order they were opened, after log position `after`, filtered."""
    return await db.fetch(
        "SELECT * FROM rm_disputes.disputes WHERE tenant = $1 AND position > $2"
        " AND ($3::text IS NULL OR agent = $3) AND ($4::text IS NULL OR status = $4)"
        " ORDER BY position LIMIT $5",
        tenant, after, agent, status, limit,
    )


async def dispute(db: Reader, tenant: str, dispute_id: str,
                  agent: str | None = None) -> Row | None:
    """One dispute; with `agent`, only if that agent opened it."""
    return await db.fetchrow(
        "SELECT * FROM rm_disputes.disputes WHERE tenant = $1 AND dispute = $2"
        " AND ($3::text IS NULL OR agent = $3)",
        tenant, dispute_id, agent,
    )


async def list_alerts(db: Reader, tenant: str, *,
                      schema: str = "rm_alerts") -> list[dict[str, Any]]:
    """Every alert of a tenant, oldest first, its jsonb decoded (for tests and tools;
    `schema` reads a rebuild's fresh tables)."""
    rows = await db.fetch(
        f"SELECT * FROM {schema}.alerts WHERE tenant = $1 ORDER BY position", tenant
    )
    return [
        {**dict(r), "numbers": json.loads(r["numbers"]), "cites": json.loads(r["cites"])}
        for r in rows
    ]


async def list_disputes(db: Reader, tenant: str, *,
                        schema: str = "rm_disputes") -> list[dict[str, Any]]:
    rows = await db.fetch(
        f"SELECT * FROM {schema}.disputes WHERE tenant = $1 ORDER BY position", tenant
    )
    return [dict(r) for r in rows]


# An alert's and a dispute's status as it stood at $2 (a business time; NULL: now),
# from the times the read model keeps of each step.
_ALERT_THEN = ("CASE WHEN $2::timestamptz IS NULL THEN status"
               " WHEN resolved_at <= $2 THEN 'resolved'"
               " WHEN acknowledged_at <= $2 THEN 'acknowledged' ELSE 'raised' END")
_DISPUTE_THEN = ("CASE WHEN $2::timestamptz IS NULL THEN status"
                 " WHEN resolved_at <= $2 THEN 'resolved'"
                 " WHEN answered_at <= $2 THEN 'answered' ELSE 'opened' END")


def open_then(alias: str, at_param: str) -> str:
    """SQL: alert `alias` raised and not yet resolved at `at_param` (a timestamptz
    parameter, its steps at that very instant included; NULL: now, by its status)."""
    return (f"({at_param}::timestamptz IS NULL AND {alias}.status <> 'resolved'"
            f" OR {alias}.raised_at <= {at_param}::timestamptz AND ({alias}.resolved_at IS NULL"
            f" OR {alias}.resolved_at > {at_param}::timestamptz))")


async def open_alert_counts(db: Reader, tenant: str, *, at: datetime | None = None
                            ) -> list[Row]:
    """(rule, severity, open) of the alerts open at `at` (None: now), by rule and
    severity."""
    return await db.fetch(
        "SELECT rule, severity, count(*) AS open FROM rm_alerts.alerts a"
        f" WHERE tenant = $1 AND {open_then('a', '$2')} GROUP BY rule, severity"
        " ORDER BY rule, severity",
        tenant, at,
    )


async def raised_by_rule(db: Reader, tenant: str, start: datetime, end: datetime
                         ) -> dict[str, int]:
    """How many alerts of each rule were raised at business times in [start, end)."""
    rows = await db.fetch(
        "SELECT rule, count(*) AS n FROM rm_alerts.alerts WHERE tenant = $1"
        " AND raised_at >= $2 AND raised_at < $3 GROUP BY rule ORDER BY rule",
        tenant, start, end,
    )
    return {r["rule"]: r["n"] for r in rows}


async def alerts_of(db: Reader, tenant: str, agent: str, *, at: datetime | None,
                    limit: int) -> list[Row]:
    """The agent's alerts raised by `at` (None: now), newest first, each with its
    status as it stood then (`status_then`)."""
    return await db.fetch(
        f"SELECT *, {_ALERT_THEN} AS status_then FROM rm_alerts.alerts"
        " WHERE tenant = $1 AND agent = $3 AND ($2::timestamptz IS NULL OR raised_at <= $2)"
        " ORDER BY raised_at DESC, position DESC LIMIT $4",
        tenant, at, agent, limit,
    )


async def disputes_of(db: Reader, tenant: str, agent: str, *, at: datetime | None,
                      limit: int) -> list[Row]:
    """The agent's disputes opened by `at` (None: now), newest first, with `status_then`."""
    return await db.fetch(
        f"SELECT *, {_DISPUTE_THEN} AS status_then FROM rm_disputes.disputes"
        " WHERE tenant = $1 AND agent = $3 AND ($2::timestamptz IS NULL OR opened_at <= $2)"
        " ORDER BY opened_at DESC, position DESC LIMIT $4",
        tenant, at, agent, limit,
    )
