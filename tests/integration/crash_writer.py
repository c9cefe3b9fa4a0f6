"""A client process for the crash test: 16 writers append and report each acknowledgement.

    python -m tests.integration.crash_writer URL TENANT START COUNT

Writer w appends commands START..START+COUNT-1 of its own stream, each with the
idempotency key "w{w}-{i}", and prints "ACK w{w}-{i} first last" once the append is
acknowledged (after commit). The test kills this process with SIGKILL mid-flight.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime

from domain.ports import NewEvent, VersionConflict
from eventstore.database import create_pool
from eventstore.postgres import PostgresEventStore


async def main(url: str, tenant: str, start: int, count: int) -> None:
    pool = await create_pool(url, app_role="weiledger_app", size=8)
    store = PostgresEventStore(pool)

    async def writer(w: int) -> None:
        for i in range(start, start + count):
            key = f"w{w}-{i}"
            now = datetime.now(UTC)
            # Two streams per append, so a torn append would show as a lone event.
            events = [NewEvent(s, i, "Written", key.encode(), now) for s in (f"w{w}", f"w{w}-copy")]
            try:
                done = await store.append(tenant, events, idempotency_key=key)
            except VersionConflict:
                # Would mean events committed without their key: the test fails on it.
                print(f"CONFLICT {key}", flush=True)
                continue
            print(f"ACK {key} {done.first_position} {done.last_position}", flush=True)

    await asyncio.gather(*(writer(w) for w in range(16)))
    await store.close()
    await pool.close()


if __name__ == "__main__":
    url, tenant, start, count = sys.argv[1:5]
    asyncio.run(main(url, tenant, int(start), int(count)))
