"""Chaos: the real service (`python -m cli.app serve`) under load from 32 agents recording
sales with idempotency keys, against a PostgreSQL of its own (a temp folder, a loopback
port: never the machine's server), while in cycles it

  serve-kill        SIGKILLs the serving process and starts it again,
  pg-kill           SIGKILLs the PostgreSQL postmaster and starts it again,
  pg-restart        stops PostgreSQL cleanly and starts it again,
  drop-connections  ends every connection of the service (pg_terminate_backend).

After each cycle, with the load paused, it checks: every acknowledged sale is recorded
exactly once, sending every key of the cycle again records nothing, the hash chain
verifies, the projections reach the head and equal a rebuild, and writes resumed within
a bound. Prints each cycle and the totals (seconds until writes resumed: from the end
of the fault, i.e. PostgreSQL accepting again, the serving process started again, the
connections ended). Bounded in time and requests; loopback only.

    python -m bench.chaos [--cycles 3] [--faults serve-kill,pg-kill,...] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from bench.api import TENANT, Connection, create_tokens, set_up_agents
from bench.postgres import LocalPostgres, free_port
from eventstore.migrate import migrate
from eventstore.verify import verify_chain
from projections.rebuilt import differing_from_rebuild
from projections.registry import all_projections
from projections.runner import live_schema

ROOT = Path(__file__).resolve().parents[1]
FAULTS = ("serve-kill", "pg-kill", "pg-restart", "drop-connections")
CALL_SECONDS = 10.0  # a call unanswered this long is given up and sent again (same key)
RETRY_PAUSE = 0.2
SETTLE_SECONDS = 60.0  # projections must reach the head within this after a cycle


@dataclass
class Options:
    cycles: int = 3  # of each fault
    faults: Sequence[str] = FAULTS
    workers: int = 1
    agents: int = 32
    load_seconds: float = 3.0  # of load before each fault
    down_seconds: float = 2.0  # how long PostgreSQL stays down
    resume_bound: float = 30.0  # writes must resume within this after a fault ends
    max_seconds: float = 900.0  # the whole run
    max_requests: int = 200_000


@dataclass
class Cycle:
    n: int
    fault: str
    acknowledged: int = 0
    lost: int = 0
    duplicated: int = 0
    resumed: float | None = None  # seconds; None: writes did not resume within the bound
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.resumed is not None

    def describe(self) -> str:
        resumed = "never" if self.resumed is None else f"{self.resumed:.2f} s"
        return (f"cycle {self.n:3} {self.fault:16} acknowledged {self.acknowledged:5}"
                f"  lost {self.lost}  duplicated {self.duplicated}  writes resumed after"
                f" {resumed}  " + ("ok" if self.ok else "FAILED: " + "; ".join(self.problems)))


class Service:
    """`weiledger serve` as a subprocess on a port of its own."""

    def __init__(self, url: str, workers: int, log: Path) -> None:
        self.port = free_port()
        self.env = {**os.environ, "DATABASE_URL": url, "WEILEDGER_TENANT": TENANT}
        self.workers, self.log = workers, log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cli.app", "serve", "--port", str(self.port),
                 "--workers", str(self.workers)],
                cwd=ROOT, env=self.env, stdout=log, stderr=log)

    async def ready(self, within: float = 120.0) -> None:
        assert self.process is not None
        deadline = time.monotonic() + within
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the service exited ({self.process.returncode});"
                                       f" see {self.log}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{self.base}/ready")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"the service was not ready in {within} s; see {self.log}")

    def kill(self) -> None:
        """SIGKILL (the supervisor, with --workers: its workers follow it)."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    async def port_free(self) -> None:
        """Workers of a killed supervisor end by themselves (PR_SET_PDEATHSIG), in a few
        seconds; a new one refuses a port they still hold."""
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                return
            writer.close()
            await asyncio.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Agents:
    """Each agent records sales one after another, each with its own key, sending a sale
    again (same key) until it is acknowledged."""

    def __init__(self, service: Service, tokens: list[str], options: Options) -> None:
        self.service, self.tokens, self.options = service, tokens, options
        self.run = uuid.uuid4().hex[:6]
        self.acked: dict[str, tuple[int, dict[str, object]]] = {}  # key: (agent, body)
        self.sale_of: dict[str, str] = {}  # key: the sale id the server assigned it
        self.ack_times: list[float] = []
        self.requests = 0
        self.last_sale = ""
        self._running = False
        self._tasks: list[asyncio.Task[None]] = []
        self._n = [0] * len(tokens)
        self.watched_from = float("inf")
        self.sent_and_acked: list[tuple[float, float]] = []
        self.resumed = asyncio.Event()  # set by the first acknowledgement after watched_from

    def watch(self, since: float) -> None:
        self.watched_from = since
        self.sent_and_acked = []
        self.resumed.clear()

    def start(self) -> None:
        self._running = True
        self._tasks = [asyncio.create_task(self._agent(a)) for a in range(len(self.tokens))]

    async def pause(self) -> None:
        """Each agent finishes the sale it is sending (or gives it up at the bound)."""
        self._running = False
        await asyncio.gather(*self._tasks)

    async def _agent(self, a: int) -> None:
        connection = Connection("127.0.0.1", self.service.port)
        try:
            while self._running and self.requests < self.options.max_requests:
                self._n[a] += 1
                key = f"{self.run}-{a}-{self._n[a]}"
                # No sale id and no time: an agent's sale is named and dated by the server.
                body: dict[str, object] = {"customer": f"C{a}",
                                           "lines": [{"sku": "TEA-01", "qty": 1,
                                                      "unit_price": "99.00"}]}
                sent = await self._send_until_acknowledged(connection, a, key, body)
                if sent is not None:
                    self.acked[key] = (a, body)
                    self.ack_times.append(time.monotonic())
                    # Writes resumed: a sale sent after the fault ended is acknowledged
                    # (not one sent before, whose append may have been committed before).
                    if sent > self.watched_from:
                        self.sent_and_acked.append((sent, self.ack_times[-1]))
                        self.resumed.set()
        finally:
            connection.close()

    async def _send_until_acknowledged(self, connection: Connection, a: int, key: str,
                                       body: dict[str, object]) -> float | None:
        """When the attempt that was acknowledged was sent; None if none was (then the
        sale is neither lost nor counted)."""
        give_up = time.monotonic() + self.options.resume_bound + CALL_SECONDS
        while time.monotonic() < give_up:
            sent = time.monotonic()
            status = await self.send(connection, a, key, body)
            if status == 201:
                self.sale_of[key] = self.last_sale
                return sent
            await asyncio.sleep(RETRY_PAUSE)
            if status is None:
                connection.close()
        return None

    async def send(self, connection: Connection, a: int, key: str,
                   body: dict[str, object]) -> int | None:
        self.requests += 1
        try:
            async with asyncio.timeout(CALL_SECONDS):
                status, answer = await connection.request(
                    "POST", "/v1/me/sales", {"Authorization": f"Bearer {self.tokens[a]}",
                                             "Idempotency-Key": key}, body)
                if status == 201:  # the server names a self-service sale (from the key)
                    self.last_sale = str(json.loads(answer).get("sale", ""))
                return status
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
            return None


