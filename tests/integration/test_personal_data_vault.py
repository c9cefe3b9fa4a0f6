"""The PostgreSQL key vault, and `forget` end to end on PostgreSQL: the person is gone,
the amounts and the hash chain are not."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import subprocess
from pathlib import Path

import asyncpg
import pytest

from domain.agents.identity import identity_digest
from domain.agents.personal import ERASED_DATA, Unreadable, subject, unseal
from domain.importing import run_journal
from domain.ledger import Ledger
from eventstore.database import create_pool
from eventstore.kek import KekError, KekFiles
from eventstore.postgres import PostgresEventStore
from eventstore.vault import PostgresKeyVault
from eventstore.verify import verify_chain
from tests.conftest import ROOT, run_cli
from tests.unit.world import BASE, IDS, line


async def test_a_key_is_created_once_read_back_and_destroyed(pg_vault: PostgresKeyVault,
                                                            tenant: str):
    vault = pg_vault
    key = await vault.key_for(tenant, "agent:A1")
    assert len(key) == 32
    assert await vault.key_for(tenant, "agent:A1") == key
    assert await vault.get(tenant, "agent:A1") == key
    assert await vault.get(f"{tenant}-other", "agent:A1") is None
    assert await vault.destroy(tenant, "agent:A1") is True
    assert await vault.destroy(tenant, "agent:A1") is False
    assert await vault.get(tenant, "agent:A1") is None


async def test_forget_on_postgres_keeps_amounts_and_the_chain(
    pg_store: PostgresEventStore, pg_vault: PostgresKeyVault, tenant: str, database_url: str
):
    vault = pg_vault
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


PG_DUMP = Path("/usr/lib/postgresql/15/bin/pg_dump")
JOINS = ROOT.parent / "shared" / "scenarios" / "01-joins.jsonl"


async def dump(url: str) -> bytes:
    """Everything a copy of the database holds: pg_dump where its version can read the
    server, else every row of every table, read as superuser."""
    conn = await asyncpg.connect(url)
    try:
        major = int(await conn.fetchval("SHOW server_version_num")) // 10_000
        if major <= 15 and await asyncio.to_thread(PG_DUMP.exists):
            done = await asyncio.to_thread(subprocess.run, [str(PG_DUMP), url],
                                           capture_output=True, check=True)
            return bytes(done.stdout)
        tables = await conn.fetch(
            "SELECT format('%I.%I', table_schema, table_name) AS t FROM information_schema.tables"
            " WHERE table_type = 'BASE TABLE'"
            " AND table_schema NOT IN ('pg_catalog', 'information_schema')")
        out = io.BytesIO()
        for row in tables:
            out.write(row["t"].encode() + b"\n")
            await conn.copy_from_query(f"SELECT * FROM {row['t']}", output=out)
        assert b"personal_data_keys" in out.getvalue()
        return out.getvalue()
    finally:
        await conn.close()


async def attack(url: str, tenant: str, agent: str, id_number: str = "") -> list[str]:
    """What opened a person from SQL access alone: every value of the key table, tried
    as the key of the agent's sealed personal data, and as the brand's identity key
    (a 身份证 number guessed, its keyed digest looked up in identity_digests)."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT * FROM personal_data_keys WHERE tenant = $1", tenant)
        digests = {bytes(r["digest"]) for r in await conn.fetch(
            "SELECT digest FROM identity_digests WHERE tenant = $1", tenant)}
        payload = await conn.fetchval("SELECT payload FROM events WHERE tenant = $1 AND"
                                      " name = 'AgentJoined' AND stream = $2", tenant,
                                      f"agent-{agent}")
    finally:
        await conn.close()
    sealed = json.loads(payload)["personal"]
    opened = []
    for row in rows:
        for value in row.values():
            if isinstance(value, bytes) and len(value) in (16, 24, 32):
                with contextlib.suppress(Unreadable):
                    opened.append(unseal(value, tenant, agent, sealed).id_number)
                if id_number and identity_digest(value, id_number) in digests:
                    opened.append(f"digest of {id_number}")
    return opened


