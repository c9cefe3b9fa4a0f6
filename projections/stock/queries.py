"""Reads of the stock read model (rm_stock)."""

from __future__ import annotations

from eventstore.database import Reader


async def stock_of(db: Reader, tenant: str, agent: str) -> dict[str, int]:
    """Units on hand per SKU (SKUs once held and now at zero included)."""
    rows = await db.fetch(
        "SELECT sku, units FROM rm_stock.on_hand WHERE tenant = $1 AND agent = $2 ORDER BY sku",
        tenant, agent,
    )
    return {r["sku"]: r["units"] for r in rows}
