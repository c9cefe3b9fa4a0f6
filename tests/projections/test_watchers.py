"""The watchers over a real log, on the in-memory twin and on PostgreSQL: scenario 04
raises exactly its expected alerts, each once, whatever restarts, crashes or races
happen; people acknowledge and resolve them; a dispute left unanswered for 48 hours of
business time raises dispute-overdue; the read models show all of it."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from cli.journal_generator import Journal
from domain.compliance.commands import (
    AcknowledgeAlert,
    AnswerDispute,
    OpenDispute,
    ResolveAlert,
    ResolveDispute,
    Tick,
)
from domain.compliance.service import ComplianceService
from domain.errors import Refused
from domain.handling import Context
from domain.importing import run_journal
from domain.ports import EventStore
from eventstore.memory import InMemoryEventStore
from eventstore.memory_vault import InMemoryKeyVault
from eventstore.postgres import PostgresEventStore
from projections.alerts import AlertsProjection, DisputesProjection
from projections.alerts.queries import list_alerts, list_disputes
from projections.background import PACE
from projections.runner import ProjectionRunner
from projections.watchers import (
    APPLICATION,
    SHARE,
    Watchers,
    alert_events,
    raised_alerts,
    run_watchers,
)
from tests.support import eventually

SCENARIOS = Path(__file__).parents[2].parent / "shared" / "scenarios"
LINES = (SCENARIOS / "04-alerts.jsonl").read_text("utf-8").splitlines()
EXPECTED = json.loads((SCENARIOS / "04-alerts.expected.json").read_text("utf-8"))
ALERTS = {(rule, agent) for rule, agent in EXPECTED["alerts"]}
T = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
H = timedelta(hours=1)


async def journal(store: EventStore, tenant: str, lines: list[str] = LINES) -> None:
    summary = await run_journal(store, InMemoryKeyVault(), tenant, lines)
    assert summary.malformed == [] and summary.refused == {}


async def alert_keys(store: EventStore, tenant: str) -> list[str]:
    return [a["alert"] async for a in alert_events(store, tenant)]


def test_scenario_04_is_exhaustive() -> None:
    assert EXPECTED["alerts_exhaustive"] is True and len(ALERTS) == 5


async def test_scenario_04_raises_exactly_its_expected_alerts(store: EventStore, tenant: str):
    await journal(store, tenant)
    assert await run_watchers(store, tenant) == 5
    assert await raised_alerts(store, tenant) == ALERTS
    # Progress is recorded with the alerts it raised: up to the last command's event,
    # not past the watcher's own alerts (judging those raised nothing, recorded nothing).
    log = await store.read_all(tenant, limit=10_000)
    judged = max(e.position for e in log if e.name != "AlertRaised")
    assert await store.tracking_position(tenant, APPLICATION) == judged < await store.head(tenant)


async def test_running_the_watchers_again_raises_nothing_new(store: EventStore, tenant: str):
    await journal(store, tenant)
    await run_watchers(store, tenant)
    head = await store.head(tenant)
    assert await run_watchers(store, tenant) == 0
    assert await run_watchers(store, tenant) == 0
    assert await store.head(tenant) == head


async def test_a_watcher_restarted_midway_raises_each_breach_once(store: EventStore, tenant: str):
    await journal(store, tenant, LINES[:60])  # up to A1's second purchase
    assert await run_watchers(store, tenant) == 2  # recruiting (R1), hoarding-70 (A1)
    await journal(store, tenant, LINES[60:])
    assert await Watchers(store, tenant).catch_up() == 3  # a new instance: a restart
    keys = await alert_keys(store, tenant)
    assert len(keys) == len(set(keys)) == 5
    assert await raised_alerts(store, tenant) == ALERTS


class Crash(Exception):
    pass


class CrashOnAppend:
    """The store, but the process dies just as it would append its alerts."""

    def __init__(self, store: EventStore) -> None:
        self.store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def append(self, *args: Any, **kwargs: Any) -> Any:
        raise Crash


async def test_a_crash_before_the_append_loses_nothing_and_doubles_nothing(
    store: EventStore, tenant: str
) -> None:
    await journal(store, tenant)
    with pytest.raises(Crash):
        await Watchers(CrashOnAppend(store), tenant).catch_up()  # type: ignore[arg-type]
    assert await store.tracking_position(tenant, APPLICATION) is None
    assert await raised_alerts(store, tenant) == set()
    assert await run_watchers(store, tenant) == 5
    assert await run_watchers(store, tenant) == 0


async def test_two_watchers_racing_raise_each_breach_once(store: EventStore, tenant: str):
    await journal(store, tenant)
    raised = await asyncio.gather(*(run_watchers(store, tenant) for _ in range(3)))
    assert sum(raised) == 5
    keys = await alert_keys(store, tenant)
    assert len(keys) == len(set(keys)) == 5


async def test_following_raises_alerts_as_the_commands_arrive(store: EventStore, tenant: str):
    # Watchers.follow is what the service's background runs (projections/background.py),
    # paced as there; cancelled as there when it stops.
    following = asyncio.create_task(Watchers(store, tenant).follow(pace=PACE))
    try:
        await journal(store, tenant)
        await eventually(lambda: alert_keys(store, tenant), "the scenario's five alerts",
                         until=lambda keys: len(keys) >= 5)
    finally:
        following.cancel()
        await asyncio.gather(following, return_exceptions=True)
    assert following.cancelled()
    assert await raised_alerts(store, tenant) == ALERTS
    assert len(await alert_keys(store, tenant)) == 5
    assert await run_watchers(store, tenant) == 0


# people handle alerts; disputes


async def refused(call: Any) -> str:
    with pytest.raises(Refused) as caught:
        await call
    return caught.value.rule


async def test_people_acknowledge_then_resolve_an_alert(store: EventStore, tenant: str):
    await journal(store, tenant)
    await run_watchers(store, tenant)
    svc, ctx = ComplianceService(store), Context(tenant, "compliance:li")
    alert = "push-down:A2:2026-03"
    end = datetime(2026, 4, 6, 2, 0, tzinfo=UTC)
    await svc.acknowledge_alert(ctx, AcknowledgeAlert(end, alert, "calling A2"))
    assert (await svc.alert(tenant, alert)).status == "acknowledged"  # type: ignore[union-attr]
    await svc.resolve_alert(ctx, ResolveAlert(end + H, alert, "orders were real; A2 warned"))
    assert (await svc.alert(tenant, alert)).status == "resolved"  # type: ignore[union-attr]
    assert await refused(svc.resolve_alert(ctx, ResolveAlert(end, alert, "again"))) == (
        "already-resolved"
    )
    assert await refused(svc.acknowledge_alert(ctx, AcknowledgeAlert(end, "nope:X"))) == (
        "unknown-alert"
    )
    assert await run_watchers(store, tenant) == 0  # a resolution raises nothing anew


async def _agents(store: EventStore, tenant: str) -> None:
    await journal(store, tenant, LINES[:4])  # the product, A1, A2, R1


async def test_a_dispute_unanswered_for_48_hours_is_overdue(store: EventStore, tenant: str):
    await _agents(store, tenant)
    svc, ctx = ComplianceService(store), Context(tenant, "agent:A1")
    await svc.open_dispute(ctx, OpenDispute(T, "D1", "A1", "period:2026-03", "short paid"))
    await svc.open_dispute(ctx, OpenDispute(T, "D2", "A2", "statement:2026-03", "wrong"))
    await svc.answer_dispute(ctx, AnswerDispute(T + 47 * H, "D2", "checking, back Monday"))
    await svc.tick(ctx, Tick(T + 48 * H - timedelta(seconds=1)))
    assert await run_watchers(store, tenant) == 0
    await svc.tick(ctx, Tick(T + 48 * H))
    assert await run_watchers(store, tenant) == 1
    assert await alert_keys(store, tenant) == ["dispute-overdue:A1:D1"]


async def test_dispute_commands_refuse_what_does_not_fit(store: EventStore, tenant: str):
    await _agents(store, tenant)
    svc, ctx = ComplianceService(store), Context(tenant, "hq")
    opened = OpenDispute(T, "D1", "A1", "sale:S404", "where is my sale")
    assert await refused(svc.open_dispute(ctx, opened)) == "unknown-sale"
    stranger = OpenDispute(T, "D1", "Z9", "period:2026-03", "?")
    assert await refused(svc.open_dispute(ctx, stranger)) == "unknown-agent"
    await svc.open_dispute(ctx, OpenDispute(T, "D1", "A1", "period:2026-03", "short"))
    again = OpenDispute(T, "D1", "A2", "period:2026-03", "me too")
    assert await refused(svc.open_dispute(ctx, again)) == "duplicate-dispute"
    assert await refused(svc.answer_dispute(ctx, AnswerDispute(T, "D9", "?"))) == (
        "unknown-dispute"
    )
    await svc.resolve_dispute(ctx, ResolveDispute(T + H, "D1", "upheld", 1250, "owed 12.50"))
    late = AnswerDispute(T + 2 * H, "D1", "too late")
    assert await refused(svc.answer_dispute(ctx, late)) == "already-resolved"
    with pytest.raises(ValueError, match="no adjustment"):
        ResolveDispute(T, "D1", "rejected", 100)


# read models (PostgreSQL)


async def test_the_read_models_show_alerts_and_disputes_with_who_and_why(
    pg_store: PostgresEventStore, pool: asyncpg.Pool, tenant: str
) -> None:
    await journal(pg_store, tenant)
    svc = ComplianceService(pg_store)
    officer, agent = Context(tenant, "compliance:li"), Context(tenant, "agent:A1")
    end = datetime(2026, 4, 6, 2, 0, tzinfo=UTC)
    await svc.open_dispute(agent, OpenDispute(end, "D1", "A1", "sale:SA2-1", "not mine"))
    await svc.answer_dispute(officer, AnswerDispute(end + H, "D1", "looking"))
    await svc.resolve_dispute(officer, ResolveDispute(end + 2 * H, "D1", "upheld", -990, "ok"))
    await run_watchers(pg_store, tenant)
    await svc.resolve_alert(officer, ResolveAlert(end + 3 * H, "entry-loading:A1", "bought back"))
    runner = ProjectionRunner(pool, pg_store, [AlertsProjection(), DisputesProjection()],
                              tenant=tenant)
    await runner.ensure()
    await runner.catch_up_all()
    assert runner.halted == {}

    alerts = {a["alert"]: a for a in await list_alerts(pool, tenant)}
    assert {(a["rule"], a["agent"]) for a in alerts.values()} == ALERTS
    loaded = alerts["entry-loading:A1"]
    assert (loaded["status"], loaded["resolved_by"], loaded["resolved_reason"]) == (
        "resolved", "compliance:li", "bought back",
    )  # fmt: skip
    assert loaded["numbers"]["purchased_first_7_days"] == "7920.00"
    assert {c["name"] for c in loaded["cites"]} >= {"AgentJoined", "StockPurchased"}
    assert alerts["push-down:A2:2026-03"]["status"] == "raised"

    [dispute] = await list_disputes(pool, tenant)
    assert (dispute["status"], dispute["outcome"], dispute["adjustment_fen"]) == (
        "resolved", "upheld", -990,
    )  # fmt: skip
    assert dispute["answered_by"] == "compliance:li" and dispute["opened_by"] == "agent:A1"
    assert dispute["answer_due"] == end + 48 * H


def _line(at: datetime, cmd: str, **fields: Any) -> str:
    return json.dumps({"at": at.isoformat(), "cmd": cmd, **fields}, ensure_ascii=False)


async def test_the_journal_records_ticks_and_disputes_that_the_watchers_judge(
    store: EventStore, tenant: str
) -> None:
    await _agents(store, tenant)
    lines = [
        _line(T, "open_dispute", dispute="D1", agent="A1", subject="period:2026-03", text="?"),
        _line(T, "open_dispute", dispute="D2", agent="A2", subject="period:2026-03", text="?"),
        _line(T + 2 * H, "answer_dispute", dispute="D2", text="checking"),
        _line(T + 3 * H, "resolve_dispute", dispute="D2", outcome="upheld", adjustment="-9.90"),
        _line(T + 47 * H, "tick"),
        _line(T + 49 * H, "tick"),
        _line(T + 50 * H, "resolve_dispute", dispute="D9", outcome="rejected"),
    ]
    summary = await run_journal(store, InMemoryKeyVault(), tenant, lines)
    assert summary.malformed == [] and summary.refused == {"unknown-dispute": [7]}
    assert await run_watchers(store, tenant) == 1
    assert await alert_keys(store, tenant) == ["dispute-overdue:A1:D1"]
    resolved = await ComplianceService(store).dispute(tenant, "D2")
    assert resolved is not None and resolved.status == "resolved"
    ticks = await store.read_stream(tenant, "clock")
    assert [e.name for e in ticks] == ["ClockStarted", "ClockTicked", "ClockTicked"]


async def test_a_replaying_watcher_lets_the_rest_of_its_event_loop_in() -> None:
    """A leader's watcher replays the whole log at each start, in the event loop its
    process's pages share: they get a turn every SHARE events it judges, not only at its
    reads of the log (the in-memory twin's reads never wait, so here they give none)."""
    store, tenant = InMemoryEventStore(), "replay"
    summary = await run_journal(store, InMemoryKeyVault(), tenant,
                                list(Journal(600, agents=40).lines()))
    assert summary.refused == {}
    head = await store.head(tenant)
    turns = 0

    async def page() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(page())
    await asyncio.sleep(0)
    await Watchers(store, tenant, batch=head).catch_up()  # the whole log in one read
    other.cancel()
    assert head > 5 * SHARE and turns >= head // SHARE, (head, turns)
