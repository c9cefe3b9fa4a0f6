"""Personal data: sealed in events, shown masked, and gone for good after `forget`."""

from __future__ import annotations

import pytest

from domain.agents.personal import ERASED_DATA, Unreadable, subject, unseal
from eventstore.chain import ChainVerifier
from tests.unit.world import IDS, TENANT, line, world

AT = "2026-01-12T09:00:00+08:00"
CLEAR = ["代理A2".encode(), IDS[1].encode(), b"13800000001"]


async def _payloads(w: object) -> bytes:
    events = await w.store.read_all(TENANT, limit=100_000)  # type: ignore[attr-defined]
    return b"".join(e.payload + repr(e.metadata).encode() for e in events)


async def test_personal_data_is_never_in_an_event_in_the_clear() -> None:
    w = await world()
    stored = await _payloads(w)
    assert not [c for c in CLEAR if c in stored]


async def test_personal_data_shows_masked_and_reveals_only_when_asked() -> None:
    w = await world()
    masked = await w.ledger.agents.personal_data(TENANT, "A2")
    assert (masked.name, masked.id_number, masked.phone) == (
        "代***",
        "110101********1018",
        "138****0001",
    )
    clear = await w.ledger.agents.personal_data(TENANT, "A2", reveal=True)
    assert (clear.name, clear.id_number, clear.phone) == ("代理A2", IDS[1], "13800000001")


async def test_forget_erases_the_person_and_keeps_every_amount_and_the_chain() -> None:
    w = await world()
    sealed = await _sealed(w, "A2")
    before_stock = await w.ledger.orders.stock(TENANT, "A2")
    sale = await w.ledger.orders.sale(TENANT, "S1")
    assert sale is not None
    head = await w.head()

    await w.handle(line(AT, "forget", agent="A2"))

    assert await w.head() == head + 1  # one AgentForgotten, nothing rewritten
    assert await w.vault.get(TENANT, subject("A2")) is None
    with pytest.raises(Unreadable):
        unseal(None, TENANT, "A2", sealed)
    assert await w.ledger.agents.personal_data(TENANT, "A2", reveal=True) == ERASED_DATA
    assert not [c for c in CLEAR if c in await _payloads(w)]
    # amounts stay: stock, the sale, the tree
    assert await w.ledger.orders.stock(TENANT, "A2") == before_stock
    after = await w.ledger.orders.sale(TENANT, "S1")
    assert after is not None and after.amount == sale.amount == 19_800
    view = await w.ledger.agents.get(TENANT, "A2")
    assert view is not None and (view.forgotten, view.depth, view.tier) == (True, 2, "general")
    # other agents are untouched
    other = await w.ledger.agents.personal_data(TENANT, "A1", reveal=True)
    assert other.id_number == IDS[0]
    verifier = ChainVerifier(TENANT)
    for event in await w.store.read_all(TENANT, limit=100_000):
        verifier.check(event)
    assert verifier.position == head + 1


async def test_a_sealed_record_does_not_open_under_another_agents_key() -> None:
    w = await world()
    key_a1 = await w.vault.get(TENANT, subject("A1"))
    with pytest.raises(Unreadable):
        unseal(key_a1, TENANT, "A2", await _sealed(w, "A2"))


async def _sealed(w: object, agent: str) -> str:
    from domain.agents.model import Agent
    from domain.events import streams
    from domain.handling import load

    found = await load(w.store, TENANT, streams.agent(agent), Agent)  # type: ignore[attr-defined]
    assert found is not None
    return found.personal