async def test_a_copy_of_the_database_alone_reveals_no_one_before_or_after_rotate_kek(
    fresh_database, tmp_path
):
    keys = tmp_path / "keys"
    env = {"WEILEDGER_KEK": "", "WEILEDGER_KEYS_DIR": str(keys)}  # the KEK as a file

    async def cli(*args: str) -> str:
        done = await asyncio.to_thread(run_cli, *args, database=fresh_database, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    await cli("import", str(JOINS), "--tenant", "brand", "--no-progress")
    person = json.loads(JOINS.read_text("utf-8").splitlines()[1])
    assert person["agent"] == "A1"
    secrets = [person[k].encode() for k in ("name", "id_number", "phone")]
    (kek_file,) = keys.glob("personal-data-*.kek")
    assert kek_file.stat().st_mode & 0o777 == 0o600

    def revealed(copy: bytes) -> list[bytes]:
        return [s for s in secrets if s in copy]

    before = await dump(fresh_database)
    assert revealed(before) == []
    assert await attack(fresh_database, "brand", "A1", person["id_number"]) == []
    # The KEK beside it is what opens it: the service reads the person back.
    vault = await PostgresKeyVault.open(
        pool := await create_pool(fresh_database, app_role="weiledger_app", size=2),
        KekFiles(keys))
    try:
        key = await vault.get("brand", subject("A1"))
        conn = await asyncpg.connect(fresh_database)
        sealed = json.loads(await conn.fetchval(
            "SELECT payload FROM events WHERE tenant = 'brand' AND stream = 'agent-A1'"
            " AND name = 'AgentJoined'"))["personal"]
        await conn.close()
        assert unseal(key, "brand", "A1", sealed).id_number == person["id_number"]
        old_wrapped = await pool.fetchval("SELECT wrapped FROM personal_data_keys"
                                          " WHERE tenant = 'brand' AND subject = 'agent:A1'")
    finally:
        await pool.close()

    rotated = await cli("keys", "rotate-kek")
    assert "re-wrapped" in rotated and "KEK" in rotated
    assert not kek_file.exists()  # the old KEK is gone: so is what it wrapped in `before`
    after = await dump(fresh_database)
    assert revealed(after) == []
    assert await attack(fresh_database, "brand", "A1", person["id_number"]) == []
    for kek in KekFiles(keys).load().values():  # the wrapped key `before` holds
        with pytest.raises(KekError):
            kek.unwrap("brand", subject("A1"), old_wrapped)
    # The ledger still reads the person under the new KEK, no event touched.
    conn = await asyncpg.connect(fresh_database)
    try:
        assert (await verify_chain(conn, "brand")).intact
    finally:
        await conn.close()
    pool = await create_pool(fresh_database, app_role="weiledger_app", size=2)
    try:
        vault = await PostgresKeyVault.open(pool, KekFiles(keys))
        assert unseal(await vault.get("brand", subject("A1")), "brand", "A1",
                      sealed).id_number == person["id_number"]
    finally:
        await pool.close()


async def test_keys_stored_unwrapped_before_the_kek_are_wrapped_at_the_first_start(
    fresh_database, tmp_path
):
    env = {"WEILEDGER_KEK": "", "WEILEDGER_KEYS_DIR": str(tmp_path / "keys")}
    done = await asyncio.to_thread(run_cli, "import", str(JOINS), "--tenant", "brand",
                                   "--no-progress", database=fresh_database, env=env)
    assert done.returncode == 0, done.stderr
    pool = await create_pool(fresh_database, app_role="weiledger_app", size=2)
    try:
        key = await (await PostgresKeyVault.open(pool, KekFiles(tmp_path / "keys"))).get(
            "brand", subject("A1"))
    finally:
        await pool.close()
    conn = await asyncpg.connect(fresh_database)
    try:  # the row as migration 002 kept it
        await conn.execute("UPDATE personal_data_keys SET key = $1, wrapped = NULL, kek = NULL"
                           " WHERE tenant = 'brand' AND subject = 'agent:A1'", key)
        assert await attack(fresh_database, "brand", "A1") == ["110101198001011005"]
        started = await asyncio.to_thread(run_cli, "projections", "catch-up",
                                          database=fresh_database, env=env)
        assert started.returncode == 0, started.stderr
        assert "wrapped 1 personal data key(s)" in started.stderr
        assert await conn.fetchval("SELECT count(*) FROM personal_data_keys"
                                   " WHERE key IS NOT NULL") == 0
    finally:
        await conn.close()
    assert await attack(fresh_database, "brand", "A1") == []
