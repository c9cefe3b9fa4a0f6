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
from projections.watchers import follow_watchers

log = logging.getLogger(__name__)
RESTART_PAUSE = 2.0


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


class Background:
    def __init__(self, pool: asyncpg.Pool, store: PostgresEventStore, tenant: str) -> None:
        self.runner = TenantRunner(pool, store, tenant)
        self.store = store
        self.tenant = tenant
        self.tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await self.runner.ensure()  # read-model schemas exist before the first request
        self.tasks = [
            asyncio.create_task(_supervise("projections", self.runner.run_forever)),
            asyncio.create_task(
                _supervise("watchers", lambda: follow_watchers(self.store, self.tenant))
            ),
        ]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
