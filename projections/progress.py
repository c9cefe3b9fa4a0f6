"""How far each read model has got: the position of its checkpoint (the runner's table
rm_<name>.checkpoint), for read-your-writes and for the export's manifest."""

from __future__ import annotations

from eventstore.database import Reader


async def exists(db: Reader, table: str) -> bool:
    """Whether a read model's table is there (a service may not have built it yet)."""
    return bool(await db.fetchval("SELECT to_regclass($1) IS NOT NULL", table))


async def position(db: Reader, name: str, tenant: str) -> int | None:
    """The last position read model `name` applied for `tenant` (None: not yet begun)."""
    value: int | None = await db.fetchval(
        f"SELECT position FROM rm_{name}.checkpoint WHERE tenant = $1", tenant
    )
    return value
