"""What the journal refuses as malformed, the API refuses alike (422 `malformed`), and
records nothing: the API hands the parser an object, not a line of JSON text."""

from __future__ import annotations

from tests.api.conftest import Api

AT = "2026-01-05T09:00:00+08:00"
BRACKETS = [{"from": "0.00", "rate": "0"}, {"from": "5000.00", "rate": "0.03"}]


async def test_a_float_anywhere_in_a_policy_document_is_refused_and_records_nothing(
    api: Api,
) -> None:
    head = await api.app.state.services.store.head(api.tenant)
    for document in (
        {"max_depth": 3.0},
        {"brackets": [BRACKETS[0], {**BRACKETS[1], "note": 0.5}]},  # a key no rule reads
        {"promotion": {"general": {"own": "10000.00", "downline": 1.5}}},
    ):
        answer = await api.call("POST", "/v1/policies", "compliance",
                                json={"at": AT, "document": document})
        assert answer.status_code == 422, (document, answer.text)
        assert answer.json()["rule"] == "malformed"
        assert "has a fraction" in answer.json()["detail"]
    assert await api.app.state.services.store.head(api.tenant) == head
    # The same brackets with decimal strings are a policy the brand may issue.
    accepted = await api.call("POST", "/v1/policies", "compliance",
                              json={"at": AT, "document": {"brackets": BRACKETS}})
    assert accepted.status_code == 201, accepted.text
