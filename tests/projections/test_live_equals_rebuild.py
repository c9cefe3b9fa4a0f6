"""For random journals, every projection followed live (caught up every few commands,
in small batches) equals the same projection rebuilt from position 0, table for table."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.importing import run_journal
from eventstore.memory_vault import InMemoryKeyVault
from eventstore.postgres import PostgresEventStore
from projections.registry import all_projections
from projections.runner import ProjectionRunner, live_schema
from tests.projections.support import dump, journals, renamed


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(journal=journals(), every=st.integers(1, 6), batch=st.integers(1, 9))
async def test_every_projection_followed_live_equals_its_rebuild_from_position_zero(
    pool, journal: list[str], every: int, batch: int
) -> None:
    tenant = f"t-{uuid.uuid4().hex[:12]}"
    store = PostgresEventStore(pool)
    vault = InMemoryKeyVault()
    live = ProjectionRunner(pool, store, all_projections(), batch=batch, tenant=tenant)
    await live.ensure()
    try:
        for start in range(0, len(journal), every):
            await run_journal(store, vault, tenant, journal[start:start + every])
            await live.catch_up_all()
        assert live.halted == {}

        fresh = [renamed(p, "rebuilt") for p in all_projections()]
        rebuilt = ProjectionRunner(pool, store, fresh, tenant=tenant)
        await rebuilt.ensure()
        await rebuilt.catch_up_all()
        assert rebuilt.halted == {}
    finally:
        await store.close()

    head = await store.head(tenant)
    for p, q in zip(all_projections(), fresh, strict=True):
        followed = await dump(pool, live_schema(p), tenant)
        assert followed["checkpoint"] == [(tenant, head)]
        assert followed == await dump(pool, live_schema(q), tenant), p.name
    tree = await dump(pool, "rm_tree", tenant)
    assert tree["nodes"], "the journal's first join (A1) is in the tree"
