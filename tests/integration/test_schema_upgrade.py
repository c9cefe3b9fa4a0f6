"""The schema's two kinds of SQL: forward-only migrations (tables, types) and functions,
one file each, applied again when they change. A database that ran the migrations of an
older release upgrades to exactly the schema a fresh one gets, its chain unbroken."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from domain.ports import NewEvent
from eventstore.chain import canonical_json, event_digest
from eventstore.database import create_pool
from eventstore.migrate import FUNCTIONS, MIGRATIONS, functions, migrate
from eventstore.postgres import PostgresEventStore
from eventstore.verify import verify_chain
from tests.conftest import _drop as drop_database
from tests.conftest import run_cli, server_and_database, with_database

AT = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
# What the schema's functions are: their definitions (body, SET clauses), their
# signatures and who may call them.
FUNCTION_DEFINITIONS = """
    SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS arguments,
           pg_get_functiondef(p.oid) AS definition, p.proacl::text AS privileges
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = 'public' ORDER BY 1, 2"""
TYPE_DEFINITIONS = """
    SELECT t.typname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod)
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      JOIN pg_class c ON c.oid = t.typrelid AND c.relkind = 'c'
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
     WHERE n.nspname = 'public' ORDER BY 1, 2"""


@pytest.fixture
async def empty_database() -> AsyncIterator[str]:
    """A database of its own that no migration has touched."""
    admin, _ = server_and_database()
    name = f"wl_empty_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    yield with_database(admin, name)
    await drop_database(admin, name)


async def as_an_older_release_left_it(url: str, tmp_path: Path) -> None:
    """Migrations 001-006 applied by the runner of their time, which knew no function
    files (so no schema_functions table), and one event appended through 006's
    wl_append of twelve parallel arrays."""
    old = tmp_path / "migrations-006"
    old.mkdir()
    for path in sorted(MIGRATIONS.glob("00[1-6]_*.sql")):
        shutil.copy(path, old)
    no_functions = tmp_path / "no-functions"
    no_functions.mkdir()
    conn = await asyncpg.connect(url)
    try:
        assert len(await migrate(conn, old, no_functions)) == 6
        await conn.execute("DROP TABLE schema_functions")
        meta = canonical_json({"actor": "hq"})
        digest = event_digest("brand-a", "agent-1", 1, "Happened", b"{}", meta, AT)
        row = await conn.fetchrow(
            "SELECT * FROM wl_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            "brand-a", [1], ["agent-1"], [1], ["Happened"], [b"{}"], [meta.decode()], [AT],
            [digest], ["key-1"], [None], [None],
        )
        assert (row["outcome"], row["first_position"]) == ("ok", 1)
    finally:
        await conn.close()


async def schema_of(url: str) -> tuple[list[tuple[object, ...]], ...]:
    conn = await asyncpg.connect(url)
    try:
        return (
            [tuple(r) for r in await conn.fetch(FUNCTION_DEFINITIONS)],
            [tuple(r) for r in await conn.fetch(TYPE_DEFINITIONS)],
            [tuple(r) for r in await conn.fetch(
                "SELECT version, name, checksum FROM schema_migrations ORDER BY 1")],
            [tuple(r) for r in await conn.fetch(
                "SELECT name, checksum FROM schema_functions ORDER BY 1")],
        )
    finally:
        await conn.close()


async def test_a_database_of_migration_006_upgrades_to_the_schema_of_a_fresh_one(
    empty_database, fresh_database, tmp_path
):
    await as_an_older_release_left_it(empty_database, tmp_path)

    upgrade = await asyncio.to_thread(run_cli, "db", "migrate", database=empty_database)
    assert upgrade.returncode == 0, upgrade.stderr
    applied = [m.name for m in sorted(MIGRATIONS.glob("*.sql")) if m.name >= "007"]
    applied += [f"functions/{f.name}" for f in functions()]
    assert upgrade.stdout.strip() == "applied: " + ", ".join(applied)

    upgraded, fresh = await schema_of(empty_database), await schema_of(fresh_database)
    assert upgraded == fresh
    signatures = {(name, arguments) for name, arguments, _, _ in fresh[0]}
    assert ("wl_append", "p_tenant text, p_requests wl_append_request[],"
            " p_events wl_new_event[]") in signatures

    # The chain goes on from the event the old function recorded.
    pool = await create_pool(empty_database, app_role="weiledger_app", size=2)
    store = PostgresEventStore(pool)
    try:
        appended = await store.append(
            "brand-a", [NewEvent("agent-1", 2, "Happened", b"{}", AT)], idempotency_key="key-2"
        )
        assert list(appended.positions) == [2]
        assert (await store.recorded("brand-a", "key-1")) is not None
    finally:
        await store.close()
        await pool.close()
    conn = await asyncpg.connect(empty_database)
    try:
        report = await verify_chain(conn)
    finally:
        await conn.close()
    assert (report.events, report.intact) == (2, True)


async def test_every_function_of_the_schema_has_one_file_and_one_signature(pool):
    rows = await pool.fetch(FUNCTION_DEFINITIONS)
    names = [r["proname"] for r in rows]
    assert names == sorted(f.function for f in functions())
    for function in functions():
        assert f"CREATE OR REPLACE FUNCTION {function.function}(" in function.sql


async def test_a_function_file_is_applied_again_when_it_changes_or_its_function_is_gone(
    fresh_database, tmp_path
):
    folder = tmp_path / "functions"
    shutil.copytree(FUNCTIONS, folder)
    conn = await asyncpg.connect(fresh_database)
    try:
        assert await migrate(conn, MIGRATIONS, folder) == []

        edited = folder / "wl_refuse_change.sql"
        edited.write_text(edited.read_text().replace("append-only: %", "append-only (edited): %"))
        assert await migrate(conn, MIGRATIONS, folder) == ["functions/wl_refuse_change.sql"]
        assert await migrate(conn, MIGRATIONS, folder) == []
        definition = await conn.fetchval(
            "SELECT pg_get_functiondef('wl_refuse_change'::regproc)")
        assert "append-only (edited)" in definition

        await conn.execute("DROP FUNCTION wl_extend_chain")
        assert await migrate(conn, MIGRATIONS, folder) == ["functions/wl_extend_chain.sql"]
    finally:
        await conn.close()
