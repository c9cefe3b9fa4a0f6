"""Statements as issued (rm_statements), and explained line by line from the log."""

from __future__ import annotations

from api.deps import Services
from api.errors import ApiError, ApiRule
from api.schemas.common import cny
from api.schemas.settlement import (
    CitedEvent,
    ExplainedLine,
    LinePublic,
    StatementExplained,
    StatementPublic,
    StatementSummary,
)
from domain.periods import shown
from projections.statements import queries


def _summary(r: dict) -> dict:
    return {"agent": r["agent"], "period": r["period"], "total": cny(r["total_fen"]),
            "tax_flag": r["tax_flag"], "policy_version": r["policy_version"],
            "lines": r["lines"], "issued_at": shown(r["issued_at"])}


async def page(services: Services, *, agent: str | None, period: str | None,
               after: list | None, limit: int) -> list[StatementSummary]:
    rows = await queries.statements(
        services.pool, services.tenant, agent=agent, period=period,
        after=(str(after[0]), str(after[1])) if after else ("", ""), limit=limit,
    )
    return [StatementSummary(**_summary(dict(r))) for r in rows]


async def one(services: Services, agent: str, period: str) -> StatementPublic:
    head = await queries.statement(services.pool, services.tenant, agent, period)
    if head is None:
        raise ApiError(404, ApiRule.UNKNOWN_STATEMENT, f"no statement of {agent} for {period}",
                       agent=agent, period=period)
    rows = await queries.lines(services.pool, services.tenant, agent, period)
    items = [
        LinePublic(n=r["n"], kind=r["kind"], sale=r["sale"], sale_event=r["sale_event"],
                   period=r["line_period"], base=cny(r["base_fen"]), rate=str(r["rate"]),
                   amount=cny(r["amount_fen"]), bracket=r["bracket"],
                   return_event=r["return_event"], capped=cny(r["capped_fen"]),
                   policy_version=r["policy_version"])
        for r in rows
    ]
    return StatementPublic(**_summary(dict(head)), items=items)


async def _cited(services: Services, cite: str) -> CitedEvent:
    stream, _, version = cite.rpartition("@")
    found = []
    if version.isdigit():
        found = await services.store.read_stream(
            services.tenant, stream, after_version=int(version) - 1, upto_version=int(version)
        )
    if not found:
        return CitedEvent(cite=cite, position=None, name=None, business_time=None)
    e = found[0]
    return CitedEvent(cite=cite, position=e.position, name=e.name,
                      business_time=shown(e.business_time))


def _because(line: LinePublic) -> str:
    rate = f"{line.rate} of {line.base}"
    if line.kind == "clawback":
        return (f"clawback of {line.amount}: {rate} on units of sale {line.sale} returned"
                f" ({line.return_event}), at the paid line's own rate")
    if line.kind == "adjustment":
        return (f"adjustment of {line.amount} owed by the resolution of dispute {line.sale}"
                f" ({line.sale_event})")
    if line.kind == "override":
        return f"override of {line.amount}: {rate} on the direct downline's sale {line.sale}"
    capped = f", {line.capped} taken off by the 30% cap" if line.capped != "0.00" else ""
    return (f"bracket {line.bracket} of policy v{line.policy_version}: {rate} of own retail"
            f" sale {line.sale} ({line.period}) = {line.amount}{capped}")


async def explain(services: Services, agent: str, period: str) -> StatementExplained:
    statement = await one(services, agent, period)
    lines = []
    for line in statement.items:
        returned = None
        if line.return_event:
            returned = await _cited(services, line.return_event)
        lines.append(ExplainedLine(line=line, because=_because(line),
                                   sale_event=await _cited(services, line.sale_event),
                                   return_event=returned))
    return StatementExplained(agent=agent, period=period, total=statement.total,
                              policy_version=statement.policy_version, lines=lines)
