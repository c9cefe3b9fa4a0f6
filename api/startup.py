"""Opening the service's database after the app has started answering.

A lifespan that waited for PostgreSQL before it yields would leave uvicorn deaf until
then (no /health, no /ready, no clean stop), and one that gave up would end the
service when its database is merely late. So the lifespan yields at once and a task
opens the database (eventstore.database.open_database, waiting with back-off), migrates,
and builds the services; until it has, /ready answers 503 "waiting for the database"
and every /v1 request 503 database-unavailable (api/deps.py). Stopping cancels the task
wherever it is, then closes what it had opened, last opened first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextlib import AsyncExitStack
from types import TracebackType

from starlette.datastructures import State

from api.deps import Services
from api.tokens import TokenBook
from config.settings import Settings
from domain.handling import SharedAggregateCache
from domain.ledger import Ledger
from eventstore.database import open_database
from eventstore.kek import kek_files
from eventstore.postgres import PostgresEventStore
from eventstore.vault import PostgresKeyVault
from projections.background import Background

log = logging.getLogger(__name__)
WAITING = "waiting for the database"


class Startup:
    """Puts `services`, `pool`, `store` and `background` on the app's state once the
    database is open; `waiting` says why not yet (None when open)."""

    def __init__(self, settings: Settings, state: State, *, background: bool) -> None:
        self.settings = settings
        self.state = state
        self.background = background
        self.waiting: str | None = WAITING
        self.state.services = None
        self._opened = AsyncExitStack()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Startup:
        self._task = asyncio.create_task(self._open(), name="open the database")
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):  # logged in _open
            await self._task
        self.state.services = None
        await self._opened.aclose()

    async def opened(self) -> None:
        """Wait until the services are there (raises what stopped them opening)."""
        assert self._task is not None
        await asyncio.shield(self._task)

    async def _open(self) -> None:
        try:
            await self._build()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            # Not a database that is late (that is waited for), but one we cannot use,
            # e.g. an edited migration: said once, and /ready says it for good.
            log.exception("the service cannot open its database")
            self.waiting = f"cannot open the database: {error}"
            raise

    async def _build(self) -> None:
        settings = self.settings
        pool = await self._opened.enter_async_context(open_database(settings, wait=True))
        store = PostgresEventStore(pool)
        self._opened.push_async_callback(store.close)
        # Requests run concurrently: the shared cache lends each aggregate to one
        # request at a time, and every request reads what was recorded since.
        vault = await PostgresKeyVault.open(pool, kek_files(settings))
        ledger = Ledger(store, vault, SharedAggregateCache())
        workers = Background(pool, store, settings.tenant)
        if self.background:
            await workers.start()
        self._opened.push_async_callback(workers.stop)
        self.state.pool, self.state.store, self.state.background = pool, store, workers
        self.state.services = Services(settings, settings.tenant, pool, store, ledger,
                                       TokenBook(pool, settings.tenant, ledger.agents))
        self.waiting = None
