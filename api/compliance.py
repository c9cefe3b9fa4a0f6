"""Reads of the alerts and disputes read models, shared by HQ's routes and /v1/me."""

from __future__ import annotations

import json
from typing import Any

from api.deps import Services
from api.errors import ApiError
from api.schemas.common import cny, shown_or_none
from api.schemas.compliance import AlertPublic, DisputePublic
from domain.errors import Rule
from domain.periods import shown
from projections.alerts import queries


def _alert(r: Any) -> AlertPublic:
    return AlertPublic(
        alert=r["alert"], rule=r["rule"], agent=r["agent"], severity=r["severity"],
        status=r["status"], numbers=json.loads(r["numbers"]), cites=json.loads(r["cites"]),
        policy_version=r["policy_version"], raised_at=shown(r["raised_at"]),
        position=r["position"], acknowledged_at=shown_or_none(r["acknowledged_at"]),
        acknowledged_by=r["acknowledged_by"], resolved_at=shown_or_none(r["resolved_at"]),
        resolved_by=r["resolved_by"], resolved_reason=r["resolved_reason"],
    )


def _dispute(r: Any) -> DisputePublic:
    adjustment = r["adjustment_fen"]
    return DisputePublic(
        dispute=r["dispute"], agent=r["agent"], subject=r["subject"], text=r["text"],
        status=r["status"], opened_at=shown(r["opened_at"]),
        answer_due=shown(r["answer_due"]), answered_at=shown_or_none(r["answered_at"]),
        answer=r["answer"], resolved_at=shown_or_none(r["resolved_at"]), outcome=r["outcome"],
        adjustment=None if adjustment is None else cny(adjustment),
        resolution=r["resolution"], position=r["position"],
    )


async def alerts(services: Services, *, agent: str | None, status: str | None,
                 rule: str | None, after: int, limit: int) -> list[AlertPublic]:
    rows = await queries.alerts(services.pool, services.tenant, agent=agent, status=status,
                                rule=rule, after=after, limit=limit)
    return [_alert(r) for r in rows]


async def alert(services: Services, alert_id: str) -> AlertPublic:
    row = await queries.alert(services.pool, services.tenant, alert_id)
    if row is None:
        raise ApiError(404, Rule.UNKNOWN_ALERT, f"no alert {alert_id}", alert=alert_id)
    return _alert(row)


async def disputes(services: Services, *, agent: str | None, status: str | None,
                   after: int, limit: int) -> list[DisputePublic]:
    rows = await queries.disputes(services.pool, services.tenant, agent=agent,
                                  status=status, after=after, limit=limit)
    return [_dispute(r) for r in rows]


async def dispute(services: Services, dispute_id: str, agent: str | None = None) -> DisputePublic:
    row = await queries.dispute(services.pool, services.tenant, dispute_id, agent)
    if row is None:
        raise ApiError(404, Rule.UNKNOWN_DISPUTE, f"no dispute {dispute_id}", dispute=dispute_id)
    return _dispute(row)
