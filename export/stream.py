"""The export as a stream of bytes, for an HTTP response (GET /v1/exports).

write_export writes into a Pipe; the response iterates over what it holds. The writer
awaits `Pipe.drain` every few hundred rows, which waits while more than HIGH bytes are
not yet taken, so a slow client holds the writer (and its cursor) back instead of
letting the buffer grow with the ledger.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from eventstore.database import Pool
from eventstore.kek import Kek
from export.writer import write_export

HIGH = 1 << 20  # bytes written and not yet sent before the writer waits


class Pipe(io.RawIOBase):
    def __init__(self) -> None:
        self.buffer = bytearray()
        self.ready = asyncio.Event()  # something to send, or the end
        self.room = asyncio.Event()  # the writer may go on
        self.room.set()
        self.ended = False

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.buffer += data
        self.ready.set()
        if len(self.buffer) >= HIGH:
            self.room.clear()
        return len(data)

    async def drain(self) -> None:
        await self.room.wait()

    def end(self) -> None:
        self.ended = True
        self.ready.set()

    def take(self) -> bytes:
        chunk = bytes(self.buffer)
        self.buffer.clear()
        self.ready.clear()
        self.room.set()
        return chunk


async def stream_export(pool: Pool, tenant: str, key: Ed25519PrivateKey, kek: Kek, *,
                        since: date | None = None,
                        until: date | None = None) -> AsyncIterator[bytes]:
    pipe = Pipe()

    async def produce() -> None:
        try:
            async with pool.acquire() as conn:
                await write_export(conn, tenant, pipe, key, kek, since=since, until=until,
                                   drain=pipe.drain)
        finally:
            pipe.end()

    task = asyncio.get_running_loop().create_task(produce())
    try:
        while True:
            await pipe.ready.wait()
            chunk = pipe.take()
            if chunk:
                yield chunk
            elif pipe.ended:
                break
        await task  # the writer's error, if any, ends the response with it
    finally:
        if not task.done():  # the client went away: stop reading the cursors
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
