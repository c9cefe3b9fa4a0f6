"""The event store contract, run against the in-memory twin and PostgreSQL alike."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from domain.ports import EventStore, NewEvent, Tracking, TrackingConflict, VersionConflict
from eventstore.chain import ChainVerifier
from tests.support import eventually

T0 = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)


def ev(
    stream: str, version: int, name: str = "Happened", at: datetime = T0, **meta: str
) -> NewEvent:
    return NewEvent(stream, version, name, f"{stream}:{version}".encode(), at, meta)


async def everything(store: EventStore, tenant: str) -> list:
    return await store.read_all(tenant, limit=1_000_000)


async def test_an_append_is_read_back_in_stream_and_position_order(store, tenant):
    appended = await store.append(tenant, [ev("a", 1), ev("a", 2), ev("b", 1, actor="hq")])
    assert list(appended.positions) == [1, 2, 3]
    stream = await store.read_stream(tenant, "a")
    assert [(e.version, e.payload) for e in stream] == [(1, b"a:1"), (2, b"a:2")]
    b = (await store.read_stream(tenant, "b"))[0]
    assert (b.position, b.metadata, b.business_time) == (3, {"actor": "hq"}, T0)
    assert [e.version for e in await store.read_stream(tenant, "a", desc=True, limit=1)] == [2]
    assert [e.version for e in await store.read_stream(tenant, "a", after_version=1)] == [2]
    assert await store.head(tenant) == 3


async def test_several_streams_are_read_in_one_call_each_after_its_own_version(store, tenant):
    await store.append(tenant, [ev("a", 1), ev("b", 1), ev("a", 2), ev("a", 3), ev("b", 2)])
    found = await store.read_streams(tenant, {"a": 1, "b": 0, "empty": 0, "c": 5})
    assert {s: [(e.stream, e.version) for e in es] for s, es in found.items()} == {
        "a": [("a", 2), ("a", 3)],
        "b": [("b", 1), ("b", 2)],
        "empty": [],
        "c": [],
    }
    assert [e.position for e in found["a"]] == [3, 4]
    assert found["b"] == await store.read_stream(tenant, "b")  # the same recorded events
    assert await store.read_streams(tenant, {"a": 3}) == {"a": []}
    assert await store.read_streams(tenant, {}) == {}
    assert await store.read_streams(f"{tenant}-other", {"a": 0}) == {"a": []}


async def test_a_taken_version_is_a_conflict_and_records_nothing_of_that_append(store, tenant):
    await store.append(tenant, [ev("a", 1)])
    with pytest.raises(VersionConflict, match="a@1"):
        await store.append(tenant, [ev("b", 1), ev("a", 1)])
    with pytest.raises(VersionConflict):
        await store.append(tenant, [ev("c", 1), ev("c", 1)])
    assert [e.stream for e in await everything(store, tenant)] == ["a"]
    assert await store.read_stream(tenant, "b") == []
    assert list((await store.append(tenant, [ev("b", 1)])).positions) == [2]


async def test_a_retried_append_answers_as_the_first_time_and_records_nothing_new(store, tenant):
    first = await store.append(tenant, [ev("a", 1), ev("a", 2)], idempotency_key="k1")
    again = await store.append(tenant, [ev("a", 1), ev("a", 2)], idempotency_key="k1")
    assert again.positions == first.positions
    assert (first.replayed, again.replayed) == (False, True)
    # Even a retry whose events would now conflict answers as the first time did.
    assert (await store.append(tenant, [ev("z", 9)], idempotency_key="k1")).replayed
    assert await store.head(tenant) == 2
    looked_up = await store.recorded(tenant, "k1")
    assert looked_up is not None and looked_up.positions == first.positions
    assert await store.recorded(tenant, "never") is None


async def test_concurrent_retries_with_one_key_record_once(store, tenant):
    results = await asyncio.gather(
        *(store.append(tenant, [ev("a", 1)], idempotency_key="same") for _ in range(8))
    )
    assert {(r.first_position, r.last_position) for r in results} == {(1, 1)}
    assert sum(not r.replayed for r in results) == 1
    assert await store.head(tenant) == 1


async def test_positions_stay_gapless_under_32_concurrent_writers(store, tenant):
    async def writer(n: int) -> int:
        done = 0
        for i in range(15):
            # Every writer also fights over one shared stream, so conflicts happen.
            shared = len(await store.read_stream(tenant, "shared"))
            events = [ev(f"w{n}", i + 1), ev(f"w{n}", i + 1, "Echo")][: 1 + i % 2]
            events = [events[0]] if len(events) == 1 else [events[0], ev(f"x{n}", i + 1)]
            try:
                await store.append(tenant, [*events, ev("shared", shared + 1)])
                done += len(events) + 1
            except VersionConflict:
                await store.append(tenant, events)
                done += len(events)
        return done

    written = sum(await asyncio.gather(*(writer(n) for n in range(32))))
    events = await everything(store, tenant)
    assert [e.position for e in events] == list(range(1, written + 1))
    shared = await store.read_stream(tenant, "shared")
    assert [e.version for e in shared] == list(range(1, len(shared) + 1))
    chain = ChainVerifier(tenant)
    for e in events:
        chain.check(e)


async def test_a_follower_never_skips_or_repeats_while_writers_run(store, tenant, rng):
    total = 32 * 10
    seen: list[int] = []

    async def follow() -> None:
        async for event in store.follow(tenant):
            seen.append(event.position)
            if len(seen) == total:
                return

    follower = asyncio.create_task(follow())

    async def writer(n: int) -> None:
        for i in range(10):
            await store.append(tenant, [ev(f"w{n}", i + 1)])
            await asyncio.sleep(rng.random() / 500)

    await asyncio.gather(*(writer(n) for n in range(32)))
    await asyncio.wait_for(follower, 20)
    assert seen == list(range(1, total + 1))


async def test_a_follower_filtered_by_name_sees_only_those_in_order(store, tenant):
    await store.append(tenant, [ev("a", 1, "Joined"), ev("a", 2, "Sold"), ev("b", 1, "Joined")])
    got = []
    async for event in store.follow(tenant, names=["Joined"]):
        got.append(event.position)
        if len(got) == 2:
            break
    assert got == [1, 3]


async def test_a_listener_hears_each_commit_of_its_tenant_with_its_last_position(
    store, tenant
):
    heard: list[int] = []
    stop = await store.listen(tenant, heard.append)
    try:
        await store.append(tenant, [ev("a", 1), ev("a", 2)])
        await store.append(tenant + "-other", [ev("a", 1)])
        await store.append(tenant, [ev("b", 1)])
        # PostgreSQL delivers its notifications after the commit, in their own time
        # but in commit order: the other tenant's, had it been heard, would come second.
        await eventually(lambda: heard, "both commits heard", until=lambda h: len(h) >= 2)
    finally:
        await stop()
    assert heard == [2, 3]


async def test_the_log_reads_as_of_a_position_or_a_business_time(store, tenant):
    day = timedelta(days=1)
    await store.append(tenant, [ev("a", 1, at=T0), ev("a", 2, at=T0 + 2 * day)])
    await store.append(tenant, [ev("b", 1, at=T0 + day)])  # learnt late: business time earlier
    assert [e.position for e in await store.read_all(tenant, upto_position=2)] == [1, 2]
    as_of = await store.read_all(tenant, upto_business_time=T0 + day)
    assert [(e.stream, e.version) for e in as_of] == [("a", 1), ("b", 1)]
    assert [e.position for e in await store.read_all(tenant, after=1, limit=1)] == [2]
    assert [e.name for e in await store.read_all(tenant, names=["Nope"])] == []


async def test_the_log_reads_lean_with_the_payloads_asked_for(store, tenant):
    await store.append(tenant, [ev("a", 1, "Kept"), ev("a", 2, "Skipped"), ev("b", 1, "Kept")])
    full = await everything(store, tenant)
    lean = await store.read_log(tenant, payloads=("Kept",))
    assert [(e.position, e.stream, e.name, e.business_time) for e in lean] == [
        (e.position, e.stream, e.name, e.business_time) for e in full
    ]
    assert [e.payload for e in lean] == [b"a:1", None, b"b:1"]
    assert [e.position for e in await store.read_log(tenant, after=1, limit=1)] == [2]
    assert [e.payload for e in await store.read_log(tenant, after=2)] == [None]


async def test_tracking_moves_forward_only_and_atomically_with_its_events(store, tenant):
    await store.append(tenant, [ev("a", 1)], tracking=Tracking("reader", 5))
    assert await store.tracking_position(tenant, "reader") == 5
    with pytest.raises(TrackingConflict):
        await store.append(tenant, [ev("a", 2)], tracking=Tracking("reader", 5))
    with pytest.raises(TrackingConflict):
        await store.append(tenant, [], tracking=Tracking("reader", 4))
    assert await store.head(tenant) == 1
    assert await store.tracking_position(tenant, "other") is None


async def test_tenants_are_separate_ledgers(store, tenant):
    await store.append(tenant, [ev("a", 1)])
    other = tenant + "-other"
    await store.append(other, [ev("a", 1)])
    assert await store.head(tenant) == await store.head(other) == 1
    (mine,) = await everything(store, tenant)
    (theirs,) = await everything(store, other)
    assert mine.hash != theirs.hash


def test_metadata_must_be_json_scalars():
    with pytest.raises(TypeError):
        NewEvent("a", 1, "X", b"", T0, {"amount": 1.5})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="timezone"):
        NewEvent("a", 1, "X", b"", datetime(2026, 1, 1))
