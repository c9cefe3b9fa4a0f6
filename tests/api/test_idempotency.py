"""A command retried with the same Idempotency-Key records nothing new and answers as the
first time: one after the other, and when both arrive at the same moment."""

from __future__ import annotations

import asyncio

from tests.api.conftest import Api

AT = "2026-01-05T{:02d}:00:00+08:00"
JOIN = {"agent": "A1", "sponsor": None, "tier": "partner", "name": "王芳",
        "id_number": "110101198903020007", "phone": "13800000001", "at": AT.format(9)}


async def _setup(api: Api) -> None:
    for path, body in (
        ("/v1/products", {"sku": "TEA-01", "name": "tea", "retail_price": "99.00",
                          "at": AT.format(8)}),
        ("/v1/agents", JOIN),
        ("/v1/purchases", {"buyer": "A1", "seller": None, "at": AT.format(10),
                           "lines": [{"sku": "TEA-01", "qty": 50}]}),
    ):
        assert (await api.call("POST", path, json=body)).status_code == 201


def _sale(n: int) -> dict:
    return {"sale": f"S{n}", "seller": "A1", "customer": "C1", "at": AT.format(11),
            "lines": [{"sku": "TEA-01", "qty": 1, "unit_price": "99.00"}]}


async def _head(api: Api) -> int:
    return await api.app.state.services.store.head(api.tenant)


