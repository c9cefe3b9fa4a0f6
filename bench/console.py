"""The console's pages on a brand of 100,000 agents: each page's server time, p50/p95,
and the genealogy's expand time.

    python -m bench.console [--database-url URL] [--tenant console] [--agents 100000]
                            [--commands 1000000] [--samples 40] [--data-dir DIR]

The brand is built once and reused: when the tenant has no events, a journal is
generated (cli/journal_generator.py: `--agents` agents over `--commands` commands, six
months) and run through the real `weiledger import` in a child process; the read
models are then caught up (a projection whose code changed is rebuilt), the watchers
raise their alerts, and checkpoints are signed with a key made for the run. Building
takes long (an hour at a few hundred commands a second): give it a database of its own
and keep it (the default is the embedded server's `weiledger_console` in .data/bench).

Each page is timed as the console asks for it (console/data, the same functions the
routes render), over a sample of real inputs: overview of each of the last months;
agents by id prefix, by tier and depth, in the downline of a top agent, and the next
page (by prefix and in a downline also as of a past date); an agent's page now and as of
a past date; the genealogy's children of the top, of a partner and of a general agent
(the expand), as of today and of a past date, and a subtree chart; an event by position
and the log filtered by kind, stream and day.
With `--background` the pages are timed in a process that leads the tenant's background:
first the overview while its watchers replay the log from 0 (as at each start of a
leader), against the same page once they are done; then every page.
Goal (issue 20): p95 under 200 ms for every page. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.deps import Services
from cli.journal_generator import Journal
from config.runtime import tune_gc
from config.settings import Settings
from console.data import agent, agents, events, genealogy, overview
from console.data.moments import as_of
from domain.ledger import Ledger
from domain.periods import cst_date, period_of, previous_period
from eventstore.database import close_pool, create_pool
from eventstore.kek import kek_files
from eventstore.migrate import migrate
from eventstore.postgres import PostgresEventStore
from eventstore.vault import PostgresKeyVault
from export.checkpoints import checkpoint
from projections.registry import all_projections
from projections.runner import ProjectionRunner
from projections.tree.queries import AgentFilter
from projections.watchers import run_watchers

ROOT = Path(__file__).resolve().parents[1]
DATABASE = "weiledger_console"
APP_ROLE = "weiledger_app"


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


async def ensure_database(url: str) -> None:
    """The database named in `url`, created (and migrated) if missing."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    conn = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()


def build(url: str, tenant: str, data_dir: Path, agents_wanted: int, commands: int) -> None:
    """Generate the journal and import it with the real command line."""
    with tempfile.TemporaryDirectory(prefix="bench-console-") as folder:
        journal = Path(folder) / "journal.jsonl"
        started = time.perf_counter()
        with journal.open("w", encoding="utf-8") as out:
            for line in Journal(commands, agents=agents_wanted).lines():
                out.write(line + "\n")
        print(f"journal: {commands:,} commands, {agents_wanted:,} agents, generated in"
              f" {time.perf_counter() - started:.0f} s", flush=True)
        started = time.perf_counter()
        env = {**os.environ, "DATABASE_URL": url, "WEILEDGER_DATA_DIR": str(data_dir)}
        subprocess.run([sys.executable, "-m", "cli.app", "import", str(journal),
                        "--tenant", tenant, "--no-progress"],
                       cwd=ROOT, env=env, check=True)
        print(f"imported in {time.perf_counter() - started:.0f} s", flush=True)


async def prepare(pool: asyncpg.Pool, store: PostgresEventStore, tenant: str) -> None:
    """Read models caught up, alerts raised, checkpoints signed: what the service's
    background would have done by now."""
    started = time.perf_counter()
    raised = await run_watchers(store, tenant)
    runner = ProjectionRunner(pool, store, all_projections(), tenant=tenant)
    await runner.ensure()
    applied = await runner.catch_up_all()
    signed = await checkpoint(store, tenant, Ed25519PrivateKey.generate())
    if signed:  # the checkpoints are events too
        await runner.catch_up_all()
    print(f"prepared in {time.perf_counter() - started:.0f} s: {raised} alert events,"
          f" {applied:,} events projected, {len(signed)} checkpoints signed", flush=True)


