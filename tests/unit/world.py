"""A small ledger to judge commands against, built through the journal runner."""

from __future__ import annotations

import json
from typing import Any

from domain.handling import Context
from domain.importing import run_journal
from domain.journal import parse_line
from domain.ledger import Ledger
from eventstore.memory import InMemoryEventStore
from eventstore.memory_vault import InMemoryKeyVault

TENANT = "t-unit"

# valid 身份证 numbers of adults (check digits verified against the sample journals)
IDS = [
    "110101198001011005",
    "110101198102021018",
    "110101198203031020",
    "110101198304041033",
    "110101198506061059",
    "110101198607071061",
]


def line(at: str, cmd: str, **fields: Any) -> str:
    return json.dumps({"at": at, "cmd": cmd, **fields}, ensure_ascii=False)


def join(at: str, agent: str, sponsor: str | None, tier: str, n: int, **extra: Any) -> str:
    return line(at, "join", agent=agent, sponsor=sponsor, tier=tier, name=f"代理{agent}",
                id_number=IDS[n], phone=f"1380000000{n}", **extra)  # fmt: skip


BASE = [
    line("2026-01-01T09:00:00+08:00", "product", sku="TEA-01", name="养生茶", retail_price="99.00"),
    join("2026-01-05T09:00:00+08:00", "A1", None, "partner", 0),
    join("2026-01-05T10:00:00+08:00", "A2", "A1", "general", 1),
    join("2026-01-05T11:00:00+08:00", "A3", "A2", "first", 2),
    join("2026-01-05T12:00:00+08:00", "B1", None, "partner", 3),
    line("2026-01-06T09:00:00+08:00", "purchase", buyer="A1", seller=None,
         lines=[{"sku": "TEA-01", "qty": 100}]),
    line("2026-01-06T10:00:00+08:00", "purchase", buyer="A2", seller="A1",
         lines=[{"sku": "TEA-01", "qty": 10}]),
    line("2026-01-10T09:00:00+08:00", "sale", sale="S1", seller="A2", customer="C1",
         lines=[{"sku": "TEA-01", "qty": 2, "unit_price": "99.00"}]),
]  # fmt: skip


class World:
    def __init__(self) -> None:
        self.store = InMemoryEventStore()
        self.vault = InMemoryKeyVault()
        self.ledger = Ledger(self.store, self.vault)

    async def run(self, *lines: str) -> None:
        summary = await run_journal(self.store, self.vault, TENANT, lines)
        assert summary.accepted == summary.lines, summary.describe()

    async def handle(self, text: str, key: str | None = None) -> Any:
        return await self.ledger.handle(Context(TENANT, "test", key), parse_line(text))

    async def head(self) -> int:
        return await self.store.head(TENANT)


async def world(*extra: str) -> World:
    w = World()
    await w.run(*BASE, *extra)
    return w
