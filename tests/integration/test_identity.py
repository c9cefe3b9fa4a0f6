"""One person, one agent per brand: a join with a 身份证 number another agent holds
(any status but forgotten) is refused duplicate-identity, judged through a keyed digest
kept beside the vault's keys, never in an event; two joins with one number at once do
not both pass; forgetting the holder frees the number. On both stores and vaults."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator

import asyncpg
import pytest

from config.settings import Settings
from domain.agents.identity import IDENTITY_SUBJECT
from domain.errors import Refused
from domain.handling import Context
from domain.importing import run_journal
from domain.journal import parse_line
from domain.ledger import Ledger
from domain.ports import EventStore, KeyVault
from eventstore.kek import kek_files
from eventstore.memory import InMemoryEventStore
from eventstore.memory_vault import InMemoryKeyVault
from eventstore.overlay import OverlayEventStore, OverlayKeyVault
from eventstore.postgres import PostgresEventStore
from eventstore.vault import PostgresKeyVault
from tests.unit.world import BASE, IDS, line

AT = "2026-01-12T09:00:00+08:00"


def _join(agent: str, number: str, at: str = AT) -> str:
    return line(at, "join", agent=agent, sponsor=None, tier="partner", name=f"代理{agent}",
                id_number=number, phone="13900000000")


@pytest.fixture(params=["memory", "postgres"])
async def backend(request: pytest.FixtureRequest, pool: asyncpg.Pool
                  ) -> AsyncIterator[tuple[EventStore, KeyVault]]:
    if request.param == "memory":
        yield InMemoryEventStore(), InMemoryKeyVault()
    else:
        store = PostgresEventStore(pool)
        yield store, await PostgresKeyVault.open(pool, kek_files(Settings()))
        await store.close()


async def _handle(ledger: Ledger, tenant: str, text: str) -> None:
    await ledger.handle(Context(tenant, "test", None), parse_line(text))


async def test_a_held_number_is_refused_whatever_the_holders_status_until_it_is_forgotten(
    backend: tuple[EventStore, KeyVault], tenant: str
) -> None:
    store, vault = backend
    assert (await run_journal(store, vault, tenant, BASE)).accepted == len(BASE)
    ledger = Ledger(store, vault)
    for status in (None, "suspend", "terminate"):
        if status:
            await _handle(ledger, tenant, line(AT, status, agent="A2", reason="audit"))
        head = await store.head(tenant)
        with pytest.raises(Refused) as refused:
            await _handle(ledger, tenant, _join("X1", IDS[1].lower()))  # A2's
        assert refused.value.rule == "duplicate-identity", status
        assert refused.value.numbers == {"id_number": "110101********1018"}
        assert await store.head(tenant) == head
    # already-joined answers before it (DOMAIN.md: duplicates, in this order)
    with pytest.raises(Refused) as refused:
        await _handle(ledger, tenant, _join("A3", IDS[1]))
    assert refused.value.rule == "already-joined"
    await _handle(ledger, tenant, line(AT, "forget", agent="A2"))
    await _handle(ledger, tenant, _join("X1", IDS[1]))  # the number is free again
    with pytest.raises(Refused) as refused:
        await _handle(ledger, tenant, _join("X2", IDS[1]))
    assert refused.value.rule == "duplicate-identity"


async def test_two_joins_with_one_number_at_once_do_not_both_pass(
    backend: tuple[EventStore, KeyVault], pool: asyncpg.Pool, tenant: str
) -> None:
    """Each pair as two processes would send them: two ledgers, each with a store and a
    vault of its own (on PostgreSQL only the database's lock keeps them apart)."""
    store, vault = backend
    assert (await run_journal(store, vault, tenant, BASE)).accepted == len(BASE)
    if isinstance(store, PostgresEventStore):
        other_store: EventStore = PostgresEventStore(pool)
        other_vault = await PostgresKeyVault.open(pool, kek_files(Settings()))
        other: Ledger = Ledger(other_store, other_vault)
    else:
        other = Ledger(store, vault)
    mine = Ledger(store, vault)
    try:
        for n in range(8):
            number = IDS[4] if n % 2 else IDS[5]
            if n > 1:
                await _handle(mine, tenant, line(AT, "forget", agent=f"P{n - 2}"))
            outcomes = await asyncio.gather(
                _handle(mine, tenant, _join(f"P{n}", number)),
                _handle(other, tenant, _join(f"Q{n}", number)),
                return_exceptions=True,
            )
            refused = [o for o in outcomes if isinstance(o, Refused)]
            assert outcomes.count(None) == 1 and len(refused) == 1, outcomes
            assert refused[0].rule == "duplicate-identity"
            if outcomes[0] is not None:  # Q won: forget Q next round, as P
                await _handle(mine, tenant, line(AT, "forget", agent=f"Q{n}"))
                await _handle(mine, tenant, _join(f"P{n}", number))
    finally:
        if isinstance(store, PostgresEventStore):
            await other_store.close()


async def test_the_digest_is_keyed_kept_outside_the_events_and_erased_by_forget(
    pg_store: PostgresEventStore, pool: asyncpg.Pool, tenant: str, database_url: str
) -> None:
    vault = await PostgresKeyVault.open(pool, kek_files(Settings()))
    assert (await run_journal(pg_store, vault, tenant, BASE)).accepted == len(BASE)
    key = await vault.get(tenant, IDENTITY_SUBJECT)
    assert key is not None
    keyed = hmac.new(key, IDS[1].encode(), hashlib.sha256).digest()
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT agent, digest FROM identity_digests WHERE tenant = $1",
                                tenant)
        assert {r["agent"]: bytes(r["digest"]) for r in rows}["A2"] == keyed
        assert hashlib.sha256(IDS[1].encode()).digest() not in {bytes(r["digest"]) for r in rows}
        payloads = await conn.fetch("SELECT payload, metadata FROM events WHERE tenant = $1",
                                    tenant)
        assert not [p for p in payloads if keyed in p["payload"] or keyed.hex() in p["payload"]
                    .decode(errors="replace") or keyed.hex() in p["metadata"]]
        await run_journal(pg_store, vault, tenant, [line(AT, "forget", agent="A2")])
        left = await conn.fetch("SELECT agent FROM identity_digests WHERE tenant = $1", tenant)
        assert sorted(r["agent"] for r in left) == ["A1", "A3", "B1"]
    finally:
        await conn.close()


async def test_a_dry_run_judges_identities_as_the_real_import_and_changes_none() -> None:
    store, vault = InMemoryEventStore(), InMemoryKeyVault()
    assert (await run_journal(store, vault, "t", BASE)).accepted == len(BASE)
    dry = Ledger(OverlayEventStore(store), OverlayKeyVault(vault))
    with pytest.raises(Refused) as refused:
        await _handle(dry, "t", _join("X1", IDS[1]))
    assert refused.value.rule == "duplicate-identity"
    await _handle(dry, "t", line(AT, "forget", agent="A2"))
    await _handle(dry, "t", _join("X1", IDS[1]))
    with pytest.raises(Refused):  # the real ledger still has A2 holding it
        await _handle(Ledger(store, vault), "t", _join("X1", IDS[1]))