@asynccontextmanager
async def services_on(url: str, tenant: str, data_dir: Path) -> AsyncIterator[Services]:
    settings = Settings(database_url=url, tenant=tenant, data_dir=data_dir)
    pool = await create_pool(url, app_role=APP_ROLE, size=4)
    store = PostgresEventStore(pool)
    try:
        vault = await PostgresKeyVault.open(pool, kek_files(settings))
        yield Services(settings=settings, tenant=tenant, pool=pool, store=store,
                       ledger=Ledger(store, vault), tokens=None)  # type: ignore[arg-type]
    finally:
        await store.close()
        await close_pool(pool)


def figures(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (f"p50 {statistics.median(ordered) * 1000:6.1f} ms  p95 {p95 * 1000:6.1f} ms"
            f"  max {ordered[-1] * 1000:6.1f} ms  (n={len(ordered)})")


async def timed(label: str, calls: list[Callable[[], Awaitable[Any]]]) -> list[float]:
    took = []
    for call in calls:
        started = time.perf_counter()
        await call()
        took.append(time.perf_counter() - started)
    print(f"{label:<44} {figures(took)}", flush=True)
    return took


async def sample(services: Services, rng: random.Random, n: int) -> dict[str, Any]:
    """Real inputs: agents at each depth, the span of business time, positions."""
    top = await genealogy.children(services, None, as_of=None, limit=10_000)
    tops = [m.agent for m in top.rows]
    partners = rng.sample(tops, min(n, len(tops)))
    generals: list[str] = []
    for p in partners[:10]:
        generals += [m.agent for m in (await genealogy.children(services, p, as_of=None)).rows]
    head = await services.store.head(services.tenant)
    first = (await services.store.read_all(services.tenant, after=0, limit=1))[0].business_time
    last = (await services.store.read_all(services.tenant, after=head - 1, limit=1)
            )[0].business_time
    return {"tops": tops, "partners": partners, "generals": generals or partners,
            "head": head, "first": first, "last": last}


def past_day(rng: random.Random, first: datetime, last: datetime) -> date:
    span = (last - first).total_seconds()
    return cst_date(first + timedelta(seconds=rng.uniform(0.3, 0.9) * span))


async def measure(services: Services, n: int, seed: int) -> None:
    rng = random.Random(seed)
    s = await sample(services, rng, n)
    agents_now = await agents.agents(services, AgentFilter(), limit=1)
    print(f"brand {services.tenant!r}: head {s['head']:,}, {len(s['tops']):,} agents at the"
          f" top, business time {s['first']:%Y-%m-%d} .. {s['last']:%Y-%m-%d}"
          f" (first agent {agents_now.rows[0].agent if agents_now.rows else None})", flush=True)
    last_period = period_of(s["last"])
    periods = [last_period]
    for _ in range(5):
        periods.append(previous_period(periods[-1]))
    now = s["last"] + timedelta(hours=1)
    days = [past_day(rng, s["first"], s["last"]) for _ in range(n)]
    ids = [rng.choice(s["partners"] + s["generals"]) for _ in range(n)]

    pages: dict[str, list[float]] = {}
    pages["overview"] = await timed("overview (a month vs the one before)", [
        partial(overview.overview, services, p, now=now) for p in rng.choices(periods, k=n)])
    pages["agents"] = await timed("agents: id prefix", [
        partial(agents.agents, services, AgentFilter(prefix=a[:3]), now=now) for a in ids])
    pages["agents"] += await timed("agents: tier + depth, second page", [
        (lambda: agents.agents(services, AgentFilter(tier="first", depth=3), after="A5",
                               now=now)) for _ in range(n)])
    pages["agents"] += await timed("agents: in the downline of a partner", [
        partial(agents.agents, services, AgentFilter(under=a), now=now)
        for a in rng.choices(s["partners"], k=n)])
    pages["agents"] += await timed("agents: id prefix, as of a past date", [
        partial(agents.agents, services, AgentFilter(prefix=a[:3]), as_of=as_of(d))
        for a, d in zip(ids, days, strict=True)])
    pages["agents"] += await timed("agents: under a partner, as of a past date", [
        partial(agents.agents, services, AgentFilter(under=a), as_of=as_of(d))
        for a, d in zip(rng.choices(s["partners"], k=n), days, strict=True)])
    pages["agent"] = await timed("agent page, now", [
        partial(agent.agent_page, services, a, as_of=None) for a in ids])
    pages["agent"] += await timed("agent page, as of a past date", [
        partial(agent.agent_page, services, a, as_of=as_of(d))
        for a, d in zip(ids, days, strict=True)])
    expand = await timed("genealogy expand: a partner's recruits", [
        partial(genealogy.children, services, a, as_of=None)
        for a in rng.choices(s["partners"], k=n)])
    expand += await timed("genealogy expand: a general's recruits", [
        partial(genealogy.children, services, a, as_of=None)
        for a in rng.choices(s["generals"], k=n)])
    expand += await timed("genealogy expand, as of a past date", [
        partial(genealogy.children, services, a, as_of=as_of(d))
        for a, d in zip(rng.choices(s["partners"], k=n), days, strict=True)])
    top = await timed("genealogy: the top (first page)", [
        partial(genealogy.children, services, None, as_of=as_of(d)) for d in days])
    chart = await timed("genealogy: subtree chart (<= 500 nodes)", [
        partial(genealogy.chart, services, a, as_of=None)
        for a in rng.choices(s["partners"], k=n)])
    pages["genealogy"] = top + expand + chart
    pages["events"] = await timed("event by position", [
        partial(events.event, services, p)
        for p in (rng.randint(1, s["head"]) for _ in range(n))])
    pages["events"] += await timed("events: by kind", [
        partial(events.events, services, name=k)
        for k in rng.choices(["AgentJoined", "PeriodClosed", "AlertRaised", "StockPurchased",
                              "CheckpointSigned"], k=n)])
    pages["events"] += await timed("events: by stream", [
        partial(events.events, services, stream=f"stock-{a}") for a in ids])
    pages["events"] += await timed("events: by day", [
        partial(events.events, services, first_day=d, last_day=d) for d in days])
    print()
    print("per page, every sample above:")
    for name, took in pages.items():
        print(f"  {name:<12} {figures(took)}")
    print(f"  {'expand':<12} {figures(expand)}")


async def over_http(url: str, tenant: str, data_dir: Path, n: int, seed: int,
                    background: bool) -> None:
    """The pages themselves, rendered by the app (in process: the server's time, no
    network), for an auditor's session. `background`: the app also leads the tenant's
    projections and watchers in its own event loop (one process of a deployment does,
    projections/background.py); the pages then wait behind that work whenever it runs."""
    import httpx

    from api.app import create_app
    from console.pages import SESSION_COOKIE
    from eventstore.principals import Role, create_principal
    from eventstore.sign_in import open_session, set_password

    rng = random.Random(seed)
    app = create_app(Settings(database_url=url, tenant=tenant, data_dir=data_dir),
                     background=background)
    began = time.perf_counter()
    async with app.router.lifespan_context(app):
        await app.state.startup.opened()
        services: Services = app.state.services
        s = await sample(services, rng, n)
        principal = await create_principal(services.pool, tenant, Role.AUDITOR, "bench")
        await set_password(services.pool, principal, f"bench-{secrets.token_hex(4)}",
                           "a bench password")
        secret = await open_session(services.pool, principal, timedelta(hours=1))
        days = [past_day(rng, s["first"], s["last"]).isoformat() for _ in range(n)]
        ids = [rng.choice(s["partners"] + s["generals"]) for _ in range(n)]
        period = period_of(s["last"])
        paths = {
            "overview": [f"/console/?period={period}"] * n,
            "agents": [f"/console/agents?q={a[:3]}" for a in ids]
            + ["/console/agents?tier=first&depth=3"] * n,
            "agent": [f"/console/agents/{a}" for a in ids]
            + [f"/console/agents/{a}?as_of={d}" for a, d in zip(ids, days, strict=True)],
            "genealogy": [f"/console/genealogy?as_of={d}" for d in days]
            + [f"/console/genealogy?chart={a}" for a in rng.choices(s["partners"], k=n)],
            "expand": [f"/console/genealogy/children?sponsor={a}"
                       for a in rng.choices(s["partners"] + s["generals"], k=n)],
            "events": [f"/console/events/{rng.randint(1, s['head'])}" for _ in range(n)]
            + ["/console/events?kind=AgentJoined"] * n,
        }
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                     cookies={SESSION_COOKIE: secret}) as client:
            if background:  # the pages while the watchers replay the log from 0
                await during_replay(client, app.state.background, services, tenant,
                                    paths["overview"][0], began)
            # Every path once, untimed: templates compiled, and the app's background
            # (projections, watchers: in this process) past its start-up catch-up.
            for wanted in paths.values():
                for path in wanted:
                    await client.get(path)
            print("\nover HTTP (the console's routes and templates), in a process that"
                  f" {'leads' if background else 'does not lead'} the background:")
            for name, wanted in paths.items():
                took = []
                for path in wanted:
                    started = time.perf_counter()
                    answer = await client.get(path, headers={"HX-Request": "true"}
                                              if name == "expand" else None)
                    took.append(time.perf_counter() - started)
                    # 404: an agent's page as of a day before it joined
                    if answer.status_code != 200 and not (
                            name == "agent" and answer.status_code == 404):
                        raise SystemExit(f"{path}: {answer.status_code}")
                print(f"  {name:<12} {figures(took)}", flush=True)


