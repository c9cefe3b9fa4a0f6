"""总览 Overview: the brand in one period (a CST month), against the same elapsed part
of the period before; the chain's head and signed checkpoints; the standing warning
when overrides are on (DOMAIN.md: a pyramid-risk factor)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from api.deps import Services
from domain.periods import (
    cst_date,
    next_period,
    parse_period,
    period_end,
    period_start,
    previous_period,
)
from export.checkpoints import last_signed
from export.format import read_checkpoint
from projections.alerts.queries import open_alert_counts, raised_by_rule
from projections.sales.queries import NetworkRetail, monthly_net_retail, network_retail
from projections.statements.queries import issued_in
from projections.tree.queries import joined_and_terminated

MONTHS_CHARTED = 6
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class OpenAlerts:
    rule: str
    severity: str
    count: int


@dataclass(frozen=True, slots=True)
class Checkpoint:
    position: int  # of the CheckpointSigned event
    to_position: int  # the last event it signs
    signed_at: datetime
    age: timedelta


@dataclass(frozen=True, slots=True)
class Overview:
    period: str
    days: int  # the days of the period counted (all of them once it has ended)
    network: NetworkRetail  # this period, its first `days` days
    previous: NetworkRetail  # the period before, its first `days` days
    joined: int
    terminated: int
    open_alerts: tuple[OpenAlerts, ...]  # open at `open_at`
    open_at: datetime | None  # the period's end, once it has ended; None: now
    statements: int
    statements_fen: int
    head: int
    checkpoint: Checkpoint | None
    overrides_on: bool
    monthly_net_retail: tuple[tuple[str, int], ...]  # oldest first, this period last
    raised_by_rule: dict[str, int]  # alerts raised in the period


def _first_days(period: str, days: int) -> tuple[date, date]:
    year, month = parse_period(period)
    last = min(days, calendar.monthrange(year, month)[1])
    return date(year, month, 1), date(year, month, last)


def elapsed_days(period: str, now: datetime) -> int:
    """How many days of the period have begun by `now` (CST): all of a past period."""
    year, month = parse_period(period)
    length = calendar.monthrange(year, month)[1]
    if now >= period_end(period):
        return length
    if now < period_start(period):
        return 0
    return cst_date(now).day


async def overview(services: Services, period: str, now: datetime | None = None) -> Overview:
    now = now or datetime.now(UTC)
    pool, tenant = services.pool, services.tenant
    days = elapsed_days(period, now)
    first, last = _first_days(period, days)
    before = previous_period(period)
    prev_first, prev_last = _first_days(before, days)
    if days == 0:  # nothing of the period yet: an empty stretch on both sides
        last, prev_last = first - timedelta(days=1), prev_first - timedelta(days=1)
    start = period_start(period)
    # The policy in force at the period's last instant (or now): one effective from the
    # next period's first instant governs that period, not this one.
    end = min(period_end(period) - _TICK, max(now, start))
    joined, terminated = await joined_and_terminated(pool, tenant, start, period_end(period))
    statements, statements_fen = await issued_in(pool, tenant, period)
    charted = period
    for _ in range(MONTHS_CHARTED - 1):
        charted = previous_period(charted)
    monthly = await monthly_net_retail(pool, tenant, cst_date(period_start(charted)),
                                       cst_date(period_end(period)) - timedelta(days=1))
    months, p = [], charted
    for _ in range(MONTHS_CHARTED):
        months.append((p, monthly.get(p, 0)))
        p = next_period(p)
    policy = await services.ledger.policy.in_force(tenant, end)
    # A past period's alerts as they stood when it ended, those raised at its close (a
    # push-down verdict) included; the current period's, as they stand now.
    open_at = period_end(period) if period_end(period) <= now else None
    return Overview(
        period=period, days=days,
        network=await network_retail(pool, tenant, first, last),
        previous=await network_retail(pool, tenant, prev_first, prev_last),
        joined=joined, terminated=terminated,
        open_alerts=tuple(OpenAlerts(r["rule"], r["severity"], r["open"])
                          for r in await open_alert_counts(pool, tenant, at=open_at)),
        open_at=open_at,
        statements=statements, statements_fen=statements_fen,
        head=await services.store.head(tenant),
        checkpoint=await _checkpoint(services, now),
        overrides_on=policy.override_levels > 0,
        monthly_net_retail=tuple(months),
        raised_by_rule=await raised_by_rule(pool, tenant, start, period_end(period)),
    )


async def _checkpoint(services: Services, now: datetime) -> Checkpoint | None:
    found = await last_signed(services.store, services.tenant)
    if found is None:
        return None
    fields = read_checkpoint(found.payload)
    signed_at = datetime.fromisoformat(fields["signed_at"])
    return Checkpoint(found.position, int(fields["to_position"]), signed_at, now - signed_at)
