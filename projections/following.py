"""Catching up again after every commit: the loop the projection runner and the
watchers both follow the log with."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

POLL_SECONDS = 1.0  # how long a follower waits for a wake-up before looking anyway


@runtime_checkable
class Listening(Protocol):
    """A store that calls back after each committed batch (both stores do): what a
    follower waits on, reading nothing until there is something to read."""

    async def listen(
        self, tenant: str | None, on_commit: Callable[[int], Any]
    ) -> Callable[[], Any]: ...


async def follow(
    store: Listening, tenant: str | None, catch_up: Callable[[], Awaitable[object]], *,
    pace: float = 0.0,
) -> None:
    """Catch up, then again after each batch the tenant (None: any tenant) commits, until
    cancelled: woken over one listening connection for the whole follow, polling as a
    safety net should a wake-up be lost.

    `pace`: seconds at least between two rounds while events keep coming. A round costs
    round trips however little it carries, so under a stream of commands fewer, larger
    rounds leave the database and the event loop to the commands; a lone command is
    still caught up at once."""
    woken = asyncio.Event()
    stop_listening = await store.listen(tenant, lambda _position: woken.set())
    try:
        while True:
            woken.clear()
            await catch_up()
            if pace:
                await asyncio.sleep(pace)
            # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancellation
            # that lands as the event is set, and the service then never stops.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(POLL_SECONDS):
                    await woken.wait()
    finally:
        await stop_listening()
