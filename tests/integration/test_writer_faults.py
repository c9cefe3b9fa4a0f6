"""The tenant's writer through a caller that leaves, a database killed and started
again, and a database that does not answer (issue 16): it answers every caller, fails
what it cannot commit with DatabaseUnavailable, and commits again once it can."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from bench.postgres import LocalPostgres
from domain.ports import Appended, NewEvent
from eventstore.database import close_pool, create_pool
from eventstore.errors import DatabaseUnavailable
from eventstore.postgres import PostgresEventStore
from tests.support import eventually

T0 = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)


def ev(stream: str, version: int = 1) -> NewEvent:
    return NewEvent(stream, version, "Happened", f"{stream}:{version}".encode(), T0)


async def blocked_appends(admin: asyncpg.Connection) -> int:
    """Appends waiting for the tenant's chain-head lock."""
    found: int = await admin.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        " AND query LIKE '%wl_append%'")
    return found


async def test_a_caller_gone_mid_batch_leaves_every_other_caller_answered(
    pg_store, tenant, database_url
):
    """Before: setting the result of the cancelled caller's future raised
    InvalidStateError inside the batch, and every later request of it got that error
    though its events were committed (a client without a key then records twice)."""
    await pg_store.append(tenant, [ev("seed")])
    admin = await asyncpg.connect(database_url)
    try:
        # Hold the tenant's chain head: the next batch waits on it, in flight.
        lock = admin.transaction()
        await lock.start()
        await admin.execute("SELECT 1 FROM chain_heads WHERE tenant = $1 FOR UPDATE", tenant)
        first = asyncio.create_task(pg_store.append(tenant, [ev("first")]))
        await eventually(lambda: blocked_appends(admin), "the first batch waits on the lock")
        # These three arrive while it waits: one batch after it, with the gone caller
        # first among them, as a client that disconnects.
        gone = asyncio.create_task(pg_store.append(tenant, [ev("gone")]))
        stays = [asyncio.create_task(pg_store.append(tenant, [ev(f"stays-{n}")]))
                 for n in range(3)]
        await asyncio.sleep(0.05)
        gone.cancel()
        first.cancel()  # and one caller of the batch in flight too
        await lock.rollback()
    finally:
        await admin.close()
    answers = await asyncio.wait_for(asyncio.gather(*stays, return_exceptions=True), 10)
    assert all(isinstance(a, Appended) for a in answers), answers
    streams = {e.stream for e in await pg_store.read_all(tenant)}
    # The batch in flight committed (its caller gone, its events kept); the caller that
    # left before its batch was sent recorded nothing.
    assert streams == {"seed", "first", "stays-0", "stays-1", "stays-2"}
    assert (await pg_store.append(tenant, [ev("after")])).first_position == 6


@pytest.fixture
async def own_store(own_postgres: LocalPostgres) -> AsyncIterator[PostgresEventStore]:
    pool = await create_pool(own_postgres.url, app_role="weiledger_app", size=4)
    store = PostgresEventStore(pool)
    yield store
    await store.close()
    await close_pool(pool)


async def append_until_it_commits(store: PostgresEventStore, tenant: str, stream: str,
                                  within: float = 15.0) -> tuple[Appended, list[str]]:
    """Append once a moment until one commits; what failed before, by its reason."""
    failed: list[str] = []
    started = time.monotonic()
    while True:
        try:
            async with asyncio.timeout(within):  # the bound a writer that died broke
                return await store.append(tenant, [ev(stream)], idempotency_key=stream), failed
        except DatabaseUnavailable as error:
            failed.append(error.reason)
        if time.monotonic() - started > within:
            raise AssertionError(f"no append committed within {within} s: {failed[-3:]}")
        await asyncio.sleep(0.1)


async def test_appends_fail_fast_while_the_database_is_killed_and_commit_once_it_is_back(
    own_postgres, own_store, tenant
):
    """Before: the writer's task died on the failed pool.acquire() once the postmaster
    was SIGKILLed, and every append after waited for ever."""
    assert (await own_store.append(tenant, [ev("before")])).first_position == 1
    own_postgres.kill()
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable):
        async with asyncio.timeout(15):
            for n in range(50):  # the pool's idle connection may answer once more
                await own_store.append(tenant, [ev(f"down-{n}")])
                await asyncio.sleep(0.1)
    assert time.monotonic() - started < 3 + 2
    # A failed acquire, then the server back: the same store (and writer) commits.
    with pytest.raises(DatabaseUnavailable):
        await own_store.append(tenant, [ev("still-down")])
    await asyncio.to_thread(own_postgres.start)
    appended, _failed = await append_until_it_commits(own_store, tenant, "after")
    events = await own_store.read_all(tenant)
    assert [e.stream for e in events][-1] == "after"
    assert appended.last_position == events[-1].position
    following = await own_store.append(tenant, [ev("next")])
    assert following.first_position == appended.last_position + 1


async def test_appends_during_a_clean_shutdown_fail_with_the_reason_and_resume_after(
    own_postgres, own_store, tenant
):
    await own_store.append(tenant, [ev("before")])
    await asyncio.to_thread(own_postgres.stop)  # admin shutdown of every session
    with pytest.raises(DatabaseUnavailable):
        await own_store.append(tenant, [ev("down")])
    await asyncio.to_thread(own_postgres.start)
    await append_until_it_commits(own_store, tenant, "after")
    assert [e.stream for e in await own_store.read_all(tenant)] == ["before", "after"]


async def test_an_append_the_database_never_answers_fails_after_the_bound(
    pg_store, tenant, database_url
):
    """No append waits without a bound: one stuck behind a lock nobody releases hears
    DatabaseUnavailable after the store's timeout, saying it may have been recorded."""
    store = PostgresEventStore(pg_store.pool, timeout=1.0)
    await store.append(tenant, [ev("seed")])
    admin = await asyncpg.connect(database_url)
    try:
        async with admin.transaction():
            await admin.execute("SELECT 1 FROM chain_heads WHERE tenant = $1 FOR UPDATE",
                                tenant)
            started = time.monotonic()
            with pytest.raises(DatabaseUnavailable, match="may have been recorded"):
                await store.append(tenant, [ev("stuck")])
            assert time.monotonic() - started < 3
    finally:
        await admin.close()
    assert (await store.append(tenant, [ev("after")])).first_position >= 2
    await store.close()


def test_own_postgres_is_not_the_suites_server(own_postgres: LocalPostgres, database_url: str):
    assert own_postgres.url.split("@")[-1] != database_url.split("@")[-1]
