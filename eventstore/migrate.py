"""The schema: forward-only numbered migrations, then the SQL functions, one file each,
applied in one transaction under an advisory lock.

Tables are history: each applied migration is recorded with its sha256, and a file edited
after it was applied is refused rather than silently diverging from the databases that
ran the old text. Functions are definitions, as Message DB installs its own: each file of
sql/functions/ (CREATE OR REPLACE, named after the function it defines) is applied again
whenever its sha256 changes, or when its function is gone (a migration that drops a type
drops the functions that take it), so a database always runs the functions of its code.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import asyncpg

SQL = Path(__file__).parent / "sql"
MIGRATIONS = SQL / "migrations"
FUNCTIONS = SQL / "functions"
# An arbitrary constant: every weiledger process agrees on it, nothing else uses it.
LOCK_KEY = 0x7765696C6564  # "weiled"


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True)
class Function:
    """One file of sql/functions/: `name` is the file's, the function's plus `.sql`."""

    name: str
    sql: str

    @property
    def function(self) -> str:
        return self.name.removesuffix(".sql")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available(folder: Path = MIGRATIONS) -> list[Migration]:
    found = []
    for path in sorted(folder.glob("*.sql")):
        number, _, _ = path.name.partition("_")
        found.append(Migration(int(number), path.name, path.read_text(encoding="utf-8")))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migrations share a number in {folder}")
    return found


def functions(folder: Path = FUNCTIONS) -> list[Function]:
    return [Function(p.name, p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.sql"))]


async def migrate(
    conn: asyncpg.Connection, folder: Path = MIGRATIONS, function_folder: Path = FUNCTIONS
) -> list[str]:
    """Apply the missing migrations, then the function files that changed; return what
    was applied now (migrations by name, functions as `functions/<file>`)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)
        applied_now = await _apply_migrations(conn, folder)
        applied_now += await _apply_functions(conn, function_folder)
    return applied_now


async def _apply_migrations(conn: asyncpg.Connection, folder: Path) -> list[str]:
    await conn.execute(
        """CREATE TABLE IF NOT EXISTS schema_migrations (
               version integer PRIMARY KEY,
               name text NOT NULL,
               checksum text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now())"""
    )
    rows = await conn.fetch("SELECT version, name, checksum FROM schema_migrations")
    done = {r["version"]: r for r in rows}
    applied_now: list[str] = []
    for migration in available(folder):
        row = done.get(migration.version)
        if row is not None:
            if row["checksum"] != migration.checksum:
                raise MigrationError(
                    f"migration {migration.name} was edited after it was applied "
                    f"(recorded sha256 {row['checksum'][:12]}…, file now "
                    f"{migration.checksum[:12]}…); add a new migration instead"
                )
            continue
        await conn.execute(migration.sql)
        await conn.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            migration.version,
            migration.name,
            migration.checksum,
        )
        applied_now.append(migration.name)
    return applied_now


async def _apply_functions(conn: asyncpg.Connection, folder: Path) -> list[str]:
    await conn.execute(
        """CREATE TABLE IF NOT EXISTS schema_functions (
               name text PRIMARY KEY,
               checksum text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now())"""
    )
    recorded: dict[str, str] = {
        r["name"]: r["checksum"]
        for r in await conn.fetch("SELECT name, checksum FROM schema_functions")
    }
    present = {
        r["proname"]
        for r in await conn.fetch(
            "SELECT proname FROM pg_proc"
            " WHERE pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())"
        )
    }
    applied_now: list[str] = []
    for function in functions(folder):
        if recorded.get(function.name) == function.checksum and function.function in present:
            continue
        await conn.execute(function.sql)
        await conn.execute(
            "INSERT INTO schema_functions (name, checksum) VALUES ($1, $2)"
            " ON CONFLICT (name) DO UPDATE SET checksum = excluded.checksum, applied_at = now()",
            function.name,
            function.checksum,
        )
        applied_now.append(f"functions/{function.name}")
    return applied_now
