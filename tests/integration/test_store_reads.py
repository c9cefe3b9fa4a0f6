"""The store's reads for timelines, lists and the export (eventstore/reads.py) and the
vault's keys of many subjects, on PostgreSQL: each answers what the log holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.ports import NewEvent
from eventstore import reads
from eventstore.postgres import PostgresEventStore
from eventstore.vault import keys_of

T0 = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)


def ev(stream: str, version: int, name: str = "Happened", days: int = 0) -> NewEvent:
    return NewEvent(stream, version, name, f"{stream}:{version}".encode(),
                    T0 + timedelta(days=days), {})


async def _log(store: PostgresEventStore, tenant: str) -> None:
    await store.append(tenant, [ev("product-B", 1, "ProductListed"), ev("a", 1),
                                ev("product-A", 1, "ProductListed"), ev("b", 1, days=1)])
    await store.append(tenant, [ev("a", 2, days=2), ev("product-A", 2, "ProductPriced"),
                                ev("mark", 1, "Checkpoint", days=3), ev("b", 2, days=3)])


async def test_events_of_streams_come_in_log_order_after_a_position(pg_store, pool, tenant):
    await _log(pg_store, tenant)
    found = await reads.events_of_streams(pool, tenant, ["b", "a"], after=0, limit=10)
    assert [(e.position, e.stream, e.version) for e in found] == [
        (2, "a", 1), (4, "b", 1), (5, "a", 2), (8, "b", 2)]
    assert found[0] == (await pg_store.read_stream(tenant, "a"))[0]
    later = await reads.events_of_streams(pool, tenant, ["b", "a"], after=4, limit=1)
    assert [e.position for e in later] == [5]


async def test_streams_with_an_event_of_a_name_come_once_each_by_id(pool, pg_store, tenant):
    await _log(pg_store, tenant)
    assert await reads.streams_with(pool, tenant, "ProductListed", after="", limit=10) == [
        "product-A", "product-B"]
    assert await reads.streams_with(pool, tenant, "ProductListed", after="product-A",
                                    limit=10) == ["product-B"]
    assert await reads.streams_with(pool, tenant, "ProductListed", after="", limit=1) == [
        "product-A"]


async def test_the_export_range_is_found_by_business_time_and_hashed_at_its_ends(
    pool, pg_store, tenant
):
    await _log(pg_store, tenant)
    assert await reads.last_position(pool, tenant) == 8
    assert await reads.last_position(pool, f"{tenant}-none") is None
    assert await reads.first_position_from(pool, tenant, T0 + timedelta(days=1)) == 4
    assert await reads.first_position_from(pool, tenant, T0 + timedelta(days=3)) == 7
    assert await reads.first_position_from(pool, tenant, T0 + timedelta(days=3),
                                           besides="Checkpoint") == 8
    assert await reads.first_position_from(pool, tenant, T0 + timedelta(days=1),
                                           at_least=6) == 7
    assert await reads.first_position_from(pool, tenant, T0 + timedelta(days=9)) is None
    events = await pg_store.read_all(tenant)
    assert await reads.hashes(pool, tenant, (1, 8)) == {
        1: (events[0].prev_hash, events[0].hash), 8: (events[7].prev_hash, events[7].hash)}


async def test_a_scan_streams_a_range_and_the_first_payloads_of_streams(pool, pg_store, tenant):
    await _log(pg_store, tenant)
    async with pool.acquire() as conn, conn.transaction():
        scanned = [e async for e in reads.scan(conn, tenant, 2, 7, prefetch=2)]
        named = [e async for e in reads.scan(conn, tenant, 1, 8, ("ProductListed",),
                                             prefetch=2)]
    assert scanned == (await pg_store.read_all(tenant))[1:7]
    assert [e.stream for e in named] == ["product-B", "product-A"]
    assert await reads.first_payloads(pool, tenant, ["a", "b", "none"]) == {
        "a": b"a:1", "b": b"b:1"}


async def test_keys_of_many_subjects_leave_out_the_destroyed(pg_vault, tenant):
    vault = pg_vault
    kept, gone = await vault.key_for(tenant, "agent:A1"), await vault.key_for(tenant, "agent:A2")
    assert kept != gone
    await vault.destroy(tenant, "agent:A2")
    assert await keys_of(vault.pool, tenant, ["agent:A1", "agent:A2", "agent:A3"],
                         vault.kek) == {
        "agent:A1": kept}
