"""What the service runs beside the requests: the projection runner (so reads are
fresh) and the compliance watchers (so alerts are raised), for the service's tenant.

Each runs under a supervisor: an unexpected error is logged and the loop starts again
after a pause, instead of leaving the service up with stale reads and no alerts. A
projection that fails on an event halts itself (projection_failures) and never skips.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import asyncpg

from eventstore.postgres import PostgresEventStore
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
WATCHER_POLL_SECONDS = 1.0  # safety net should a notification be lost


class TenantRunner(ProjectionRunner):
    """The runner for the one tenant this service serves."""

    def __init__(self, pool: asyncpg.Pool, store: PostgresEventStore, tenant: str) -> None:
        super().__init__(pool, store, all_projections())
        self.tenant = tenant

    async def tenants(self) -> list[str]:
        return [self.tenant]


async def _supervise(name: str, run: Callable[[], Awaitable[None]]) -> None:
    while True:
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s stopped; restarting in %s s", name, RESTART_PAUSE)
            await asyncio.sleep(RESTART_PAUSE)


async def _follow_watchers(store: PostgresEventStore, tenant: str) -> None:
    """The watchers' catch-up, woken by committed batches over one listening
    connection, at most once per PACE (Watchers.follow opens a listener per wake)."""
    watchers = Watchers(store, tenant)
    woken = asyncio.Event()
    stop_listening = await store.listen(tenant, lambda _position: woken.set())
    try:
        while True:
            woken.clear()
            await watchers.catch_up()
            await asyncio.sleep(PACE)
            # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancellation that
            # lands as the event is set, and the service then never stops.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(WATCHER_POLL_SECONDS):
                    await woken.wait()
    finally:
        await stop_listening()


class Background:
    def __init__(self, pool: asyncpg.Pool, store: PostgresEventStore, tenant: str) -> None:
        self.runner = TenantRunner(pool, store, tenant)
        self.store = store
        self.tenant = tenant
        self.tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await self.runner.ensure()  # read-model schemas exist before the first request
        self.tasks = [
            asyncio.create_task(
                _supervise("projections", lambda: self.runner.run_forever(PACE))
            ),
            asyncio.create_task(
                _supervise("watchers", lambda: _follow_watchers(self.store, self.tenant))
            ),
        ]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
