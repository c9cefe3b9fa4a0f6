"""The PostgreSQL key vault, and `forget` end to end on PostgreSQL: the person is gone,
the amounts and the hash chain are not."""

from __future__ import annotations

import asyncpg

from domain.agents.personal import ERASED_DATA, subject
from domain.importing import run_journal
from domain.ledger import Ledger
from eventstore.postgres import PostgresEventStore
from eventstore.vault import PostgresKeyVault
from eventstore.verify import verify_chain
from tests.unit.world import BASE, IDS, line


async def test_a_key_is_created_once_read_back_and_destroyed(pool: asyncpg.Pool, tenant: str):
    vault = PostgresKeyVault(pool)
    key = await vault.key_for(tenant, "agent:A1")
    assert len(key) == 32
    assert await vault.key_for(tenant, "agent:A1") == key
    assert await vault.get(tenant, "agent:A1") == key
    assert await vault.get(f"{tenant}-other", "agent:A1") is None
    assert await vault.destroy(tenant, "agent:A1") is True
    assert await vault.destroy(tenant, "agent:A1") is False
    assert await vault.get(tenant, "agent:A1") is None


async def test_forget_on_postgres_keeps_amounts_and_the_chain(
    pg_store: PostgresEventStore, pool: asyncpg.Pool, tenant: str, database_url: str
):
    vault = PostgresKeyVault(pool)
    summary = await run_journal(pg_store, vault, tenant, BASE)
    assert summary.accepted == len(BASE)
    ledger = Ledger(pg_store, vault)
    assert (await ledger.agents.personal_data(tenant, "A2", reveal=True)).id_number == IDS[1]
    stock = await ledger.orders.stock(tenant, "A2")

    forget = line("2026-01-12T09:00:00+08:00", "forget", agent="A2")
    assert (await run_journal(pg_store, vault, tenant, [forget])).accepted == 1

    assert await vault.get(tenant, subject("A2")) is None
    assert await ledger.agents.personal_data(tenant, "A2", reveal=True) == ERASED_DATA
    assert await ledger.orders.stock(tenant, "A2") == stock
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT payload FROM events WHERE tenant = $1", tenant)
        assert not [r for r in rows if IDS[1].encode() in r["payload"]]
        report = await verify_chain(conn, tenant)
    finally:
        await conn.close()
    assert report.intact and report.events == len(rows)
