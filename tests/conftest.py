"""One fresh PostgreSQL database per test run, on the embedded server or DATABASE_URL.

Tests isolate themselves by tenant: every tenant has its own positions and chain, so a
fresh tenant is a fresh ledger without a fresh database.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from bench.postgres import LocalPostgres
from config.settings import Settings
from eventstore.database import close_pool, create_pool, start_embedded
from eventstore.kek import Kek, kek_files
from eventstore.memory import InMemoryEventStore
from eventstore.migrate import migrate
from eventstore.postgres import PostgresEventStore
from eventstore.vault import PostgresKeyVault

ROOT = Path(__file__).resolve().parents[1]
TEST_URL_VAR = "WEILEDGER_TEST_DATABASE_URL"
SEED_VAR = "WEILEDGER_TEST_SEED"


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


async def _create(admin_url: str, name: str) -> str:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = with_database(admin_url, name)
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return url


async def _drop(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def pytest_configure(config: pytest.Config) -> None:
    # One key-encryption key for the run, by setting, so every process (the CLI's too)
    # opens the shared test database's personal-data keys whatever its keys folder; a
    # test of the KEK files sets WEILEDGER_KEK="" for its own database.
    os.environ.setdefault("WEILEDGER_KEK", Kek.generate().text())
    config._weiledger_db = None  # type: ignore[attr-defined]
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        return  # pytest-xdist's controller: each worker has a database (and server) of its own
    server = None
    admin = os.environ.get("DATABASE_URL")
    if not admin:
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        server = start_embedded(ROOT / ".data" / ("test" if worker is None else f"test-{worker}"))
        admin = server.get_uri()
    config._weiledger_server = server  # type: ignore[attr-defined]
    name = f"wl_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    os.environ[TEST_URL_VAR] = asyncio.run(_create(admin, name))
    config._weiledger_db = _CONFIG["db"] = (admin, name)  # type: ignore[attr-defined]


def pytest_unconfigure(config: pytest.Config) -> None:
    if config._weiledger_db is None:  # type: ignore[attr-defined]
        return
    admin, name = config._weiledger_db  # type: ignore[attr-defined]
    asyncio.run(_drop(admin, name))
    if config._weiledger_server is not None:  # type: ignore[attr-defined]
        config._weiledger_server.cleanup()  # type: ignore[attr-defined]


def pytest_report_header(config: pytest.Config) -> str:
    if config._weiledger_db is None:  # type: ignore[attr-defined]
        return "weiledger test databases: one per worker"
    admin, name = config._weiledger_db  # type: ignore[attr-defined]
    where = "embedded PostgreSQL" if "DATABASE_URL" not in os.environ else admin.rsplit("@")[-1]
    return f"weiledger test database: {name} on {where}"


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> random.Random:
    """Randomness a failure can be run again with: seeded with WEILEDGER_TEST_SEED (15
    unless set), and the seed is printed in the report of a test that fails."""
    seed = int(os.environ.get(SEED_VAR, "15"))
    request.node.stash[_SEED] = seed
    return random.Random(seed)


_SEED = pytest.StashKey[int]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    report: pytest.TestReport = yield
    if report.failed and _SEED in item.stash:
        report.sections.append(("random seed", f"{SEED_VAR}={item.stash[_SEED]}"))
    return report


@pytest.fixture
async def fresh_database() -> AsyncIterator[str]:
    """A database of its own, migrated, for tests that break things on purpose."""
    admin, _ = server_and_database()
    name = f"wl_own_{uuid.uuid4().hex[:12]}"
    url = await _create(admin, name)
    yield url
    await _drop(admin, name)


def server_and_database() -> tuple[str, str]:
    return _CONFIG["db"]


_CONFIG: dict[str, tuple[str, str]] = {}


def run_cli(*args: str, database: str, timeout: float = 120,
            env: dict[str, str] | None = None,
            stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run the real `weiledger` command line against a database, as an operator would
    (`env`: more environment variables; `stdin`: what it reads, e.g. a password)."""
    env = {**os.environ, "DATABASE_URL": database, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "cli.app", *args], input=stdin,
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )


@pytest.fixture(scope="session")
def own_postgres() -> Iterator[LocalPostgres]:
    """A PostgreSQL for the fault tests alone, to kill and start again (never the
    suite's server nor the machine's), migrated. Under .data, as the suite's: pytest's
    own temporary folders are private to root, and the server runs as a user of its own."""
    server = LocalPostgres(ROOT / ".data" / "faults" / f"{os.getpid()}").init().start()
    asyncio.run(_migrated(server.url))
    yield server
    server.remove()


async def _migrated(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def database_url() -> str:
    """The test database, connected as its owner (superuser on the test servers)."""
    return os.environ[TEST_URL_VAR]


@pytest.fixture(scope="session")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """Connections holding the service's role: INSERT and SELECT on events, no more."""
    pool = await create_pool(database_url, app_role="weiledger_app", size=40)
    yield pool
    await close_pool(pool)


@pytest.fixture
async def pg_vault(pool: asyncpg.Pool) -> PostgresKeyVault:
    """The personal-data key vault on the test database, under the run's KEK."""
    return await PostgresKeyVault.open(pool, kek_files(Settings()))


@pytest.fixture
def tenant() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def pg_store(pool: asyncpg.Pool) -> AsyncIterator[PostgresEventStore]:
    store = PostgresEventStore(pool)
    yield store
    await store.close()


@pytest.fixture(params=["memory", "postgres"])
async def store(
    request: pytest.FixtureRequest, pool: asyncpg.Pool
) -> AsyncIterator[InMemoryEventStore | PostgresEventStore]:
    """The same contract, run against the in-memory twin and against PostgreSQL."""
    if request.param == "memory":
        yield InMemoryEventStore()
    else:
        pg = PostgresEventStore(pool)
        yield pg
        await pg.close()
