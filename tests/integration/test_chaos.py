"""The chaos harness (bench/chaos.py) in a bounded form: at least three cycles of each
fault against the real service under load from 32 agents, every check passing."""

from __future__ import annotations

import pytest

from bench import chaos

pytestmark = pytest.mark.slow
# Every fault the harness knows: the service recovers from each by itself.
RECOVERED = chaos.FAULTS


async def test_nothing_acknowledged_is_lost_or_doubled_and_writes_resume_after_each_fault():
    cycles = await chaos.run(chaos.Options(cycles=3, faults=RECOVERED, load_seconds=2,
                                           resume_bound=20, max_seconds=420))
    print(chaos.summary(cycles))
    assert len(cycles) == 3 * len(RECOVERED)
    assert [c.describe() for c in cycles if not c.ok] == []
    assert sum(c.lost for c in cycles) == 0
    assert sum(c.duplicated for c in cycles) == 0
    assert all(c.acknowledged > 0 for c in cycles)