async def _sales(url: str) -> dict[str, int]:
    """Sale id -> how many times it is recorded."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT stream, count(*) AS n FROM events WHERE tenant = $1"
            " AND name = 'RetailSaleRecorded' GROUP BY stream", TENANT)
    finally:
        await conn.close()
    return {r["stream"].removeprefix("sale-"): r["n"] for r in rows}


async def _head(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval(
        "SELECT coalesce(max(position), 0) FROM events WHERE tenant = $1", TENANT))


async def _projections_at_head(conn: asyncpg.Connection) -> list[str]:
    """The projections not at the head, once SETTLE_SECONDS have passed."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        head = await _head(conn)
        behind = [p.name for p in all_projections() if (await conn.fetchval(
            f"SELECT position FROM {live_schema(p)}.checkpoint WHERE tenant = $1", TENANT)
            or 0) < head]
        if not behind or time.monotonic() > deadline:
            return behind
        await asyncio.sleep(0.2)


class Chaos:
    def __init__(self, options: Options, folder: Path) -> None:
        self.options, self.folder = options, folder
        self.postgres = LocalPostgres(folder / "pg")
        self.service: Service | None = None
        self.agents: Agents | None = None
        self.cycles: list[Cycle] = []

    async def run(self) -> list[Cycle]:
        options = self.options
        await asyncio.to_thread(self.postgres.init)
        await asyncio.to_thread(self.postgres.start)
        url = self.postgres.url
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        self.service = Service(url, options.workers, self.folder / "service.log")
        self.service.start()
        try:
            await self.service.ready()
            hq, tokens = await create_tokens(url, options.agents)
            async with httpx.AsyncClient(base_url=self.service.base, timeout=30) as client:
                await set_up_agents(client, hq, options.agents)
            self.agents = Agents(self.service, tokens, options)
            began = time.monotonic()
            n = 0
            for _ in range(options.cycles):
                for fault in options.faults:
                    if (time.monotonic() - began > options.max_seconds
                            or self.agents.requests >= options.max_requests):
                        return self.cycles
                    n += 1
                    cycle = await self.cycle(n, fault)
                    self.cycles.append(cycle)
                    print(cycle.describe(), flush=True)
            return self.cycles
        finally:
            self.service.stop()
            await asyncio.to_thread(self.postgres.remove)

    async def cycle(self, n: int, fault: str) -> Cycle:
        assert self.agents is not None
        cycle = Cycle(n, fault)
        before = set(self.agents.acked)
        self.agents.start()
        await asyncio.sleep(self.options.load_seconds)
        ended = await self.inject(fault)
        # Load goes on until a write is acknowledged after the fault, or the bound.
        self.agents.watch(ended)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(ended + self.options.resume_bound - time.monotonic()):
                await self.agents.resumed.wait()
        resumed = [acked for _sent, acked in self.agents.sent_and_acked]
        cycle.resumed = min(resumed) - ended if resumed else None
        if cycle.resumed is None:
            cycle.problems.append(f"no write acknowledged {self.options.resume_bound} s after"
                                  " the fault")
        await asyncio.sleep(1.0)  # and some more load after it
        await self.agents.pause()
        await self.check(cycle, [k for k in self.agents.acked if k not in before])
        return cycle

    async def inject(self, fault: str) -> float:
        """Cause the fault; the moment it ended (from which writes must resume)."""
        assert self.service is not None
        if fault == "serve-kill":
            self.service.kill()
            await self.service.port_free()
            self.service.start()
        elif fault == "pg-kill":
            await asyncio.to_thread(self.postgres.kill)
            await asyncio.sleep(self.options.down_seconds)
            await asyncio.to_thread(self.postgres.start)
        elif fault == "pg-restart":
            await asyncio.to_thread(self.postgres.stop)
            await asyncio.sleep(self.options.down_seconds)
            await asyncio.to_thread(self.postgres.start)
        elif fault == "drop-connections":
            conn = await asyncpg.connect(self.postgres.url)
            try:
                await conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'")
            finally:
                await conn.close()
        else:
            raise ValueError(f"unknown fault {fault!r}; one of {', '.join(FAULTS)}")
        return time.monotonic()

    async def check(self, cycle: Cycle, keys: list[str]) -> None:
        assert self.agents is not None and self.service is not None
        cycle.acknowledged = len(keys)
        url = self.postgres.url
        counts = await _sales(url)
        sales = [self.agents.sale_of.get(k, f"S{k}") for k in keys]
        cycle.lost = sum(1 for sale in sales if counts.get(sale, 0) == 0)
        cycle.duplicated = sum(1 for sale in sales if counts.get(sale, 0) > 1)
        if cycle.lost or cycle.duplicated:
            cycle.problems.append("acknowledged sales not recorded exactly once")
        conn = await asyncpg.connect(url)
        try:
            head = await _head(conn)
            connection = Connection("127.0.0.1", self.service.port)
            try:  # every key again: each answers as the first time, nothing is recorded
                for key in keys:
                    a, body = self.agents.acked[key]
                    status = await self.agents.send(connection, a, key, body)
                    if status != 201:
                        cycle.problems.append(f"sent again, {key} answered {status}")
                        break
            finally:
                connection.close()
            if await _head(conn) != head:
                cycle.problems.append("sending the keys again recorded something")
            report = await verify_chain(conn, TENANT)
            if not report.intact:
                cycle.problems.append(f"chain broken: {report.breaks[:3]}")
            behind = await _projections_at_head(conn)
            if behind:
                cycle.problems.append(f"projections not at the head: {', '.join(behind)}")
        finally:
            await conn.close()
        if not behind:
            pool = await asyncpg.create_pool(url, min_size=1, max_size=4)
            try:
                differing = await differing_from_rebuild(pool, TENANT)
            finally:
                await pool.close()
            if differing:
                cycle.problems.append(f"differ from a rebuild: {', '.join(differing)}")


