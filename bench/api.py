"""The HTTP API under load: retail sales by 32 concurrent agents, and the tree as of a
date, against a real `weiledger serve` (uvicorn, 127.0.0.1, a subprocess) on a fresh
database. Prints figures; asserts nothing.

    python -m bench.api [--database-url URL] [--seconds 15] [--agents 32] [--rate 500]

Goal (issue 5): 500 commands/s at p99 under 50 ms on a 2-core machine. Measured as the
goal reads: 500 sales a second offered on a fixed schedule (open loop), p99 counted from
when each sale was due. Then the same agents each as fast as they are answered (closed
loop), for the most the service takes; there the latency is set by the load itself
(32 callers always waiting: Little's law), not by the service.

Beside each sales phase, the CPU time one sale cost (Linux, from /proc): the serving
processes, PostgreSQL (every process of the cluster) and this load generator. On a
shared machine the latency moves with the neighbours; CPU per sale moves far less, and
against the machine's two cores it says how much room the goal has. Beside the offered
phase, how the machine itself behaved meanwhile (bench/machine.py: late wake-ups,
slow disk flushes), so a bad p99 can be told from a stalled machine.

The measured calls go through a minimal HTTP/1.1 keep-alive client (one connection per
agent, on uvloop when installed): the load generator shares the machine's two cores
with the server and PostgreSQL, and httpx spent about 3.7 ms of CPU per call, more
than the server itself, so the figures measured mostly the client. Setup uses httpx.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg
import httpx

from bench import machine
from bench.append import create_database, drop_database, server_url
from config.settings import Settings
from eventstore.principals import Role, create_principal, issue_token

ROOT = Path(__file__).resolve().parents[1]
TENANT = "bench"
AT = "2026-03-{:02d}T{:02d}:{:02d}:00+08:00"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(600):
            if proc.poll() is not None:
                raise SystemExit("the server stopped before it was ready")
            try:
                if (await client.get(f"{base}/ready")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("the server did not become ready")


async def create_tokens(url: str, agents: int) -> tuple[str, list[str]]:
    conn = await asyncpg.connect(url)
    try:
        admin = await create_principal(conn, TENANT, Role.ADMIN, "bench admin")
        hq = (await issue_token(conn, admin, days=1)).token
        mine = []
        for n in range(1, agents + 1):
            principal = await create_principal(conn, TENANT, Role.AGENT, f"A{n}", f"A{n}")
            mine.append((await issue_token(conn, principal, days=1)).token)
        return hq, mine
    finally:
        await conn.close()


async def set_up_agents(client: httpx.AsyncClient, hq: str, agents: int) -> None:
    auth = {"Authorization": f"Bearer {hq}"}

    async def post(path: str, body: dict) -> None:
        answer = await client.post(path, json=body, headers=auth)
        if answer.status_code != 201:
            raise SystemExit(f"setup {path}: {answer.status_code} {answer.text}")

    await post("/v1/products", {"sku": "TEA-01", "name": "tea", "retail_price": "99.00",
                                "at": AT.format(1, 8, 0)})
    for n in range(1, agents + 1):
        digits = f"1101011980{(n % 12) + 1:02d}{(n % 28) + 1:02d}{n % 1000:03d}"
        await post("/v1/agents", {"agent": f"A{n}", "sponsor": None, "tier": "partner",
                                  "name": f"代理{n}", "id_number": digits + _check(digits),
                                  "phone": f"138{n:08d}", "at": AT.format(1, 9, 0)})
        await post("/v1/purchases", {"buyer": f"A{n}", "seller": None, "at": AT.format(1, 10, 0),
                                     "lines": [{"sku": "TEA-01", "qty": 100_000}]})


def _check(first17: str) -> str:
    from domain.agents.identity import check_character

    return check_character(first17)


class Connection:
    """One keep-alive HTTP/1.1 connection: a request, then its whole response."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, target: str, headers: dict[str, str],
                      body: Any = None) -> tuple[int, bytes]:
        payload = b"" if body is None else json.dumps(body).encode()
        head = [f"{method} {target} HTTP/1.1", f"Host: {self.host}:{self.port}",
                f"Content-Length: {len(payload)}"]
        if body is not None:
            head.append("Content-Type: application/json")
        head += [f"{name}: {value}" for name, value in headers.items()]
        message = ("\r\n".join(head) + "\r\n\r\n").encode() + payload
        for attempt in (1, 2):  # the server may have closed an idle connection
            try:
                return await self._exchange(message)
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _exchange(self, message: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(message)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                raise RuntimeError("chunked responses are not expected here")
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _load(workers: int, seconds: float, call: Callable[[int, int], Awaitable[bool]],
                rate: float | None = None) -> tuple[list[float], int]:
    """Each worker calls as fast as answers come (closed loop), or, with `rate`, the
    workers together start `rate` calls per second on a fixed schedule (open loop).

    Open loop, a call's latency counts from when it was due, not from when it was sent:
    a call that had to wait for the one before it (the server behind) waited for its
    answer all the same, and leaving that out would hide the queue ("coordinated
    omission")."""
    latencies: list[float] = []
    failed = 0
    start = time.perf_counter()
    stop = start + seconds
    interval = workers / rate if rate else 0.0

    async def worker(w: int) -> None:
        nonlocal failed
        n = 0
        due = start + w * interval / workers  # staggered: the calls spread evenly
        while True:
            now = time.perf_counter()
            if rate is None:
                if now >= stop:
                    return
                due = now
            else:
                if due >= stop:
                    return
                if due > now:
                    await asyncio.sleep(due - now)
            n += 1
            ok = await call(w, n)
            latencies.append(time.perf_counter() - due)
            failed += not ok
            due += interval

    await asyncio.gather(*(worker(w) for w in range(workers)))
    return latencies, failed


def _cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU time of these processes (those that have ended count nothing)."""
    ticks = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _children(parent: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if int(text[text.rindex(")") + 2 :].split()[1]) == parent:
            found.append(int(stat.parent.name))
    return found


class CpuMeter:
    """CPU time spent by the service, PostgreSQL and this process between two readings."""

    def __init__(self, server: int, url: str) -> None:
        self.server, self.url = server, url

    async def read(self) -> tuple[float, float, float]:
        conn = await asyncpg.connect(self.url)
        try:  # every process of the cluster: backends, WAL writer, checkpointer...
            postgres = [r["pid"] for r in await conn.fetch("SELECT pid FROM pg_stat_activity")]
        finally:
            await conn.close()
        service = [self.server, *_children(self.server)]
        mine = resource.getrusage(resource.RUSAGE_SELF)
        return (_cpu_seconds(service), _cpu_seconds(postgres), mine.ru_utime + mine.ru_stime)

    @staticmethod
    def describe(before: tuple[float, ...], after: tuple[float, ...], calls: int) -> str:
        spent = [(b - a) * 1000 / max(calls, 1) for a, b in zip(before, after, strict=True)]
        return (f"  CPU per sale: service {spent[0]:.2f} ms, PostgreSQL {spent[1]:.2f} ms,"
                f" load generator {spent[2]:.2f} ms")


async def _machine_probe(seconds: float) -> asyncio.subprocess.Process:
    """bench/machine.py for `seconds`, flushing to the disk the embedded server uses."""
    directory = ROOT / ".data"
    directory.mkdir(exist_ok=True)
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.machine", "--seconds", str(seconds),
        "--dir", str(directory), cwd=ROOT, stdout=asyncio.subprocess.PIPE,
    )


def _report(what: str, latencies: list[float], failed: int, seconds: float) -> None:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    p50 = statistics.median(ordered)
    print(f"{what}: {len(ordered) / seconds:8.1f}/s  p50 {p50 * 1000:6.1f} ms"
          f"  p99 {p99 * 1000:6.1f} ms  max {ordered[-1] * 1000:6.1f} ms"
          f"  ({len(ordered)} calls, {failed} not as expected)", flush=True)


async def _run(base: str, url: str, agents: int, seconds: float, rate: float,
               meter: CpuMeter) -> None:
    hq, tokens = await create_tokens(url, agents)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        await set_up_agents(client, hq, agents)
    address = httpx.URL(base)
    connections = [Connection(address.host, address.port or 80) for _ in range(agents)]
    run_id = uuid.uuid4().hex[:6]

    def sales(phase: str) -> Callable[[int, int], Awaitable[bool]]:
        """Sales with keys of their own per phase (the key names the sale the server
        records: api.commands.assigned_id): the measured phase must not replay the
        warm-up's (a replay answers 201 too, but is not a new sale)."""

        async def sale(w: int, n: int) -> bool:
            ref = f"{run_id}{phase}-{w}-{n}"
            body = {"customer": f"C{n}",  # dated by the server: an agent's own sale
                    "lines": [{"sku": "TEA-01", "qty": 1, "unit_price": "99.00"}]}
            status, _ = await connections[w].request(
                "POST", "/v1/me/sales", {"Authorization": f"Bearer {tokens[w]}",
                                         "Idempotency-Key": ref}, body)
            return status == 201

        return sale

    try:
        await _load(agents, 2, sales("w"))  # warm-up: connections, plans, caches
        before = await meter.read()
        probe = await _machine_probe(seconds)
        latencies, failed = await _load(agents, seconds, sales("r"), rate)
        after = await meter.read()
        _report(f"retail sales by {agents} agents at {rate:g}/s offered (POST /v1/me/sales)",
                latencies, failed, seconds)
        print(meter.describe(before, after, len(latencies)), flush=True)
        found, _ = await probe.communicate()
        print(machine.describe(json.loads(found)), flush=True)
        latencies, failed = await _load(agents, seconds, sales("m"))
        _report(f"retail sales by {agents} agents, each as fast as answered", latencies,
                failed, seconds)
        print(meter.describe(after, await meter.read(), len(latencies)), flush=True)

        auth = {"Authorization": f"Bearer {hq}"}

        async def tree(w: int, n: int) -> bool:
            query = urlencode({"as_of": AT.format(1, 9 + (n % 3), 30), "limit": 100})
            status, _ = await connections[w].request("GET", f"/v1/tree?{query}", auth)
            return status == 200

        latencies, failed = await _load(agents, seconds / 2, tree)
        _report("tree as of a date (GET /v1/tree?as_of=)", latencies, failed, seconds / 2)
    finally:
        for connection in connections:
            connection.close()


async def _with_database(admin_url: str, agents: int, seconds: float, rate: float,
                         workers: int) -> None:
    name = f"wl_bench_api_{uuid.uuid4().hex[:8]}"
    url = await create_database(admin_url, name)
    port = free_port()
    # The service as it is configured by default, unless WEILEDGER_POOL_SIZE says else.
    env = {**os.environ, "DATABASE_URL": url, "WEILEDGER_TENANT": TENANT,
           "WEILEDGER_POOL_SIZE": os.environ.get("WEILEDGER_POOL_SIZE",
                                                 str(Settings.model_fields["pool_size"].default))}
    # Started once, before anything is measured: blocking here costs the run nothing.
    proc = subprocess.Popen(  # noqa: ASYNC220
        [sys.executable, "-m", "cli.app", "serve", "--port", str(port), "--workers", str(workers)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        await _wait_ready(base, proc)
        print(f"server: weiledger serve --workers {workers} on {base}, pool"
              f" {env['WEILEDGER_POOL_SIZE']} per worker, {os.cpu_count()} CPUs; client in"
              " this process (asyncio, one keep-alive connection per agent)")
        await _run(base, url, agents, seconds, rate, CpuMeter(proc.pid, url))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        await drop_database(admin_url, name)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--agents", type=int, default=32)
    parser.add_argument("--rate", type=float, default=500, help="offered sales per second")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="serving processes (default: one per CPU)")
    args = parser.parse_args(argv)
    with server_url(args.database_url) as admin_url, asyncio.Runner(
        loop_factory=_loop_factory()
    ) as runner:
        runner.run(_with_database(admin_url, args.agents, args.seconds, args.rate,
                                   args.workers))


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


if __name__ == "__main__":
    main()
