"""A bulk import (batches judged against a layer, each recorded in one transaction) has
exactly the outcome of a one-at-a-time import (issue 19, must show 1): the same lines
accepted and refused with the same rules and numbers, the same events in the same
positions with the same payloads (personal data compared unsealed: it is sealed with
each brand's own random keys), the same idempotency keys and remembered refusals; and
its hash chain verifies. Everything but recorded times and hashes."""

from __future__ import annotations

import asyncio
import json
import random
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from cli.journal_generator import Journal
from config.settings import Settings
from domain.agents.personal import subject, unseal
from domain.handling import Context
from domain.importing import Summary, run_journal
from domain.journal import parse_command
from domain.ledger import Ledger
from eventstore.chain import ChainVerifier
from eventstore.database import close_pool, create_pool
from eventstore.kek import kek_files
from eventstore.postgres import PostgresEventStore
from eventstore.vault import PostgresKeyVault

SCENARIOS = Path(__file__).parents[2].parent / "shared" / "scenarios"
JOURNALS = sorted(SCENARIOS.glob("*.jsonl"))


def _lines(journal: Path) -> list[str]:
    return journal.read_text("utf-8").splitlines()


def generated(commands: int, seed: int) -> list[str]:
    """A generated journal with refusals and repeats mixed in: some sales asking for far
    more than is in stock, some lines sent twice, some lines naming an agent unknown."""
    rng = random.Random(seed)
    out = []
    for text in Journal(commands, seed=seed).lines():
        doc = json.loads(text)
        r = rng.random()
        if doc["cmd"] == "sale" and r < 0.02:
            doc["lines"][0]["qty"] *= 1000  # insufficient-stock
        elif doc["cmd"] == "purchase" and r < 0.02:
            doc["buyer"] = "NOBODY"  # unknown-agent
        out.append(json.dumps(doc, ensure_ascii=False))
        if r > 0.995:
            out.append(out[-1])  # a repeat: one command, answered once
    return out


def answers(summary: Summary) -> tuple[Any, ...]:
    return (summary.lines, summary.accepted, summary.replayed, summary.refused,
            summary.repeats, summary.report()["kinds"])


async def recorded(pool: asyncpg.Pool, vault: PostgresKeyVault, tenant: str) -> dict[str, Any]:
    """What a tenant's import recorded, but its recorded times and hashes; its chain
    checked."""
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT * FROM events WHERE tenant = $1 ORDER BY position",
                                tenant)
        keys = await conn.fetch("SELECT key, first_position, last_position FROM"
                                " idempotency_keys WHERE tenant = $1 ORDER BY key", tenant)
        refusals = await conn.fetch(
            "SELECT key, command, rule, numbers, actor, agent, business_time, request_id,"
            " head_position FROM refusals WHERE tenant = $1 ORDER BY id", tenant)
        claims = await conn.fetch("SELECT agent FROM identity_digests WHERE tenant = $1"
                                  " ORDER BY agent", tenant)
        subjects = await conn.fetch("SELECT subject FROM personal_data_keys WHERE tenant = $1"
                                    " AND subject LIKE 'agent:%' ORDER BY subject", tenant)
    store = PostgresEventStore(pool)
    chain = ChainVerifier(tenant)
    for event in await store.read_all(tenant, limit=len(rows) + 1):
        chain.check(event)
    events = []
    for r in rows:
        payload = json.loads(r["payload"])
        if "personal" in payload:
            agent = payload["agent"]
            key = await vault.get(tenant, subject(agent))
            payload["personal"] = unseal(key, tenant, agent, payload["personal"])
        events.append((r["position"], r["stream"], r["version"], r["name"], payload,
                       r["business_time"], json.loads(r["metadata"])))
    return {"events": events, "keys": [tuple(k) for k in keys],
            "refusals": [tuple(r) for r in refusals], "claims": [c[0] for c in claims],
            "subjects": [s[0] for s in subjects]}


async def both_ways(pool: asyncpg.Pool, vault: PostgresKeyVault, tenant: str,
                    lines: list[str], batch: int, again: bool = True) -> None:
    store = PostgresEventStore(pool)
    try:
        one = await run_journal(store, vault, f"{tenant}-one", lines, bulk=False)
        bulk = await run_journal(store, vault, f"{tenant}-bulk", lines, batch=batch)
        repeated = await run_journal(store, vault, f"{tenant}-bulk", lines, batch=batch) \
            if again else None
    finally:
        await store.close()
    assert one.malformed == [] and one.accepted > 0
    assert answers(bulk) == answers(one)
    first = await recorded(pool, vault, f"{tenant}-one")
    second = await recorded(pool, vault, f"{tenant}-bulk")
    assert second["events"] and second == first
    if repeated is not None:  # imported again in bulk: nothing recorded, the same answers
        assert (repeated.accepted, repeated.replayed, repeated.refused) == (
            one.accepted, one.accepted, one.refused)
        assert await recorded(pool, vault, f"{tenant}-bulk") == first


@pytest.mark.parametrize("journal", JOURNALS, ids=[j.stem for j in JOURNALS])
async def test_a_public_journal_in_bulk_is_recorded_as_one_at_a_time(
    journal: Path, pool: asyncpg.Pool, pg_vault: PostgresKeyVault, tenant: str
) -> None:
    lines = _lines(journal)
    await both_ways(pool, pg_vault, tenant, lines, batch=7)  # batches end mid-story


