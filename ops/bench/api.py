"""The HTTP API under load: retail sales by 32 concurrent agents, and the tree as of a
date, against a real `weiledger serve` (uvicorn, 127.0.0.1, a subprocess) on a fresh
database. Prints figures; asserts nothing.

    python -m ops.bench.api [--database-url URL] [--seconds 15] [--agents 32]

Goal (issue 5): 500 commands/s at p99 under 50 ms on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import asyncpg
import httpx

from api.principals import Role, create_principal, issue_token
from ops.bench.append import create_database, drop_database, server_url

ROOT = Path(__file__).resolve().parents[2]
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


async def _tokens(url: str, agents: int) -> tuple[str, list[str]]:
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


async def _setup(client: httpx.AsyncClient, hq: str, agents: int) -> None:
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


async def _load(workers: int, seconds: float,
                call: Callable[[int, int], Awaitable[bool]]) -> tuple[list[float], int]:
    latencies: list[float] = []
    failed = 0
    stop = time.monotonic() + seconds

    async def worker(w: int) -> None:
        nonlocal failed
        n = 0
        while time.monotonic() < stop:
            n += 1
            start = time.perf_counter()
            ok = await call(w, n)
            latencies.append(time.perf_counter() - start)
            failed += not ok

    await asyncio.gather(*(worker(w) for w in range(workers)))
    return latencies, failed


def _report(what: str, latencies: list[float], failed: int, seconds: float) -> None:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    p50 = statistics.median(ordered)
    print(f"{what}: {len(ordered) / seconds:8.1f}/s  p50 {p50 * 1000:6.1f} ms"
          f"  p99 {p99 * 1000:6.1f} ms  ({len(ordered)} calls, {failed} not as expected)")


async def _run(base: str, url: str, agents: int, seconds: float) -> None:
    hq, tokens = await _tokens(url, agents)
    limits = httpx.Limits(max_connections=agents * 2, max_keepalive_connections=agents * 2)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        await _setup(client, hq, agents)
        run_id = uuid.uuid4().hex[:6]

        async def sale(w: int, n: int) -> bool:
            body = {"sale": f"S{run_id}-{w}-{n}", "customer": f"C{n}",
                    "at": AT.format(2 + n // 2000 % 20, 12, 0),
                    "lines": [{"sku": "TEA-01", "qty": 1, "unit_price": "99.00"}]}
            answer = await client.post(
                "/v1/me/sales", json=body,
                headers={"Authorization": f"Bearer {tokens[w]}",
                         "Idempotency-Key": f"{run_id}-{w}-{n}"})
            return answer.status_code == 201

        await _load(agents, 2, sale)  # warm-up: connections, plans, caches
        latencies, failed = await _load(agents, seconds, sale)
        _report(f"retail sales by {agents} agents (POST /v1/me/sales)", latencies, failed,
                seconds)

        auth = {"Authorization": f"Bearer {hq}"}

        async def tree(w: int, n: int) -> bool:
            answer = await client.get("/v1/tree", params={
                "as_of": AT.format(1, 9 + (n % 3), 30), "limit": 100}, headers=auth)
            return answer.status_code == 200

        latencies, failed = await _load(agents, seconds / 2, tree)
        _report("tree as of a date (GET /v1/tree?as_of=)", latencies, failed, seconds / 2)


async def _with_database(admin_url: str, agents: int, seconds: float) -> None:
    name = f"wl_bench_api_{uuid.uuid4().hex[:8]}"
    url = await create_database(admin_url, name)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "WEILEDGER_TENANT": TENANT,
           "WEILEDGER_POOL_SIZE": os.environ.get("WEILEDGER_POOL_SIZE", "20")}
    # Started once, before anything is measured: blocking here costs the run nothing.
    proc = subprocess.Popen(  # noqa: ASYNC220
        [sys.executable, "-m", "ops.cli", "serve", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        await _wait_ready(base, proc)
        print(f"server: uvicorn (1 worker) on {base}, pool {env['WEILEDGER_POOL_SIZE']},"
              f" {os.cpu_count()} CPUs; client in this process (httpx, asyncio)")
        await _run(base, url, agents, seconds)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        await drop_database(admin_url, name)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--agents", type=int, default=32)
    args = parser.parse_args(argv)
    with server_url(args.database_url) as admin_url:
        asyncio.run(_with_database(admin_url, args.agents, args.seconds))


if __name__ == "__main__":
    main()
