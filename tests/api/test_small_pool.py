"""The service on the smallest pool it accepts: the background's three connections held
for good, and still every request, the writer and the projections move."""

from __future__ import annotations

import asyncio

from config.settings import MIN_POOL_SIZE
from tests.api.conftest import running_api
from tests.api.test_idempotency import _setup, sell_until_recorded
from tests.support import eventually

SALES = 30


async def test_the_smallest_pool_serves_concurrent_sales_and_keeps_reads_fresh(
    database_url: str, tenant: str
) -> None:
    async with running_api(database_url, tenant, pool_size=MIN_POOL_SIZE) as api:
        await _setup(api)  # A1 holds 50 units of TEA-01
        # the background (the three held connections) is running
        await eventually(lambda: api.app.state.background.leading, "the background leading")

        async with asyncio.timeout(60):
            last = max(await asyncio.gather(
                *(sell_until_recorded(api, n, []) for n in range(SALES))))
            stock = await api.call("GET", "/v1/me/stock", "agent",
                                   params={"min_position": last})
        assert stock.status_code == 200, stock.text
        assert stock.json()["units"] == {"TEA-01": 50 - SALES}