async def test_a_generated_journal_of_20000_commands_in_bulk_is_recorded_as_one_at_a_time(
    pool: asyncpg.Pool, pg_vault: PostgresKeyVault, tenant: str
) -> None:
    lines = generated(20_000, seed=19)
    assert len(lines) >= 20_000
    # Not imported again (the public journals are): it would only add to CI's time.
    await both_ways(pool, pg_vault, tenant, lines, batch=3_000, again=False)


async def test_a_writer_meanwhile_is_never_overwritten_the_batch_is_judged_again(
    database_url: str, pool: asyncpg.Pool, pg_vault: PostgresKeyVault, tenant: str
) -> None:
    """While the bulk import judges its second batch, another writer (the API, say)
    suspends A2 and records it. The batch, judged on a ledger that has moved, is not
    recorded over that event: it is judged again after it, so A2's sales in it are
    refused; the outcome is that of one at a time with the suspension in between."""
    lines = _lines(SCENARIOS / "02-stock-and-sales.jsonl")
    suspend = json.dumps({"at": "2026-01-06T10:30:00+08:00", "cmd": "suspend", "agent": "A2",
                          "reason": "另一位写入者"}, ensure_ascii=False)
    judged = 0

    def meanwhile(n: int) -> None:
        nonlocal judged
        judged += n
        if judged == 10:  # inside the second batch (lines 8-14), before it is recorded
            _record_in_thread(database_url, f"{tenant}-bulk", suspend)

    store = PostgresEventStore(pool)
    try:
        bulk = await run_journal(store, pg_vault, f"{tenant}-bulk", lines, meanwhile, batch=7)
        one = await run_journal(store, pg_vault, f"{tenant}-one", lines[:7], bulk=False)
        head = await store.head(f"{tenant}-one")
        await _record_elsewhere(database_url, f"{tenant}-one", suspend)
        rest = await run_journal(store, pg_vault, f"{tenant}-one", lines, bulk=False)
    finally:
        await store.close()
    assert "agent-inactive" in bulk.refused and 13 in bulk.refused["agent-inactive"]
    assert one.accepted == 7
    assert (bulk.accepted, bulk.refused) == (rest.accepted, rest.refused)
    with_suspension = await recorded(pool, pg_vault, f"{tenant}-bulk")
    # Right after the first batch's events (lines 1-7), where it was recorded.
    assert with_suspension["events"][head][:4] == (head + 1, "agent-A2", 3, "AgentSuspended")
    assert with_suspension == await recorded(pool, pg_vault, f"{tenant}-one")


async def _record_elsewhere(database_url: str, tenant: str, text: str) -> None:
    """`text` judged and recorded by a writer of its own: its own pool, store, vault."""
    pool = await create_pool(database_url, app_role="weiledger_app", size=2)
    store = PostgresEventStore(pool)
    try:
        vault = await PostgresKeyVault.open(pool, kek_files(Settings()))
        await Ledger(store, vault).handle(Context(tenant, "api", "elsewhere"),
                                          parse_command(json.loads(text)))
    finally:
        await store.close()
        await close_pool(pool)


async def test_a_full_batch_met_by_a_writer_is_judged_again_in_halves(
    database_url: str, pool: asyncpg.Pool, pg_vault: PostgresKeyVault, tenant: str
) -> None:
    """A batch of 200 met by another writer is halved to 100 with its 200 lines still
    pending: the next read of the journal asks for none (it crashed with islice's
    ValueError on a negative count, at line 500,000 of a million), the 200 are judged in
    two halves after the writer's event, and the rest follows."""
    lines = generated(450, seed=23)
    at = datetime.fromisoformat(json.loads(lines[299])["at"]) + timedelta(seconds=1)
    suspend = json.dumps({"at": at.isoformat(), "cmd": "suspend", "agent": "A1",
                          "reason": "另一位写入者"}, ensure_ascii=False)
    judged = 0

    def meanwhile(n: int) -> None:
        nonlocal judged
        judged += n
        if judged == 300:  # the last line of the second batch, before it is recorded
            _record_in_thread(database_url, f"{tenant}-bulk", suspend)

    store = PostgresEventStore(pool)
    try:
        bulk = await run_journal(store, pg_vault, f"{tenant}-bulk", lines, meanwhile, batch=200)
        await run_journal(store, pg_vault, f"{tenant}-one", lines[:200], bulk=False)
        await _record_elsewhere(database_url, f"{tenant}-one", suspend)
        one = await run_journal(store, pg_vault, f"{tenant}-one", lines, bulk=False)
    finally:
        await store.close()
    assert bulk.lines == len(lines) and not bulk.malformed
    assert (bulk.accepted, bulk.refused) == (one.accepted, one.refused)
    assert await recorded(pool, pg_vault, f"{tenant}-bulk") == \
        await recorded(pool, pg_vault, f"{tenant}-one")


def _record_in_thread(database_url: str, tenant: str, text: str) -> None:
    writer = threading.Thread(target=asyncio.run, args=(
        _record_elsewhere(database_url, tenant, text),))
    writer.start()
    writer.join()