async def test_a_retry_answers_as_the_first_time_and_records_nothing(api: Api) -> None:
    await _setup(api)
    first = await api.call("POST", "/v1/sales", json=_sale(1), key="sale-1")
    head = await _head(api)
    again = await api.call("POST", "/v1/sales", json=_sale(1), key="sale-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert await _head(api) == head
    # Without the key, the same command is judged again: a duplicate sale.
    dup = await api.call("POST", "/v1/sales", json=_sale(1))
    assert dup.status_code == 409 and dup.json()["rule"] == "duplicate-sale"


async def test_two_at_the_same_time_record_once_and_answer_alike(api: Api) -> None:
    await _setup(api)
    for n in range(2, 12):  # several rounds: the race must not be won by luck
        head = await _head(api)
        answers = await asyncio.gather(*(
            api.call("POST", "/v1/sales", json=_sale(n), key=f"sale-{n}") for _ in range(2)
        ))
        assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
        assert answers[0].json() == answers[1].json()
        # Recorded once: the log ends with the one append both answers name.
        body = answers[0].json()
        assert body["first_position"] == head + 1
        assert await _head(api) == body["last_position"]
        replayed = [a.headers.get("Idempotent-Replayed") for a in answers]
        assert sorted(map(str, replayed)) == ["None", "true"]


async def test_the_same_key_for_another_command_is_refused(api: Api) -> None:
    await _setup(api)
    assert (await api.call("POST", "/v1/sales", json=_sale(20), key="k")).status_code == 201
    head = await _head(api)
    other = await api.call("POST", "/v1/sales", json=_sale(21), key="k")
    assert other.status_code == 422 and other.json()["rule"] == "idempotency-key-reused"
    assert await _head(api) == head


async def test_keys_are_scoped_to_the_principal(api: Api) -> None:
    """Another principal's key of the same text is another key: nobody can replay (or
    block) someone else's command by guessing its key."""
    await _setup(api)
    mine = await api.call("POST", "/v1/sales", "operations", json=_sale(30), key="same")
    theirs = await api.call("POST", "/v1/sales", "admin", json=_sale(31), key="same")
    assert mine.status_code == theirs.status_code == 201
    assert theirs.json()["first_position"] != mine.json()["first_position"]


async def test_if_match_refuses_a_stale_edit(api: Api) -> None:
    await _setup(api)
    read = await api.call("GET", "/v1/agents/A1")
    tag = read.headers["ETag"]
    ok = await api.call("POST", "/v1/agents/A1/warn", json={"reason": "late"},
                        headers={"If-Match": tag})
    assert ok.status_code == 201
    stale = await api.call("POST", "/v1/agents/A1/suspend", json={"reason": "x"},
                           headers={"If-Match": tag})
    assert stale.status_code == 412 and stale.json()["rule"] == "stale-version"
    assert stale.headers["ETag"] != tag


async def sell_until_recorded(api: Api, n: int, answers: list[str],
                              sales: list[str] | None = None) -> int:
    """The agent's sale n, sent again with its key while the answer is concurrent-change
    (as a client follows Retry-After); every answer's rule, or "201", goes to `answers`."""
    body = {"customer": f"C{n}",
            "lines": [{"sku": "TEA-01", "qty": 1, "unit_price": "99.00"}]}
    while True:
        answer = await api.call("POST", "/v1/me/sales", "agent", json=body, key=f"mine-{n}")
        if answer.status_code == 201:
            answers.append("201")
            if sales is not None:
                sales.append(answer.json()["sale"])
            return int(answer.json()["last_position"])
        answers.append(answer.json().get("rule"))
        assert answer.status_code == 409, answer.text
        assert answer.headers["Retry-After"] == "1"


async def test_one_agents_sales_at_once_are_each_recorded_once_or_told_to_send_again(
    api: Api,
) -> None:
    """Thirty sales of one agent at the same moment all change its stock: the ones that
    keep losing the race answer 409 concurrent-change (never 500), and sent again with
    the same key each is recorded exactly once."""
    await _setup(api)
    head = await _head(api)
    answers: list[str] = []
    named: list[str] = []
    await asyncio.gather(*(sell_until_recorded(api, n, answers, named) for n in range(30)))
    assert set(answers) <= {"201", "concurrent-change"} and answers.count("201") == 30
    recorded = await api.app.state.services.store.read_all(api.tenant, after=head, limit=1000)
    sales = [e.stream for e in recorded if e.name == "RetailSaleRecorded"]
    assert sorted(sales) == sorted(f"sale-{sale}" for sale in named) and len(set(named)) == 30


async def test_a_refusal_under_a_key_answers_the_same_refusal_later_and_is_listed(api: Api) -> None:
    """Before: a retried refused command was judged again, against stock that had
    arrived since, and recorded; nobody could list who was refused what."""
    await _setup(api)
    big = {**_sale(90), "lines": [{"sku": "TEA-01", "qty": 60, "unit_price": "99.00"}]}
    first = await api.call("POST", "/v1/sales", json=big, key="big-sale")
    assert first.status_code == 422 and first.json()["rule"] == "insufficient-stock", first.text
    more = {"buyer": "A1", "seller": None, "at": AT.format(12),
            "lines": [{"sku": "TEA-01", "qty": 50}]}
    assert (await api.call("POST", "/v1/purchases", json=more)).status_code == 201
    head = await _head(api)
    again = await api.call("POST", "/v1/sales", json=big, key="big-sale")
    assert (again.status_code, again.json()) == (422, first.json())
    # Only the watchers may have recorded since (an alert about the purchase), no sale.
    since = await api.app.state.services.store.read_all(api.tenant, after=head, limit=1000)
    assert [e.name for e in since if not e.name.startswith("Alert")] == []
    fresh = await api.call("POST", "/v1/sales", json=big, key="another-key")
    assert fresh.status_code == 201  # judged now, the stock is there

    listed = await api.call("GET", "/v1/refusals", "compliance", params={"agent": "A1"})
    assert listed.status_code == 200, listed.text
    [refusal] = listed.json()["items"]
    assert {k: refusal[k] for k in ("command", "rule", "agent")} == {
        "command": "sale", "rule": "insufficient-stock", "agent": "A1"}
    assert refusal["numbers"] == first.json()["numbers"] == {"qty": 60, "sku": "TEA-01",
                                                              "on_hand": 50}
    assert refusal["business_time"] == "2026-01-05T11:00:00+08:00"
    by_rule = await api.call("GET", "/v1/refusals", "auditor", params={"rule": "unknown-sale"})
    assert by_rule.json()["items"] == []
    later = await api.call("GET", "/v1/refusals", "admin",
                           params={"from": refusal["recorded_at"]})
    assert [r["id"] for r in later.json()["items"]] == [refusal["id"]]
    assert (await api.call("GET", "/v1/refusals", "agent")).status_code == 403
