"""Remembered refusals on PostgreSQL: table refusals (eventstore/sql/migrations/008)."""

from __future__ import annotations

import json
from datetime import datetime

import asyncpg

from domain.ports import RememberedRefusal
from eventstore.database import Reader

_COLUMNS = ("key, command, rule, numbers, actor, agent, business_time, request_id, id,"
            " recorded_at, head_position")

# The first refusal of a key stays; a key that recorded events is an acceptance and is
# never remembered as refused (the acceptance answers a repeat: domain/handling.py).
_REMEMBER = f"""
WITH kept AS (
    INSERT INTO refusals (tenant, key, command, rule, numbers, actor, agent, business_time,
                          request_id, head_position)
    SELECT $1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9,
           coalesce((SELECT position FROM chain_heads WHERE tenant = $1), 0)
     WHERE NOT EXISTS (SELECT 1 FROM idempotency_keys WHERE tenant = $1 AND key = $2)
    ON CONFLICT (tenant, key) DO NOTHING
    RETURNING {_COLUMNS}
)
SELECT {_COLUMNS} FROM kept
UNION ALL
SELECT {_COLUMNS} FROM refusals WHERE tenant = $1 AND key = $2
"""

_READ = f"""
SELECT {_COLUMNS} FROM refusals
 WHERE tenant = $1 AND id > $2
   AND ($3::bigint IS NULL OR head_position > $3)
   AND ($4::bigint IS NULL OR head_position <= $4)
   AND ($5::text IS NULL OR rule = $5)
   AND ($6::text IS NULL OR agent = $6)
   AND ($7::timestamptz IS NULL OR recorded_at >= $7)
   AND ($8::timestamptz IS NULL OR recorded_at < $8)
 ORDER BY id LIMIT $9
"""


def from_row(row: asyncpg.Record) -> RememberedRefusal:
    return RememberedRefusal(
        key=row["key"], command=row["command"], rule=row["rule"],
        numbers=json.loads(row["numbers"]), actor=row["actor"], agent=row["agent"],
        business_time=row["business_time"], request_id=row["request_id"], id=row["id"],
        recorded_at=row["recorded_at"], head_position=row["head_position"],
    )


async def remember(pool: asyncpg.Pool, tenant: str, r: RememberedRefusal) -> RememberedRefusal:
    rows = await pool.fetch(
        _REMEMBER, tenant, r.key, r.command, r.rule, json.dumps(dict(r.numbers)), r.actor,
        r.agent, r.business_time, r.request_id,
    )
    # No row: the key recorded events meanwhile; it answers as that acceptance.
    return from_row(rows[0]) if rows else r


async def find(pool: asyncpg.Pool, tenant: str, key: str) -> RememberedRefusal | None:
    row = await pool.fetchrow(f"SELECT {_COLUMNS} FROM refusals WHERE tenant = $1 AND key = $2",
                              tenant, key)
    return None if row is None else from_row(row)


async def read(
    pool: Reader, tenant: str, *, after_id: int, after_position: int | None,
    upto_position: int | None, rule: str | None, agent: str | None, since: datetime | None,
    until: datetime | None, limit: int,
) -> list[RememberedRefusal]:
    rows = await pool.fetch(_READ, tenant, after_id, after_position, upto_position, rule, agent,
                            since, until, limit)
    return [from_row(r) for r in rows]
