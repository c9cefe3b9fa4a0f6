"""What the service runs beside the requests: the projection runner (so reads are
fresh) and the compliance watchers (so alerts are raised), for the service's tenant.

Each runs under a supervisor: an unexpected error is logged and the loop starts again
after a pause, instead of leaving the service up with stale reads and no alerts. A
projection that fails on an event halts itself (projection_failures) and never skips.

One process of all those serving a tenant runs them: the one holding the tenant's
background lock (a PostgreSQL session advisory lock). Every process tries for it, so
when the holder stops or loses its connection another takes over within
LEAD_RETRY_SECONDS. The lock only saves work: the runner is exactly-once under its own
locks and racing watchers raise each alert once, so two leaders for a moment (one not
yet aware its connection is gone) are harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import asyncpg

from eventstore.errors import UNAVAILABLE, DatabaseUnavailable, cancelled_meanwhile, translate
from eventstore.postgres import Conn, PostgresEventStore
from projections.registry import all_projections
from projections.runner import ProjectionRunner
from projections.watchers import Watchers

log = logging.getLogger(__name__)
RESTART_PAUSE = 2.0
# Seconds at least between two catch-up rounds while commands keep coming. Both run in
# the requests' event loop and a round costs round trips whatever it carries (six
# projections: a transaction, a lock, checkpoint, head and a read each); paced, they
# take larger batches less often. Reads stay fresh within about this, and
# min_position (read-your-writes) waits for it.
PACE = 0.1
LEAD_RETRY_SECONDS = 2.0  # how often a process not leading tries for the lock again
LEAD_CHECK_SECONDS = 2.0  # how often the leader checks that it still holds it


async def _supervise(name: str, run: Callable[[], Awaitable[None]]) -> None:
    """Run `run` again after it fails. A database that is gone is said once (a line,
    no traceback) however long it stays away; `run` starts again every RESTART_PAUSE
    and resumes from what the database holds (checkpoints, tracking positions)."""
    away = False
    while True:
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if cancelled_meanwhile():
                raise asyncio.CancelledError from error
            lost = translate(error)
            if isinstance(lost, DatabaseUnavailable):
                if not away:
                    log.warning("%s: database unavailable (%s); retrying every %s s",
                                name, lost.reason, RESTART_PAUSE)
                away = True
            else:
                log.exception("%s stopped; restarting in %s s", name, RESTART_PAUSE)
            await asyncio.sleep(RESTART_PAUSE)


class Background:
    def __init__(self, pool: asyncpg.Pool, store: PostgresEventStore, tenant: str, *,
                 retry: float = LEAD_RETRY_SECONDS) -> None:
        self.runner = ProjectionRunner(pool, store, all_projections(), tenant=tenant)
        self.pool = pool
        self.store = store
        self.tenant = tenant
        self.retry = retry
        self.leading = False
        # While leading, the watcher at work: a new one replays the whole log at each
        # start (its Monitor lives in memory), so how far it has got is worth showing.
        self.watchers: Watchers | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.runner.ensure()  # read-model schemas exist before the first request
        self.task = asyncio.create_task(self._contend())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def _contend(self) -> None:
        said = False  # a database away is said once, not at every try
        while True:
            try:
                async with self.pool.acquire() as conn:
                    if await conn.fetchval(_TRY_LOCK, _lock_name(self.tenant)):
                        said = False
                        try:
                            await self._lead(conn)
                        finally:
                            await _unlock(conn)
            except _CONNECTION_LOST as error:
                if cancelled_meanwhile():
                    raise asyncio.CancelledError from error
                if not said:
                    log.warning("background of %s: %r; trying for the lock again every"
                                " %s s", self.tenant, error, self.retry)
                said = True
            await asyncio.sleep(self.retry)

    async def _lead(self, conn: Conn) -> None:
        """Run the runner and the watchers until the lock's connection fails."""
        tasks = [
            asyncio.create_task(
                _supervise("projections", lambda: self.runner.run_forever(PACE))
            ),
            asyncio.create_task(_supervise("watchers", self._watch)),
        ]
        self.leading = True
        try:
            while True:
                await asyncio.sleep(LEAD_CHECK_SECONDS)
                await conn.fetchval("SELECT 1")  # raises once the session (and lock) is gone
        finally:
            self.leading = False
            self.watchers = None
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _watch(self) -> None:
        # A fresh watcher at each start: one that failed midway may hold a Monitor ahead
        # of what it recorded.
        self.watchers = Watchers(self.store, self.tenant)
        await self.watchers.follow(pace=PACE)


_TRY_LOCK = "SELECT pg_try_advisory_lock(hashtextextended($1, 0))"
_CONNECTION_LOST: tuple[type[BaseException], ...] = (
    *UNAVAILABLE, DatabaseUnavailable, asyncpg.PostgresError)


def _lock_name(tenant: str) -> str:
    return f"weiledger background {tenant}"


async def _unlock(conn: Conn) -> None:
    """Before the connection goes back to the pool, whose release keeps session state
    (eventstore.database._keep_session): a lock left on it would block every other process."""
    with contextlib.suppress(*_CONNECTION_LOST):
        await conn.execute("SELECT pg_advisory_unlock_all()")