async def during_replay(client: Any, background: Any, services: Services, tenant: str,
                        path: str, began: float) -> None:
    """`path`, asked again and again while a leading process's watchers replay the log
    from 0 (at each start of a leader) in the event loop the pages share, until they
    reach the head; then the same number of times after. `began`: when the app started
    (and with it the replay, before the first of these requests)."""
    head = await services.store.head(tenant)
    await client.get(path)  # its template compiled
    took: list[float] = []
    first = time.perf_counter()
    while (w := background.watchers) is None or w.position < head:
        if time.perf_counter() - first > 3600:
            raise SystemExit("the watchers never reached the head: is another process leading?")
        took.append(await _timed_get(client, path))
    done = time.perf_counter()
    after = [await _timed_get(client, path) for _ in range(max(len(took), 1))]
    print(f"\n{path} while the leader's watchers replayed {head:,} events from 0"
          f" (done {done - began:.0f} s after the app started; {len(took)} requests in its"
          f" last {done - first:.0f} s): {figures(took) if took else '-'}"
          f"\n  and once they were done: {figures(after)}", flush=True)


async def _timed_get(client: Any, path: str) -> float:
    started = time.perf_counter()
    answer = await client.get(path)
    if answer.status_code != 200:
        raise SystemExit(f"{path}: {answer.status_code}")
    return time.perf_counter() - started


