"""Agents over HTTP. An agent's token follows the agent: a suspended or terminated agent
keeps reading its own statements and disputes and may open a dispute, but records no
sale, return or purchase; a forgotten agent's token opens nothing. One person, one agent."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api
from tests.api.test_authorisation import _brand


async def _recorded(api: Api, after: int) -> set[str]:
    """The commands' events recorded after `after` (the watchers' alerts aside: they
    come in their own time)."""
    found = await api.app.state.services.store.read_all(api.tenant, after=after)
    return {e.name for e in found} - {"AlertRaised", "AlertResolved"}


SALE = {"customer": "C7", "lines": [{"sku": "TEA-01", "qty": 1, "unit_price": "99.00"}]}
RETURN = {"lines": [{"sku": "TEA-01", "qty": 1}]}
ORDER = {"seller": None, "lines": [{"sku": "TEA-01", "qty": 1}]}


@pytest.mark.parametrize("status", ["suspend", "terminate"])
async def test_an_inactive_agent_reads_and_disputes_but_trades_nothing(
    api: Api, status: str
) -> None:
    await _brand(api)
    answer = await api.call("POST", f"/v1/agents/A1/{status}", json={"reason": "audit"})
    assert answer.status_code == 201, answer.text
    head = await api.app.state.services.store.head(api.tenant)
    for path, body in (("/v1/me/sales", SALE), ("/v1/me/sales/S-A1/returns", RETURN),
                       ("/v1/me/purchases", ORDER)):
        refused = await api.call("POST", path, "agent", json=body)
        assert refused.status_code == 422, (path, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["rule"] == "agent-inactive", path
        assert refused.json()["numbers"]["status"] in ("suspended", "terminated")
    assert await _recorded(api, head) == set()
    for path in ("/v1/me/statements", "/v1/me/disputes", "/v1/me/sales", "/v1/me/profile"):
        assert (await api.call("GET", path, "agent")).status_code == 200, path
    opened = await api.call("POST", "/v1/me/disputes", "agent",
                            json={"subject": "sale:S-A1", "text": "why was I suspended?"})
    assert opened.status_code == 201, opened.text


async def test_a_forgotten_agents_token_opens_nothing(api: Api) -> None:
    await _brand(api)
    assert (await api.call("GET", "/v1/me/profile", "agent")).status_code == 200
    assert (await api.call("POST", "/v1/agents/A1/forget", "compliance", json={})).status_code \
        == 201
    api.app.state.services.tokens._cache.clear()  # else within its one second
    for path in ("/v1/me", "/v1/me/profile", "/v1/me/statements", "/v1/me/disputes"):
        answer = await api.call("GET", path, "agent")
        assert answer.status_code == 401, (path, answer.text)
        assert answer.json()["rule"] == "unauthenticated"
    assert (await api.call("GET", "/v1/me", "other-agent")).status_code == 200


async def test_a_join_with_another_agents_number_answers_409_duplicate_identity(api: Api) -> None:
    await _brand(api)
    head = await api.app.state.services.store.head(api.tenant)
    answer = await api.call("POST", "/v1/agents", "operations", json={
        "agent": "C1", "sponsor": None, "tier": "partner", "name": "冒名",
        "id_number": "110101198903020007", "phone": "13800000009"})  # A1's number
    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["rule"] == "duplicate-identity"
    assert answer.json()["numbers"] == {"id_number": "110101********0007"}
    assert await _recorded(api, head) == set()
