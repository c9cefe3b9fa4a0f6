"""As of random past positions and business times in a random journal, the tree read
from the projection equals the tree rebuilt by replaying the Agent aggregates from the
events recorded up to that point: whole tree, one agent, and one agent's downline."""

from __future__ import annotations

import uuid
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.importing import run_journal
from eventstore.memory_vault import InMemoryKeyVault
from eventstore.postgres import PostgresEventStore
from projections.runner import ProjectionRunner
from projections.sales import SalesProjection
from projections.tree import TreeProjection, queries
from tests.projections.support import Tree, as_tree, journals, replayed_tree

NUDGE = (timedelta(0), timedelta(microseconds=-1), timedelta(hours=6))


def _downline(tree: Tree, root: str) -> Tree:
    """`root` and everyone whose chain of sponsors reaches it."""
    def under(agent: str | None) -> bool:
        while agent is not None:
            if agent == root:
                return True
            agent = tree[agent][0]
        return False

    return {a: facts for a, facts in tree.items() if under(a)}


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(journal=journals(max_commands=50), data=st.data())
async def test_the_tree_as_of_any_point_equals_the_aggregates_replayed_to_it(
    pool, journal: list[str], data: st.DataObject
) -> None:
    tenant = f"t-{uuid.uuid4().hex[:12]}"
    store = PostgresEventStore(pool)
    try:
        await run_journal(store, InMemoryKeyVault(), tenant, journal)
        runner = ProjectionRunner(
            pool, store, [TreeProjection(), SalesProjection()], batch=7, tenant=tenant
        )
        await runner.ensure()
        await runner.catch_up_all()
        recorded = await store.read_all(tenant, limit=10**6)
        for _ in range(4):
            event = data.draw(st.sampled_from(recorded), label="event")
            at = event.business_time + data.draw(st.sampled_from(NUDGE), label="nudge")
            for point in ({"position": event.position}, {"at": at}):
                want = await replayed_tree(store, tenant, **point)  # type: ignore[arg-type]
                assert as_tree(await queries.tree_as_of(pool, tenant, **point)) == want, point
                if not want:
                    continue
                agent = data.draw(st.sampled_from(sorted(want)), label="agent")
                node = await queries.agent_as_of(pool, tenant, agent, **point)
                assert node is not None and as_tree([node])[agent] == want[agent]
                subtree = await queries.tree_as_of(pool, tenant, agent=agent, **point)
                assert subtree[0].agent == agent
                assert as_tree(subtree) == _downline(want, agent)
                summary = await queries.downline_summary(pool, tenant, agent, **point)
                assert (summary.direct, summary.total) == want[agent][4:]
    finally:
        await store.close()