def summary(cycles: Sequence[Cycle]) -> str:
    lines = []
    for fault in dict.fromkeys(c.fault for c in cycles):
        lines.append(_totals(fault, [c for c in cycles if c.fault == fault]))
    lines.append(_totals("all", list(cycles)))
    return "\n".join(lines)


def _totals(what: str, cycles: Sequence[Cycle]) -> str:
    resumed = sorted(c.resumed for c in cycles if c.resumed is not None)
    never = sum(1 for c in cycles if c.resumed is None)
    if resumed:
        p99 = resumed[min(len(resumed) - 1, int(len(resumed) * 0.99))]
        times = f"p50 {statistics.median(resumed):.2f} s, p99 {p99:.2f} s"
    else:
        times = "-"
    return (f"{what:16} cycles {len(cycles):3} (failed {sum(not c.ok for c in cycles)})"
            f"  acknowledged {sum(c.acknowledged for c in cycles):6}"
            f"  lost {sum(c.lost for c in cycles)}  duplicated"
            f" {sum(c.duplicated for c in cycles)}  writes resumed after: {times}"
            + (f", never in {never}" if never else ""))


async def run(options: Options) -> list[Cycle]:
    with tempfile.TemporaryDirectory(prefix="weiledger-chaos-") as folder:
        return await Chaos(options, Path(folder)).run()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--cycles", type=int, default=3, help="cycles of each fault")
    parser.add_argument("--faults", default=",".join(FAULTS))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--agents", type=int, default=32)
    parser.add_argument("--load-seconds", type=float, default=3.0)
    parser.add_argument("--down-seconds", type=float, default=2.0)
    parser.add_argument("--resume-bound", type=float, default=30.0)
    parser.add_argument("--max-seconds", type=float, default=900.0)
    parser.add_argument("--max-requests", type=int, default=200_000)
    args = parser.parse_args(argv)
    options = Options(args.cycles, tuple(args.faults.split(",")), args.workers, args.agents,
                      args.load_seconds, args.down_seconds, args.resume_bound,
                      args.max_seconds, args.max_requests)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # clean up on SIGTERM too
    cycles = asyncio.run(run(options))
    print(summary(cycles), flush=True)
    if not cycles or not all(c.ok for c in cycles):
        sys.exit(1)


if __name__ == "__main__":
    main()
