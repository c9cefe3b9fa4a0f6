"""The journal runner: summaries, malformed lines, and safe re-import."""

from __future__ import annotations

import pytest

from domain.importing import run_journal
from domain.journal import Malformed, parse_line
from domain.ports import EventStore
from eventstore.memory import InMemoryEventStore
from eventstore.memory_vault import InMemoryKeyVault
from tests.unit.world import BASE, join, line

AT = "2026-01-12T09:00:00+08:00"


async def test_malformed_lines_are_all_named_by_number_and_the_journal_records_nothing() -> None:
    store, vault = InMemoryEventStore(), InMemoryKeyVault()
    bad = [
        "{not json",
        line(AT, "dance", agent="A1"),
        line(AT, "suspend"),
        line(AT, "product", sku="X", name="x", retail_price=9.9),  # float is not money
        '{"at": "2026-01-12T09:00:00", "cmd": "tick"}',  # no UTC offset
        line(AT, "suspend", agent="A1", colour="red"),
        line(AT, "purchase", buyer="A1", seller=None, lines=[{"sku": "TEA-01", "qty": 0}]),
        line(AT, "product", sku="X", name="x", retail_price="9.999"),
        "[1, 2]",
    ]
    summary = await run_journal(store, vault, "t", [*BASE, "", *bad])
    assert summary.accepted == 0 and await store.head("t") == 0  # one bad line: nothing
    assert [n for n, _ in summary.malformed] == list(range(len(BASE) + 2, len(BASE) + 2 + len(bad)))
    whats = dict(summary.malformed)
    assert "unknown cmd 'dance'" in whats[len(BASE) + 3]
    assert "agent is missing" in whats[len(BASE) + 4]
    assert "colour" in whats[len(BASE) + 7]
    assert summary.lines == len(BASE) + len(bad)  # the blank line is not a line
    assert "nothing recorded" in summary.describe()


@pytest.mark.parametrize(
    ("command", "what"),
    [
        (line(AT, "suspend", agent=" "), "suspend: agent must be a non-empty string"),
        (join(AT, "X1", "A1", "", 4), "join: tier must be a non-empty string"),
        (join(AT, "X1", "", "vip", 4), "join: sponsor must be a non-empty string"),
        (line(AT, "product", sku="", name="x", retail_price="9.90"),
         "product: sku and name must be non-empty"),
        (line(AT, "sale", sale="", seller="A1", customer=None,
              lines=[{"sku": "TEA-01", "qty": 1, "unit_price": "99.00"}]),
         "sale: sale must be a non-empty string"),
        (line(AT, "purchase", buyer="A1", seller=None, lines=[{"sku": "TEA-01", "qty": "3"}]),
         "purchase: qty of TEA-01 must be a positive integer"),
        (line(AT, "purchase", buyer="A1", seller=None, lines=[{"sku": "", "qty": 3}]),
         "purchase: sku must be a non-empty string"),
        (line(AT, "open_dispute", dispute="D1", agent="A1", subject="sale:S1", text=" "),
         "open_dispute: text must be a non-empty string"),
        (line(AT, "resolve_dispute", dispute="D1", outcome="maybe"),
         "resolve_dispute: outcome must be one of upheld, partly-upheld, rejected, withdrawn"),
        (line(AT, "resolve_alert", alert="push-down:A2:2026-01", reason=""),
         "resolve_alert: reason must be a non-empty string"),
    ],
)  # fmt: skip
def test_the_journal_parser_checks_a_commands_shape(command: str, what: str) -> None:
    """The one place a command's shape is checked, for the API as for a journal line."""
    with pytest.raises(Malformed) as malformed:
        parse_line(command)
    assert str(malformed.value) == what


async def test_reimporting_a_journal_records_nothing_and_answers_as_the_first_time(
    store: EventStore, tenant: str
) -> None:
    vault = InMemoryKeyVault()
    refused = line(AT, "suspend", agent="ZZ")
    first = await run_journal(store, vault, tenant, [*BASE, refused])
    head = await store.head(tenant)
    again = await run_journal(store, vault, tenant, [*BASE, refused])
    assert await store.head(tenant) == head
    assert (again.accepted, again.replayed) == (first.accepted, len(BASE))
    assert again.refused == first.refused == {"unknown-agent": [len(BASE) + 1]}


async def test_progress_is_reported_once_per_line() -> None:
    seen: list[int] = []
    await run_journal(InMemoryEventStore(), InMemoryKeyVault(), "t", BASE, seen.append)
    assert sum(seen) == len(BASE)


async def test_events_carry_business_time_actor_and_policy_version() -> None:
    store = InMemoryEventStore()
    await run_journal(store, InMemoryKeyVault(), "t", BASE, actor="import:old-system")
    events = await store.read_all("t")
    joined = next(e for e in events if e.name == "AgentJoined")
    assert joined.business_time.isoformat() == "2026-01-05T01:00:00+00:00"
    assert joined.metadata["actor"] == "import:old-system"
    assert joined.metadata["policy_version"] == 1
    assert str(joined.metadata["idempotency_key"]).startswith("journal:")
    assert {e.name for e in events} >= {
        "ProductListed", "AgentJoined", "DownlineJoined", "StockOpened", "StockPurchased",
        "StockShipped", "RetailSaleRecorded", "StockSoldAtRetail",
    }  # fmt: skip
