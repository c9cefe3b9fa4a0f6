"""The audit export at scale: write, time and measure an export of a million events.

    python -m bench.export [--events 1000000] [--agents 50000] [--database-url URL]
                               [--close 2026-01] [--budget 1800]

1. A synthetic valid history (bench/history.py) is appended to a tenant of a
   database kept between runs (wl_bench_export on the embedded server in .data/bench,
   or the given server), unless that tenant already holds the events. `--close`
   closes a period through the real SettlementService, so statements exist to
   re-derive.
2. The checkpoint pass signs every range due (10,000 events each), with its receipts,
   timed.
3. The tree and alerts read models are caught up (the export reads them), timed.
4. The export runs in a process of its own (so its peak memory is its own), as
   `weiledger export` does it: the ledger verified first (chain, chain head, receipts:
   export/guard.py; its seconds given apart), then written: the time and the peak
   resident memory of that process, and the zip's size.
5. The offline verifier runs in a process of its own: time and peak memory.
6. The same for an export of the second half (from the business date of the middle
   position: it carries the first half as hashes and opening events), verified
   `--after` the whole export (every leaf of the first compared, the consistency proof).

Every child is bounded by the time left of --budget; figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

DATABASE = "wl_bench_export"
TENANT = "bench-export"  # + the number of events asked for
GOAL_MB = 300


def _peak_mb() -> float:
    """This process's peak resident memory. VmHWM, not ru_maxrss: on Linux ru_maxrss
    survives exec, so a child forked from a large parent reports the parent's size."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def _prepare(admin: str, tenant: str, events: int, agents: int, close: str | None,
                   keys: Path) -> dict[str, Any]:
    import asyncpg

    from bench.history import History, write
    from domain.ledger import Ledger
    from eventstore.database import create_pool
    from eventstore.memory_vault import InMemoryKeyVault
    from eventstore.migrate import migrate
    from eventstore.postgres import PostgresEventStore
    from export.checkpoints import checkpoint
    from export.receipts import receipts_folder
    from export.signing import init_key, key_path, load_private_key
    from projections.registry import all_projections
    from projections.runner import ProjectionRunner

    figures: dict[str, Any] = {}
    conn = await asyncpg.connect(admin)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE):
            await conn.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await conn.close()
    url = urlunsplit(urlsplit(admin)._replace(path="/" + DATABASE))
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    pool = await create_pool(url, app_role="weiledger_app", size=4)
    store = PostgresEventStore(pool)
    try:
        if await store.head(tenant) == 0:
            started = time.perf_counter()
            await write(store, tenant, History(agents=agents, seed=7).events(events), batch=2000)
            figures["append_s"] = round(time.perf_counter() - started, 1)
            if close:
                started = time.perf_counter()
                from domain.handling import Context
                from domain.settlement.service import ClosePeriod

                ledger = Ledger(store, InMemoryKeyVault())
                await ledger.settlement.close_period(
                    Context(tenant, "bench"), ClosePeriod(datetime.now(UTC), close))
                figures["close_s"] = round(time.perf_counter() - started, 1)
        figures["events"] = await store.head(tenant)
        # The key outlives the run, like the database: earlier checkpoints name it.
        if not key_path(keys, tenant).exists():
            init_key(keys, tenant)
        key = load_private_key(keys, tenant)
        started = time.perf_counter()
        cuts = await checkpoint(store, tenant, key, 10_000,
                                receipts=receipts_folder(keys, tenant))
        figures["checkpoint_s"] = round(time.perf_counter() - started, 1)
        figures["checkpoints_signed_now"] = len(cuts)
        figures["events"] = await store.head(tenant)  # with the checkpoint events
        started = time.perf_counter()
        runner = ProjectionRunner(pool, store, all_projections())
        await runner.ensure()
        for model in ("tree", "alerts"):
            await runner.catch_up(runner.projection(model))
        figures["read_models_s"] = round(time.perf_counter() - started, 1)
        figures["url"] = url
    finally:
        await store.close()
        await pool.close()
    return figures


async def _middle_date(url: str, tenant: str) -> str:
    import asyncpg

    from domain.periods import CST

    conn = await asyncpg.connect(url)
    try:
        at = await conn.fetchval(
            "SELECT business_time FROM events WHERE tenant = $1 AND position ="
            " (SELECT position / 2 FROM chain_heads WHERE tenant = $1)", tenant)
    finally:
        await conn.close()
    return str(at.astimezone(CST).date())


