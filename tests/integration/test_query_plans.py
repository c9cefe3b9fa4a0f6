"""The store's hot reads keep their index plans on a log that was never analysed.

asyncpg prepares every statement and PostgreSQL keeps a generic plan after five runs;
a plan made while `events` was nearly empty stays in use while the log grows (nothing
re-plans it until the table is analysed, and the machine's PostgreSQL runs without
autovacuum). So the plan asserted here is the generic one, on a fresh database.
"""

from __future__ import annotations

import asyncpg

from eventstore.postgres import READ_STREAMS


async def generic_plan(url: str, sql: str, types: str, args: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        await conn.execute(f"PREPARE q({types}) AS {sql}")
        rows = await conn.fetch(f"EXPLAIN EXECUTE q({args})")
        return "\n".join(row[0] for row in rows)
    finally:
        await conn.close()


async def test_reading_a_commands_streams_looks_each_stream_up_by_its_index(fresh_database):
    plan = await generic_plan(fresh_database, READ_STREAMS, "text, text[], bigint[]",
                              "'t', '{agent-A1,stock-A1}', '{0,7}'")
    # Each stream is one index range scan: never the tenant's whole log filtered
    # against the list of streams (a Join Filter), which grows with every event.
    assert "Join Filter" not in plan, plan
    assert "Index Cond: ((tenant = $1) AND (stream = w.s) AND (version > w.v))" in plan, plan
