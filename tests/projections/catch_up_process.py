"""The projection runner as a process of its own, for the SIGKILL test.

    python -m tests.projections.catch_up_process URL

Creates the read-model schemas if missing, catches every projection of the registry up
to the head of every tenant, and prints "APPLIED <positions moved> HALTED <names>".
The test kills it with SIGKILL mid-catch-up and starts it again.
"""

from __future__ import annotations

import asyncio
import sys

from eventstore.database import create_pool
from eventstore.postgres import PostgresEventStore
from projections.registry import all_projections
from projections.runner import ProjectionRunner


async def main(url: str) -> None:
    pool = await create_pool(url, app_role="weiledger_app", size=4)
    store = PostgresEventStore(pool)
    try:
        runner = ProjectionRunner(pool, store, all_projections())
        await runner.ensure()
        moved = await runner.catch_up_all()
        print(f"APPLIED {moved} HALTED {','.join(sorted(runner.halted)) or '-'}", flush=True)
    finally:
        await store.close()
        await pool.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
