"""Closing one period for many agents and sales: the time of `close_period`.

    python -m bench.settlement [--agents 100000] [--sales 1000000] [--database-url URL]

Writes, into a fresh database, the events a close reads (AgentJoined for every agent in
three levels, RetailSaleRecorded spread over January 2026 in CST, a few returns), made
by the domain's own aggregates and Codec, then times the real SettlementService closing
2026-01 through the store: reading and decoding the log, the pure settlement maths, and
appending PeriodClosed with one StatementIssued per agent. Prints figures, asserts none.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from config.runtime import serving_gc, tune_gc
from domain.agents.model import Agent
from domain.events import Codec, create, streams, trigger
from domain.handling import Context
from domain.orders.sales import Sale
from domain.periods import CST
from domain.ports import NewEvent
from domain.settlement.service import ClosePeriod, SettlementService
from eventstore.database import close_pool, create_pool, embedded_url
from eventstore.migrate import migrate
from eventstore.postgres import PostgresEventStore

START = datetime(2026, 1, 1, 8, 0, tzinfo=CST)
TIERS = ("partner", "general", "first")
TENANT = "bench"


def events(agents: int, sales: int, seed: int = 3) -> Iterator[NewEvent]:
    rng, codec, meta = random.Random(seed), Codec(), {"actor": "bench"}
    made: list[Agent] = []
    for n in range(1, agents + 1):
        sponsor = rng.choice(made[: max(1, n // 10)]) if made and n % 25 else None
        depth = 1 if sponsor is None or sponsor.depth == 3 else sponsor.depth + 1
        sponsor = sponsor if depth > 1 else None
        name = f"A{n}"
        agent = create(Agent, Agent.Joined, streams.agent(name), START, agent=name,
                       sponsor=sponsor.agent if sponsor else None, tier=TIERS[depth - 1],
                       depth=depth, personal="")  # fmt: skip
        made.append(agent)
        yield from (codec.encode(streams.agent(name), e, meta) for e in agent.collect_events())
    step = timedelta(days=30) / sales
    for i in range(sales):
        at = START + step * i
        seller = made[rng.randrange(agents)].agent
        qty = rng.randint(1, 4)
        lines = [{"sku": "TEA-01", "qty": qty, "unit_price": 9900}]
        sale = create(Sale, Sale.Recorded, streams.sale(f"S{i}"), at, sale=f"S{i}",
                      seller=seller, customer=None, lines=lines, amount=qty * 9900)  # fmt: skip
        if i % 50 == 0:  # a return inside the window: shrinks the sale before it is paid
            trigger(sale, Sale.Returned, at + timedelta(hours=5),
                    lines=[{"sku": "TEA-01", "qty": 1, "unit_price": 9900}], amount=9900,
                    reason=None, hq_approved=False, within_window=True)  # fmt: skip
        yield from (codec.encode(streams.sale(f"S{i}"), e, meta) for e in sale.collect_events())


async def run(admin: str, agents: int, sales: int) -> None:
    name = f"wl_bench_close_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    url = urlunsplit(urlsplit(admin)._replace(path="/" + name))
    try:
        conn = await asyncpg.connect(url)
        await migrate(conn)
        await conn.close()
        pool = await create_pool(url, app_role="weiledger_app", size=4)
        store = PostgresEventStore(pool)
        started, batch, written = time.perf_counter(), [], 0
        for event in events(agents, sales):
            batch.append(event)
            if len(batch) == 5000:
                written += len((await store.append(TENANT, batch)).positions)
                batch = []
        written += len((await store.append(TENANT, batch)).positions)
        print(f"wrote {written:,} events ({agents:,} agents, {sales:,} sales)"
              f" in {time.perf_counter() - started:.1f} s")
        close = ClosePeriod(datetime(2026, 2, 1, tzinfo=CST), "2026-01")
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.perf_counter()
        done = await SettlementService(store).close_period(Context(TENANT, "bench"), close)
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        statements = await pool.fetchval(
            "SELECT count(*) FROM events WHERE tenant = $1 AND name = 'StatementIssued'", TENANT
        )
        print(f"close_period 2026-01: {seconds:.1f} s (goal: under 60 s); {statements:,}"
              f" statements in positions {done.first_position:,}..{done.last_position:,};"
              f" peak RSS {peak:.0f} MB (before the close {before:.0f} MB)")
        await store.close()
        await close_pool(pool)
    finally:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


def main() -> None:
    tune_gc()  # as every weiledger process does (cli/app.py)
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=100_000)
    parser.add_argument("--sales", type=int, default=1_000_000)
    parser.add_argument("--database-url")
    parser.add_argument("--serving-gc", action="store_true",
                        help="collect as `weiledger serve` does (a close asked of the service)")
    args = parser.parse_args()
    if args.serving_gc:
        serving_gc()
    admin = args.database_url or embedded_url(Path(".data/bench"))
    asyncio.run(run(admin, args.agents, args.sales))


if __name__ == "__main__":
    main()
