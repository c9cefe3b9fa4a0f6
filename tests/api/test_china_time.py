"""The API shows every time in China time (+08:00), and an `as_of` is a date (the end of
that day, China time) or a time with its offset; a time without one is refused."""

from __future__ import annotations

from pathlib import Path

from tests.api.conftest import Api
from tests.api.journal_http import to_request
from tests.support import eventually

# A2 buys 30 units on the 6th, sells 2 on the 10th (S1; S2 and S3 are refused) and is
# suspended at 2026-01-21T09:00+08:00 (line 22).
JOURNAL = (Path(__file__).parents[2].parent / "shared" / "scenarios"
           / "02-stock-and-sales.jsonl").read_text("utf-8").splitlines()


async def _replay(api: Api) -> None:
    for number, line in enumerate(JOURNAL, start=1):
        path, body = to_request(line)
        await api.call("POST", path, json=body, key=f"line-{number}")
    # The tree is a read model the background runner keeps: wait for the suspension.
    await eventually(lambda: _as_of(api, "2026-12-31"), "A2 suspended in the tree",
                     until=lambda found: found["place"]["status"] == "suspended")


async def _as_of(api: Api, when: str) -> dict:
    answer = await api.call("GET", "/v1/agents/A2/as-of", params={"as_of": when})
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_as_of_a_date_is_the_end_of_that_day_in_china(api: Api) -> None:
    await _replay(api)
    before = await _as_of(api, "2026-01-20")
    assert before["as_of"] == "2026-01-20T23:59:59.999999+08:00"
    assert before["place"]["status"] == "active"
    day = await _as_of(api, "2026-01-21")  # the suspension is that morning
    assert day["place"]["status"] == "suspended"
    assert (await _as_of(api, "2026-01-21T08:59:59+08:00"))["place"]["status"] == "active"
    assert (await _as_of(api, "2026-01-21T01:00:00Z"))["place"]["status"] == "suspended"
    assert (await _as_of(api, "2026-01-09"))["stock"]["units"] == {"TEA-01": 30}
    assert (await _as_of(api, "2026-01-10"))["stock"]["units"] == {"TEA-01": 28}

    for refused in ("2026-01-21T09:00:00", "2026-13-01", "20260121", "1999-01-01"):
        answer = await api.call("GET", "/v1/agents/A2/as-of", params={"as_of": refused})
        assert answer.status_code == 422, (refused, answer.text)
        assert answer.json()["rule"] == "invalid-request"


async def test_every_time_shown_is_in_china_time(api: Api) -> None:
    await _replay(api)
    timeline = (await api.call("GET", "/v1/agents/A2/timeline")).json()["items"]
    joined = timeline[0]
    assert joined["name"] == "AgentJoined"
    assert joined["business_time"] == "2026-01-05T10:00:00+08:00"
    assert all(e["recorded_at"].endswith("+08:00") for e in timeline)
    sales = (await api.call("GET", "/v1/sales", params={"seller": "A2"})).json()["items"]
    assert [(s["sale"], s["sold_at"]) for s in sales] == [
        ("S1", "2026-01-10T09:00:00+08:00")]
    refusals = (await api.call("GET", "/v1/refusals", params={"rule": "agent-inactive"})
                ).json()["items"]
    assert [r["business_time"] for r in refusals] == ["2026-01-21T10:00:00+08:00"]
