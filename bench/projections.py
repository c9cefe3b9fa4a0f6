"""Projection catch-up and as-of tree queries, at scale.

    python -m bench.projections [--database-url URL] [--events 1000000]
                                    [--agents 100000] [--queries 50] [--limit-seconds 900]

One fresh database on the given server (default: the embedded one in .data/bench),
dropped at the end. It is filled with a synthetic, valid history (bench.history:
the domain's own aggregates and Codec, appended through PostgresEventStore in batches),
then:

1. catch-up: every projection of the registry, from an empty read model to the head,
   with the service's runner (ProjectionRunner.catch_up per projection, one after the
   other, as catch_up_all does), on the service's role; events/s = head / wall time;
2. the same again as concurrent rebuilds (ProjectionRunner.rebuild of every projection
   at once), which overlaps the decoding in Python with PostgreSQL's writes;
3. as-of tree queries (queries.tree_as_of for one agent's downline, as of a random
   past position and a random past business time): the agent with the largest downline,
   and a sample of agents with at least one recruit; median, p95 and max.

Goals (issue 4): catch-up >= 20,000 events/s; a downline query < 50 ms. Figures are
printed, never asserted. Each phase is bounded by --limit-seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bench.history import History, write
from config.runtime import tune_gc
from eventstore.database import create_pool
from eventstore.migrate import migrate
from eventstore.postgres import PostgresEventStore
from projections.registry import all_projections
from projections.runner import ProjectionRunner
from projections.tree import queries

TENANT = "bench"
APP_ROLE = "weiledger_app"
T = TypeVar("T")


@contextmanager
def server(database_url: str | None) -> Iterator[str]:
    if database_url:
        yield database_url
        return
    from eventstore.database import start_embedded

    embedded = start_embedded(Path(".data/bench"))
    try:
        yield embedded.get_uri()
    finally:
        embedded.cleanup()


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


async def admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def bounded(what: str, work: Awaitable[T], seconds: float) -> T:
    try:
        return await asyncio.wait_for(work, seconds)
    except TimeoutError:
        raise SystemExit(f"{what}: abandoned after {seconds:.0f} s") from None


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (f"median {statistics.median(ordered) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms,"
            f" max {ordered[-1] * 1000:.1f} ms")


async def catch_up(pool: asyncpg.Pool, store: PostgresEventStore, head: int, limit: float) -> None:
    runner = ProjectionRunner(pool, store, all_projections())
    await runner.ensure()
    # catch_up_all, one projection at a time, so each one's share shows.
    each: dict[str, float] = {}
    for p in runner.projections:
        started = time.perf_counter()
        await bounded(f"catch-up of {p.name}", runner.catch_up(p), limit)
        each[p.name] = time.perf_counter() - started
    took = sum(each.values())
    shares = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in each.items())
    print(f"catch-up, one after the other: {head:,} events in {took:.1f} s"
          f" = {head / took:,.0f} events/s ({shares})")

    started = time.perf_counter()
    await bounded("rebuild", asyncio.gather(*(runner.rebuild(p.name) for p in runner.projections)),
                  limit)
    took = time.perf_counter() - started
    print(f"rebuild of every projection at once: {head:,} events in {took:.1f} s"
          f" = {head / took:,.0f} events/s")


async def tree_queries(pool: asyncpg.Pool, head: int, samples: int, seed: int) -> None:
    rng = random.Random(seed)
    agents = await pool.fetchval(
        "SELECT count(*) FROM rm_tree.nodes WHERE tenant = $1 AND valid_to_position IS NULL",
        TENANT,
    )
    sponsors = [r["sponsor"] for r in await pool.fetch(
        "SELECT DISTINCT sponsor FROM rm_tree.nodes WHERE tenant = $1 AND sponsor IS NOT NULL",
        TENANT,
    )]
    largest = await pool.fetchval(
        "SELECT split_part(path, '/', 1) FROM rm_tree.nodes WHERE tenant = $1"
        " AND valid_to_position IS NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
        TENANT,
    )
    span = await pool.fetchrow(
        "SELECT min(business_time), max(business_time) FROM events WHERE tenant = $1", TENANT
    )
    first, last = tuple(span or (None, None))
    print(f"tree: {agents:,} agents, {len(sponsors):,} with recruits")
    for label, chosen in (("largest downline", [largest] * samples),
                          ("random sponsors", rng.sample(sponsors, min(samples, len(sponsors))))):
        by_position, by_time, sizes = [], [], []
        for agent in chosen:
            position = rng.randint(head // 2, head)
            at = first + (last - first) * rng.uniform(0.5, 1.0)
            started = time.perf_counter()
            nodes = await queries.tree_as_of(pool, TENANT, agent=agent, position=position)
            by_position.append(time.perf_counter() - started)
            started = time.perf_counter()
            await queries.tree_as_of(pool, TENANT, agent=agent, at=at)
            by_time.append(time.perf_counter() - started)
            sizes.append(len(nodes))
        print(f"as-of downline query, {label} ({len(chosen)} queries, downline up to"
              f" {max(sizes):,} nodes, median {statistics.median(sizes):,.0f}):")
        print(f"  as of a position:      {ms(by_position)}")
        print(f"  as of a business time: {ms(by_time)}")


async def run(url: str, events: int, agents: int, samples: int, limit: float) -> None:
    name = f"wl_bench_projections_{uuid.uuid4().hex[:8]}"
    await admin(url, f'CREATE DATABASE "{name}"')
    db = with_database(url, name)
    try:
        conn = await asyncpg.connect(db)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        pool = await create_pool(db, app_role=APP_ROLE, size=16)
        store = PostgresEventStore(pool)
        try:
            started = time.perf_counter()
            head = await bounded("history", write(store, TENANT,
                                                  History(agents, seed=1).events(events), 2000),
                                 limit)
            print(f"history: {head:,} events, {agents:,} agents, written in"
                  f" {time.perf_counter() - started:.1f} s")
            # Settle the freshly loaded table (hint bits, statistics) as autovacuum would,
            # so the catch-up is not charged for the bulk load's aftermath.
            await admin(db, "VACUUM (ANALYZE) events")
            await catch_up(pool, store, head, limit)
            await bounded("queries", tree_queries(pool, head, samples, seed=2), limit)
        finally:
            await store.close()
            await pool.close()
    finally:
        await admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    tune_gc()  # as every weiledger process does (cli/app.py)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a server, as a role that may CREATE DATABASE")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--agents", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--limit-seconds", type=float, default=900)
    args = parser.parse_args()
    with server(args.database_url) as url:
        asyncio.run(run(url, args.events, args.agents, args.queries, args.limit_seconds))


if __name__ == "__main__":
    main()
