"""The store defends its history: append-only rules in the database, a hash chain that
names the position where someone changed a byte, receipts outside the database that
name where a superuser truncated or rewrote it (and an export that refuses to sign
such a ledger), and migrations that refuse edits."""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain.ports import NewEvent
from eventstore.database import create_pool
from eventstore.migrate import MIGRATIONS, MigrationError, migrate
from eventstore.postgres import PostgresEventStore
from export.merkle import merkle_root
from export.signing import checkpoint_message
from tests.conftest import run_cli
from tests.export.conftest import rewrite_history
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


class Insider:
    """A brand's ledger with signed receipts beside its keys, and what a database
    superuser can do to it; `cli` runs the real command line with that keys folder."""

    def __init__(self, url: str, keys: Path) -> None:
        self.url, self.keys = url, keys
        self.receipts = keys / "receipts"

    async def cli(self, *args: str):  # type: ignore[no-untyped-def]
        return await asyncio.to_thread(run_cli, *args, database=self.url,
                                       env={"WEILEDGER_KEYS_DIR": str(self.keys)})

    async def sql(self, *statements: str) -> None:
        conn = await asyncpg.connect(self.url)
        try:
            await conn.execute("SET session_replication_role = replica")  # past the trigger
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    async def verify(self):  # type: ignore[no-untyped-def]
        return await self.cli("db", "verify-chain", "--receipts", str(self.receipts))

    async def export_refused(self, tmp: Path) -> str:
        done = await self.cli("export", str(tmp / "x.zip"), "--tenant", "brand-a")
        assert done.returncode == 2, done.stdout + done.stderr
        assert not (tmp / "x.zip").exists()
        assert "refused: the ledger does not verify, nothing signed" in done.stderr
        return done.stderr


@pytest.fixture
async def insider(fresh_database, tmp_path) -> Insider:
    """12 events of brand-a, each 4 signed as a checkpoint with its receipt (the three
    CheckpointSigned events are positions 13 to 15)."""
    found = Insider(fresh_database, tmp_path / "keys")
    await fill(fresh_database, "brand-a", 12)
    assert (await found.cli("keys", "init", "--tenant", "brand-a")).returncode == 0
    signed = await found.cli("checkpoint", "--tenant", "brand-a", "--every", "4")
    assert signed.returncode == 0, signed.stderr
    assert signed.stdout.count("receipt ") == 3  # printed for whoever keeps a copy
    clean = await found.verify()
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "held tenant brand-a against 3 receipt(s), through position 12" in clean.stdout
    assert "intact; receipts agree" in clean.stdout
    return found


async def test_a_deleted_last_event_is_refused_by_the_export(insider, tmp_path):
    await insider.sql("DELETE FROM events WHERE tenant = 'brand-a' AND position = 15")
    assert "chain breaks at position 15: the chain head says position 15" in (
        await insider.export_refused(tmp_path))


async def test_a_deleted_tail_with_the_chain_head_edited_to_match_is_named_by_the_receipts(
    insider, tmp_path
):
    await insider.sql(
        "DELETE FROM events WHERE tenant = 'brand-a' AND position > 10",
        "UPDATE chain_heads SET position = 10, hash = e.hash FROM events e"
        " WHERE chain_heads.tenant = 'brand-a' AND e.tenant = 'brand-a' AND e.position = 10",
    )
    done = await insider.verify()
    assert done.returncode == 1
    assert "checked 10 events of 1 tenant(s): intact; receipts 1 disagreement(s)" in done.stdout
    assert ("tenant brand-a: position 11 (receipt 000000000012.json): in the receipt, "
            "missing from the log (the log's head is 10)") in done.stderr
    assert "position 11 (receipt 000000000012.json)" in await insider.export_refused(tmp_path)


async def test_a_dropped_middle_event_is_named_by_the_chain_and_the_receipts(insider, tmp_path):
    await insider.sql("DELETE FROM events WHERE tenant = 'brand-a' AND position = 6")
    done = await insider.verify()
    assert done.returncode == 1
    assert "chain breaks at position 6: position 7 follows 5" in done.stderr
    assert "position 6 (receipt 000000000008.json): in the receipt, missing" in done.stderr
    assert "position 7 follows 5" in await insider.export_refused(tmp_path)


async def test_a_full_rewrite_passes_the_chain_and_is_located_by_the_receipts(insider, tmp_path):
    await rewrite_history(insider.url, "brand-a", 6, lambda fields: fields.update(n=999))
    alone = await insider.cli("db", "verify-chain")
    assert alone.returncode == 0 and "intact" in alone.stdout  # every hash recomputed
    done = await insider.verify()
    assert done.returncode == 1
    assert ("tenant brand-a: position 6 (receipt 000000000008.json): the log's hash"
            in done.stderr)
    assert "position 6 (receipt 000000000008.json)" in await insider.export_refused(tmp_path)


async def test_a_forged_receipt_is_refused_as_such(insider):
    """A receipt for the rewritten log, signed by a key that is not the brand's."""
    await rewrite_history(insider.url, "brand-a", 6, lambda fields: fields.update(n=999))
    conn = await asyncpg.connect(insider.url)
    try:
        hashes = [bytes(r["hash"]) for r in await conn.fetch(
            "SELECT hash FROM events WHERE tenant = 'brand-a' AND position BETWEEN 5 AND 8"
            " ORDER BY position")]
    finally:
        await conn.close()
    root, forger = merkle_root(hashes), Ed25519PrivateKey.generate()
    folder = insider.receipts / "brand-a"
    doc = json.loads((folder / "000000000008.json").read_text())
    doc.update(root=root.hex(),
               signature=forger.sign(checkpoint_message("brand-a", 5, 8, root)).hex())
    (folder / "000000000008.json").write_text(json.dumps(doc))
    (folder / "000000000008.hashes").write_bytes(b"".join(hashes))
    done = await insider.verify()
    assert done.returncode == 1
    assert ("receipt 000000000008.json (positions 5..8): forged, not signed by the brand's key"
            in done.stderr)
    # the genuine receipts after it still locate the rewrite
    assert "position 9 (receipt 000000000012.json): the log's hash" in done.stderr


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
