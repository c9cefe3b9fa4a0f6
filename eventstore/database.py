"""Where PostgreSQL comes from (embedded or DATABASE_URL), and the service's pool."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from config.settings import Settings
from eventstore.embedded import EmbeddedServer
from eventstore.errors import UNAVAILABLE, DatabaseUnavailable, reason
from eventstore.migrate import migrate

log = logging.getLogger(__name__)
CONNECT_SECONDS = 10.0  # a server that does not answer a connection in this is down
FIRST_RETRY_SECONDS = 0.25  # waiting for the database: the first pause, doubled each
MAX_RETRY_SECONDS = 2.0  # time up to this, so it is found within this once it is up
# Opening a connection: every failure means "not reachable, or refusing us" (a server
# starting or stopping, a wrong password, a database not created yet).
CONNECT_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)

# The driver's types under the names the rest of the service uses, so that only the
# store and the projections import asyncpg (an import-linter contract).
Pool: TypeAlias = asyncpg.Pool
Conn: TypeAlias = asyncpg.Connection | PoolConnectionProxy  # ours, or one the pool lent
Reader: TypeAlias = Pool | Conn  # anything that runs a query
Row: TypeAlias = asyncpg.Record


def start_embedded(data_dir: Path) -> EmbeddedServer:
    """Start (or reuse) the embedded PostgreSQL kept in data_dir/pg, held by a keeper
    process that stops it when told (.cleanup()) or when this process dies: relying on
    an atexit hook is not enough, uvicorn re-raises SIGTERM after a graceful shutdown,
    and a process ended by a signal runs no atexit hooks. Call it from a thread that
    lives as long as the server is needed (eventstore/embedded.py says why)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return EmbeddedServer(data_dir.resolve() / "pg")


def embedded_url(data_dir: Path) -> str:
    """For short scripts: the server stops when the script exits."""
    return start_embedded(data_dir).stop_at_exit().get_uri()


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


@asynccontextmanager
async def _postgres_url_async(settings: Settings) -> AsyncIterator[str]:
    """postgres_url without blocking the event loop while the embedded server starts."""
    if settings.database_url:
        yield settings.database_url
        return
    server = start_embedded(settings.data_dir)  # this thread: see start_embedded
    try:
        yield await asyncio.to_thread(server.get_uri)
    finally:
        await asyncio.to_thread(server.cleanup)


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


CLOSE_SECONDS = 3.0  # within the 10 s a stop may take (cli/serving.py)


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


async def _migrate_and_pool(settings: Settings, url: str) -> asyncpg.Pool:
    where = settings.describe_database()
    from eventstore.kek import kek_files
    from eventstore.vault import wrap_legacy_keys

    async with connection(url, where) as conn:
        try:
            await migrate(conn)
        except UNAVAILABLE as error:
            raise DatabaseUnavailable(reason(error), where) from error
        # A database from before migration 010 holds personal-data keys unwrapped:
        # they are wrapped now, before anything reads them (nothing to do otherwise).
        wrapped = await wrap_legacy_keys(conn, kek_files(settings))
        if wrapped:
            log.warning("wrapped %s personal data key(s) stored unwrapped with the KEK",
                        wrapped)
    try:
        return await create_pool(url, app_role=settings.app_role, size=settings.pool_size)
    except CONNECT_ERRORS as error:
        raise DatabaseUnavailable(reason(error), where) from error


async def _until_available(settings: Settings, url: str) -> asyncpg.Pool:
    """_migrate_and_pool, again with back-off until the database answers; said once in
    the log (not once per attempt), and again when it came."""
    delay, began = FIRST_RETRY_SECONDS, time.monotonic()
    told = False
    while True:
        try:
            pool = await _migrate_and_pool(settings, url)
        except DatabaseUnavailable as error:
            if not told:
                log.warning("database unavailable (%s); waiting for it, trying again every"
                            " %s s at most", error, MAX_RETRY_SECONDS)
                told = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_SECONDS)
            continue
        if told:
            log.warning("database %s reached after %.1f s", settings.describe_database(),
                        time.monotonic() - began)
        return pool


@asynccontextmanager
async def open_database(settings: Settings, *, wait: bool = False
                        ) -> AsyncIterator[asyncpg.Pool]:
    """Migrate, then yield the service's pool; stop an embedded server on the way out.
    DatabaseUnavailable if it cannot be reached or refuses us; with `wait`, try again
    with back-off until it can (the service: it starts before its database does)."""
    async with _postgres_url_async(settings) as url:
        if wait:
            pool = await _until_available(settings, url)
        else:
            pool = await _migrate_and_pool(settings, url)
        try:
            yield pool
        finally:
            await close_pool(pool)


async def server_version(db: Reader) -> str:
    """The PostgreSQL server's version, for /health."""
    version: str = await db.fetchval("SHOW server_version")
    return version


@asynccontextmanager
async def connection(url: str, where: str) -> AsyncIterator[asyncpg.Connection]:
    """One connection of its own, outside any pool (migrations, chain verification);
    DatabaseUnavailable, naming `where` (Settings.describe_database: never the
    password), if the server cannot be reached or refuses it."""
    try:
        conn = await asyncpg.connect(url, timeout=CONNECT_SECONDS)
    except CONNECT_ERRORS as error:
        raise DatabaseUnavailable(reason(error), where) from error
    try:
        yield conn
    finally:
        await conn.close()
