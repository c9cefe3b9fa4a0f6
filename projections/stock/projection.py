"""Units on hand per agent and SKU.

In: StockPurchased (bought from HQ or the upline) and StockReturned (a customer's return
goes back to the seller's stock). Out: StockShipped (sold on to the downline),
StockSoldAtRetail, BuybackCompleted (HQ took unsold units back). Every event sits in its
agent's stream "stock-<agent>". A batch is folded into one delta per (agent, SKU) and
written with one upsert, so catch-up costs one round trip per batch, not per event.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import asyncpg

from domain.events import Codec
from domain.ports import RecordedEvent
from projections.runner import Projection

STOCK_STREAM = "stock-"
SIGN = {
    "StockPurchased": 1,
    "StockReturned": 1,
    "StockShipped": -1,
    "StockSoldAtRetail": -1,
    "BuybackCompleted": -1,
}


def agent_of(stream: str) -> str:
    if not stream.startswith(STOCK_STREAM):
        raise ValueError(f"stream {stream!r} is not a stock stream")
    return stream[len(STOCK_STREAM):]


class StockProjection(Projection):
    name = "stock"
    version = 1
    reads = tuple(SIGN)
    ddl = """
    CREATE TABLE {s}.on_hand (
        tenant text   NOT NULL,
        agent  text   NOT NULL,
        sku    text   NOT NULL,
        units  bigint NOT NULL,
        PRIMARY KEY (tenant, agent, sku)
    );
    """

    def __init__(self) -> None:
        self.codec = Codec()

    async def apply(
        self, conn: asyncpg.Connection, s: str, tenant: str, events: Sequence[RecordedEvent]
    ) -> None:
        delta: Counter[tuple[str, str]] = Counter()
        for e in events:
            agent, sign = agent_of(e.stream), SIGN[e.name]
            for line in self.codec.decode(e).lines:
                delta[agent, line["sku"]] += sign * line["qty"]
        # Zero deltas still write a row: a SKU once held reads 0, not "never held".
        keys = sorted(delta)
        below = await conn.fetch(
            f"WITH up AS (INSERT INTO {s}.on_hand (tenant, agent, sku, units)"
            " SELECT $1, d.agent, d.sku, d.units"
            " FROM unnest($2::text[], $3::text[], $4::bigint[]) AS d(agent, sku, units)"
            " ON CONFLICT (tenant, agent, sku)"
            " DO UPDATE SET units = on_hand.units + EXCLUDED.units"
            " RETURNING agent, sku, units)"
            " SELECT agent, sku, units FROM up WHERE units < 0",
            tenant,
            [a for a, _ in keys],
            [k for _, k in keys],
            [delta[k] for k in keys],
        )
        # Checked here, not by a CHECK constraint: PostgreSQL checks the row proposed for
        # insertion (the bare delta, often negative) before it sees the conflict.
        if below:
            raise ValueError(f"stock would go below zero by position {events[-1].position}:"
                             f" {[tuple(r.values()) for r in below[:5]]}")
