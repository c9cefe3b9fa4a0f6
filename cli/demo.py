"""`weiledger serve --demo`: a generated demo brand on first start, and tokens to try it.

About 2,000 agents over 3 levels and 52,000 commands over six months (cli.journal_generator's
generator), plus a few planted agents who break the watch rules so the demo has alerts:
entry loading (P1), recruiting without selling (P2 and its five recruits), hoarding
(P3 buys again while most of its stock is unsold).

The history goes through the same command services as the importer (run_journal, one
AggregateCache), so every rule judges it: about 400 commands/s on PostgreSQL, two to three
minutes, with a progress bar. We chose the honest path over a faster one that would
write events directly, bypassing the rules the demo is meant to show.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from cli.journal_generator import SKU, Journal, id_number
from config.settings import Settings
from domain.importing import run_journal
from eventstore.database import open_database
from eventstore.kek import kek_files
from eventstore.postgres import PostgresEventStore
from eventstore.principals import Role, create_principal, issue_token
from eventstore.sign_in import login_principal, set_password
from eventstore.vault import PostgresKeyVault

COMMANDS = 52_000
DEMO_LOGIN = "demo"  # the console user `serve --demo` prints a password for
AGENTS = 2_000
PLANT_AT = 9_000  # lines into the history (about five weeks in)


class DemoJournal(Journal):
    """The benchmark journal, with a handful of planted rule breakers."""

    def __init__(self, commands: int = COMMANDS, agents: int = AGENTS, seed: int = 2026) -> None:
        super().__init__(commands, seed=seed, agents=agents)
        self._pending: list[tuple[datetime, str, dict[str, Any]]] = []
        self._planted = False

    def lines(self) -> Iterator[str]:
        for line in super().lines():
            yield line
            if not self._planted and self.written >= PLANT_AT:
                self._planted = True
                self._plant()
            due = [p for p in self._pending if p[0] <= self.at]
            for item in due:
                self._pending.remove(item)
                yield self.line(item[1], **item[2])

    def _later(self, delay: timedelta, cmd: str, **fields: Any) -> None:
        self._pending.append((self.at + delay, cmd, fields))

    def _plant_join(self, agent: str, n: int, sponsor: str | None, tier: str) -> None:
        self._later(timedelta(minutes=n), "join", agent=agent, sponsor=sponsor, tier=tier,
                    name=f"演示{agent}", id_number=id_number(9_000 + n), phone=f"139{n:08d}")

    def _plant(self) -> None:
        # entry loading: 60 units (2,376.00 at the partner price) in the first week,
        # and no retail sale in the 30 days after joining
        self._plant_join("P1", 1, None, "partner")
        self._later(timedelta(hours=2), "purchase", buyer="P1", seller=None,
                    lines=[{"sku": SKU, "qty": 60}])
        # recruiting without selling: five recruits in a fortnight, no own sale
        self._plant_join("P2", 2, None, "partner")
        for i in range(1, 6):
            self._later(timedelta(days=2 * i), "join", agent=f"P2-{i}", sponsor="P2",
                        tier="general", name=f"演示P2-{i}", id_number=id_number(9_100 + i),
                        phone=f"137{i:08d}")
        # hoarding: buys 100, sells 5, buys 50 more ten days later
        self._plant_join("P3", 3, None, "partner")
        self._later(timedelta(hours=3), "purchase", buyer="P3", seller=None,
                    lines=[{"sku": SKU, "qty": 100}])
        self._later(timedelta(days=2), "sale", sale="P3-S1", seller="P3", customer="C-P3",
                    lines=[{"sku": SKU, "qty": 5, "unit_price": "99.00"}])
        self._later(timedelta(days=10), "purchase", buyer="P3", seller=None,
                    lines=[{"sku": SKU, "qty": 50}])


async def _prepare(settings: Settings, commands: int) -> None:
    from tqdm import tqdm

    tenant = settings.tenant
    async with open_database(settings) as pool:
        store = PostgresEventStore(pool)
        try:
            if await store.head(tenant) == 0:
                print(f"generating the demo brand {tenant!r}: {commands:,} commands through"
                      " the ledger's rules (a few minutes, once)", flush=True)
                with tqdm(total=commands, unit="cmd", file=sys.stderr) as bar:
                    summary = await run_journal(
                        store, await PostgresKeyVault.open(pool, kek_files(settings)), tenant,
                        DemoJournal(commands).lines(),
                        progress=bar.update, actor="demo",
                    )
                print(summary.describe().splitlines()[0], flush=True)
            else:
                print(f"demo brand {tenant!r} is already there: new tokens only", flush=True)
            admin = await create_principal(pool, tenant, Role.ADMIN, "demo HQ admin")
            agent = await create_principal(pool, tenant, Role.AGENT, "demo agent A2", "A2")
            hq = await issue_token(pool, admin, days=7)
            mine = await issue_token(pool, agent, days=7)
            # The console's demo login keeps its username and gets a new password.
            password = secrets.token_urlsafe(9)
            await set_password(pool, await login_principal(pool, tenant, DEMO_LOGIN) or admin,
                               DEMO_LOGIN, password)
        finally:
            await store.close()
    print("HQ admin token (7 days):  " + hq.token)
    print("agent A2 token (7 days):  " + mine.token)
    print(f"HQ console: /console/ as {DEMO_LOGIN}, password {password}")
    print("in /docs: Authorize, paste a token; e.g. GET /v1/tree, GET /v1/alerts,"
          " GET /v1/me/statements as A2", flush=True)


def prepare_demo(settings: Settings, commands: int = COMMANDS) -> None:
    """Create the demo brand if the tenant is empty; print an HQ and an agent token."""
    asyncio.run(_prepare(settings, commands))
