"""The store defends its history: append-only rules in the database, a hash chain that
names the position where someone changed a byte, and migrations that refuse edits."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime

import asyncpg
import pytest

from domain.ports import NewEvent
from eventstore.database import create_pool
from eventstore.migrate import MIGRATIONS, MigrationError, migrate
from eventstore.postgres import PostgresEventStore
from tests.conftest import run_cli
from tests.support import eventually

AT = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)


async def fill(url: str, tenant: str, count: int) -> None:
    pool = await create_pool(url, app_role="weiledger_app", size=4)
    store = PostgresEventStore(pool)
    try:
        for i in range(count):
            await store.append(
                tenant, [NewEvent(f"agent-{i % 3}", i // 3 + 1, "Happened", b'{"n": %d}' % i, AT)]
            )
    finally:
        await store.close()
        await pool.close()


async def test_verify_chain_passes_untouched_and_names_the_position_of_a_changed_byte(
    fresh_database,
):
    await fill(fresh_database, "brand-a", 12)
    await fill(fresh_database, "brand-b", 3)
    clean = await asyncio.to_thread(run_cli, "db", "verify-chain", database=fresh_database)
    assert clean.returncode == 0, clean.stderr
    assert "checked 15 events of 2 tenant(s): intact" in clean.stdout

    conn = await asyncpg.connect(fresh_database)
    try:
        # What a superuser could do: bypass the append-only trigger for this session.
        await conn.execute("SET session_replication_role = replica")
        await conn.execute(
            "UPDATE events SET payload = overlay(payload placing '7'::bytea from 8 for 1)"
            " WHERE tenant = 'brand-a' AND position = 7"
        )
    finally:
        await conn.close()
    broken = await asyncio.to_thread(run_cli, "db", "verify-chain", database=fresh_database)
    assert broken.returncode == 1
    assert "tenant brand-a: chain breaks at position 7" in broken.stderr
    assert "stored hash does not match its contents" in broken.stderr
    assert "brand-b" not in broken.stderr


async def test_a_deleted_last_event_is_caught_by_the_chain_head(fresh_database):
    await fill(fresh_database, "brand-a", 4)
    conn = await asyncpg.connect(fresh_database)
    try:
        await conn.execute("SET session_replication_role = replica")
        await conn.execute("DELETE FROM events WHERE tenant = 'brand-a' AND position = 4")
    finally:
        await conn.close()
    broken = await asyncio.to_thread(run_cli, "db", "verify-chain", database=fresh_database)
    assert broken.returncode == 1
    assert "chain breaks at position 4: the chain head says position 4" in broken.stderr


async def test_events_refuse_update_and_delete_even_from_the_owner(pg_store, tenant, database_url):
    await pg_store.append(tenant, [NewEvent("a", 1, "Happened", b"{}", AT)])
    conn = await asyncpg.connect(database_url)
    try:
        for sql in (
            "UPDATE events SET name = 'Other' WHERE tenant = $1",
            "DELETE FROM events WHERE tenant = $1",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
                await conn.execute(sql, tenant)
    finally:
        await conn.close()


async def test_the_service_role_may_only_insert_and_select_events(pool, tenant):
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT current_user") == "weiledger_app"
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
            await conn.execute("TRUNCATE events")
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
            await conn.execute("UPDATE events SET name = 'Other' WHERE tenant = $1", tenant)
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="must be owner"):
            await conn.execute("ALTER TABLE events DISABLE TRIGGER events_append_only")


async def test_migrations_apply_once_even_when_two_run_together(fresh_database, tmp_path):
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, folder)
    (folder / "900_extra.sql").write_text("CREATE TABLE extra_probe (id int);")
    conns = [await asyncpg.connect(fresh_database) for _ in range(2)]
    try:
        results = await asyncio.gather(*(migrate(c, folder) for c in conns))
        assert sorted(results, key=len) == [[], ["900_extra.sql"]]
        assert await migrate(conns[0], folder) == []
    finally:
        for c in conns:
            await c.close()


async def test_an_applied_migration_that_was_edited_is_refused(fresh_database, tmp_path):
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, folder)
    first = folder / "001_event_store.sql"
    first.write_text(first.read_text() + "\n-- edited afterwards\n")
    conn = await asyncpg.connect(fresh_database)
    try:
        with pytest.raises(MigrationError, match=f"{first.name} was edited after it was applied"):
            await migrate(conn, folder)
    finally:
        await conn.close()
    # The untouched files still match what was applied.
    real = await asyncio.to_thread(run_cli, "db", "migrate", database=fresh_database)
    assert real.returncode == 0 and "up to date" in real.stdout


async def test_followers_cancelled_at_any_moment_give_their_connection_back(
    database_url, tenant, rng
):
    pool = await create_pool(database_url, app_role="weiledger_app", size=3)
    store = PostgresEventStore(pool)
    try:
        await store.append(tenant, [NewEvent("a", 1, "Happened", b"{}", AT)])

        async def follow() -> None:
            async for _event in store.follow(tenant):
                await asyncio.sleep(rng.random() / 200)

        for _ in range(60):
            follower = asyncio.create_task(follow())
            await asyncio.sleep(rng.random() / 300)
            follower.cancel()
            await asyncio.gather(follower, return_exceptions=True)
        await store.close()  # its writer may hold a connection while appends keep coming
        # A cancelled follower gives its connection back as its cancellation unwinds.
        await eventually(lambda: pool.get_size() - pool.get_idle_size(),
                         "every connection back in the pool", until=lambda busy: busy == 0,
                         within=5)
        await asyncio.wait_for(pool.close(), 5)
    finally:
        await store.close()
        pool.terminate()