async def main_async(args: argparse.Namespace) -> None:
    tune_gc()
    url = args.database_url
    await ensure_database(url)
    data_dir = args.data_dir
    async with services_on(url, args.tenant, data_dir) as services:
        head = await services.store.head(args.tenant)
    if head == 0:
        build(url, args.tenant, data_dir, args.agents, args.commands)
    async with services_on(url, args.tenant, data_dir) as services:
        await prepare(services.pool, services.store, args.tenant)
        await measure(services, args.samples, args.seed)
    await over_http(url, args.tenant, data_dir, args.samples, args.seed, args.background)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a database of its own, kept between runs"
                        f" (default: {DATABASE} on the embedded server in .data/bench)")
    parser.add_argument("--tenant", default="console")
    parser.add_argument("--agents", type=int, default=100_000)
    parser.add_argument("--commands", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--background", action="store_true",
                        help="time the pages in a process that also runs the projections"
                        " and watchers")
    parser.add_argument("--data-dir", default=str(ROOT / ".data" / "bench-console"),
                        help="the brand's keys (its KEK) live here, beside the database")
    args = parser.parse_args()
    args.data_dir = Path(args.data_dir).resolve()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    if args.database_url:
        asyncio.run(main_async(args))
        return
    from eventstore.database import start_embedded

    server = start_embedded(ROOT / ".data" / "bench")
    try:
        args.database_url = with_database(server.get_uri(), DATABASE)
        asyncio.run(main_async(args))
    finally:
        server.cleanup()


if __name__ == "__main__":
    main()