async def _export(url: str, tenant: str, keys: Path, out: Path, since: str | None) -> float:
    """What `weiledger export` does: the ledger verified (chain, head, receipts), then
    the export written; returns the verification's seconds."""
    from datetime import date

    import asyncpg

    from eventstore.kek import Kek
    from export.guard import ensure_intact
    from export.signing import load_private_key
    from export.writer import write_export

    key = load_private_key(keys, tenant)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SET ROLE weiledger_app")
        started = time.perf_counter()
        await ensure_intact(conn, tenant, keys, key)
        guard_s = time.perf_counter() - started
        with out.open("wb") as sink:
            # The synthetic history keeps no personal-data keys: any KEK will do.
            await write_export(conn, tenant, sink, key, Kek.generate(),
                               since=None if since is None else date.fromisoformat(since))
    finally:
        await conn.close()
    return guard_s


def child(argv: list[str]) -> None:
    """A measured phase in a process of its own; prints one JSON line."""
    started = time.perf_counter()
    result: dict[str, Any] = {}
    if argv[0] == "export":
        guard_s = asyncio.run(_export(argv[1], argv[2], Path(argv[3]), Path(argv[4]),
                                      argv[5] if len(argv) > 5 else None))
        result["of_which_verifying_the_ledger_s"] = round(guard_s, 1)
    else:
        from export.verify.archive import verify_export

        report = verify_export(Path(argv[1]), after=Path(argv[2]) if len(argv) > 2 else None)
        result["ok"] = report.ok
        result["report"] = report.text()
    result |= {"seconds": round(time.perf_counter() - started, 1), "peak_mb": round(_peak_mb())}
    print(json.dumps(result, ensure_ascii=False))


def _run(args: list[str], budget_end: float) -> dict[str, Any]:
    left = budget_end - time.monotonic()
    if left <= 0:
        return {"skipped": "budget spent"}
    try:
        done = subprocess.run([sys.executable, "-m", "bench.export", "--child", *args],
                              capture_output=True, text=True, timeout=left, check=False)
    except subprocess.TimeoutExpired:
        return {"abandoned": f"over the budget ({left:.0f} s left)"}
    if done.returncode != 0:
        return {"failed": done.stderr[-2000:]}
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "--child":
        child(args[1:])
        return
    parser = argparse.ArgumentParser(prog="python -m bench.export", description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--agents", type=int, default=50_000)
    parser.add_argument("--close", default="2026-01", help="a period to close ('' : none)")
    parser.add_argument("--database-url", help="a server (default: embedded, .data/bench)")
    parser.add_argument("--budget", type=float, default=1800, help="seconds for the whole run")
    opts = parser.parse_args(args)
    end = time.monotonic() + opts.budget
    server = None
    admin = opts.database_url
    if admin is None:
        from eventstore.database import start_embedded

        server = start_embedded(Path(".data") / "bench")
        admin = server.get_uri()
    try:
        with tempfile.TemporaryDirectory() as folder:
            out, keys = Path(folder) / "export.zip", Path(".data") / "bench" / "keys"
            tenant = f"{TENANT}-{opts.events}"
            figures = asyncio.run(_prepare(admin, tenant, opts.events, opts.agents,
                                           opts.close or None, keys))
            url = figures.pop("url")
            print(json.dumps(figures))
            exported = _run(["export", url, tenant, str(keys), str(out)], end)
            exported["zip_mb"] = round(out.stat().st_size / 2**20, 1) if out.exists() else None
            print("export:", json.dumps(exported))
            verified = _run(["verify", str(out)], end)
            print(verified.pop("report", ""))
            print("verify:", json.dumps(verified))
            since = asyncio.run(_middle_date(url, tenant))
            half = Path(folder) / "half.zip"
            ranged = _run(["export", url, tenant, str(keys), str(half), since], end)
            ranged["zip_mb"] = round(half.stat().st_size / 2**20, 1) if half.exists() else None
            print(f"export from {since}:", json.dumps(ranged))
            after = _run(["verify", str(half), str(out)], end)
            print(after.pop("report", ""))
            print("verify --after the whole:", json.dumps(after))
            for what, made, checked in (("export", exported, verified),
                                        (f"export from {since}", ranged, after)):
                peak = made.get("peak_mb")
                if peak is None:
                    continue
                print(f"{what} of {figures['events']} events: {made['seconds']} s, peak "
                      f"{peak} MB (goal < {GOAL_MB} MB: {'met' if peak < GOAL_MB else 'MISSED'})"
                      f"; verify {checked.get('seconds')} s, peak {checked.get('peak_mb')} MB "
                      f"(goal < {GOAL_MB} MB: "
                      f"{'met' if checked.get('peak_mb', GOAL_MB) < GOAL_MB else 'MISSED'})")
    finally:
        if server is not None:
            server.cleanup()


if __name__ == "__main__":
    main()
