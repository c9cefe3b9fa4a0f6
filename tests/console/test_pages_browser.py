"""The console's pages in Chromium, on the served brand filled from the public sample
journals: each page in zh-CN and in English with the brand's numbers, an agent's page
through its "as of" date, the genealogy expanded three levels, and a screenshot of
every page in zh-CN at a desktop and a phone width (.data/screenshots, not committed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.async_api import Page

from config.settings import Settings
from domain.importing import run_journal
from eventstore.kek import kek_files
from eventstore.postgres import PostgresEventStore
from eventstore.vault import PostgresKeyVault
from tests.console.conftest import ServedConsole, screenshots, sign_in, submit
from tests.projections.support import id_number

pytestmark = pytest.mark.slow
SCENARIOS = Path(__file__).parents[2].parent / "shared" / "scenarios"
_FILLED: set[str] = set()


# No public scenario promotes: P1 joins under A1 after 01 and 02 and is promoted (the
# default policy sets no thresholds: HQ decides on the recorded evidence).
PROMOTED = [
    json.dumps({"at": "2026-02-02T09:00:00+08:00", "cmd": "join", "agent": "P1",
                "sponsor": "A1", "tier": "first", "name": "代理P1",
                "id_number": id_number(731), "phone": "13800007310"}, ensure_ascii=False),
    json.dumps({"at": "2026-02-10T09:00:00+08:00", "cmd": "promote", "agent": "P1",
                "tier": "general"}),
]


async def filled(console: ServedConsole) -> None:
    """The served brand holds 01 and 02 (once a session; 02's joins of 01's agents are
    refused as already joined), then PROMOTED."""
    if console.tenant in _FILLED:
        return
    store = PostgresEventStore(console.pool)
    vault = await PostgresKeyVault.open(console.pool, kek_files(Settings()))
    for name in ("01-joins", "02-stock-and-sales"):
        lines = (SCENARIOS / f"{name}.jsonl").read_text("utf-8").splitlines()
        await run_journal(store, vault, console.tenant, lines)
    await run_journal(store, vault, console.tenant, PROMOTED)
    _FILLED.add(console.tenant)


async def signed_in_to_filled(page: Page, console: ServedConsole, role: str) -> str:
    """A `role` user signed in to the filled brand; the console's address."""
    await filled(console)
    username, password = await console.user(role)
    await sign_in(page, console, username, password)
    return console.url


async def shows(page: Page, url: str, *texts: str) -> str:
    """Open `url` again until the served read models have caught up and it shows
    every one of `texts` (the service projects in the background)."""
    body = ""
    for _ in range(40):
        await page.goto(url)
        body = await page.inner_text("main")
        if all(t in body for t in texts):
            return body
        await page.wait_for_timeout(250)
    raise AssertionError(f"{url} never showed {texts}: {body[:800]}")


async def test_every_page_in_chinese_and_english(page: Page, console: ServedConsole) -> None:
    base = await signed_in_to_filled(page, console, "auditor")
    overview = await shows(page, f"{base}/console/?period=2026-01", "新加入代理", "¥3,960.00")
    assert "总览" in overview
    await screenshots(page, "overview")
    agents = await shows(page, f"{base}/console/agents", "A9", "一级")
    assert "联创" in agents
    await screenshots(page, "agents")
    agent = await shows(page, f"{base}/console/agents/A2?as_of=2026-01-10", "总代", "正常")
    assert "总部 › A1 › A2" in agent
    await screenshots(page, "agent")
    await shows(page, f"{base}/console/genealogy", "A1")
    await screenshots(page, "genealogy")
    events = await shows(page, f"{base}/console/events?kind=AgentJoined", "agent-A1")
    assert "agent-B1" in events
    await screenshots(page, "events")
    await page.click("table[data-table=events] a")
    await page.wait_for_selector("[data-hash]")
    event = await page.inner_text("main")
    assert "&lt;sealed&gt;" not in event and "<sealed>" in event
    await screenshots(page, "event")

    async with page.expect_navigation():
        await page.click("form[action='/console/language'] button:has-text('English')")
    english = await shows(page, f"{base}/console/?period=2026-01", "Agents joined",
                          "Stock bought from HQ")
    assert "¥3,960.00" in english
    assert "Partner" in await shows(page, f"{base}/console/agents", "A1")
    assert "Suspended" in await shows(page, f"{base}/console/agents/A2?as_of=2026-01-07",
                                      "Status")
    assert "Signed by checkpoint" in await shows(page, f"{base}/console/events/2", "Hash")


async def test_an_agent_through_its_as_of_date_and_the_genealogy_three_levels(
    page: Page, console: ServedConsole
) -> None:
    base = await signed_in_to_filled(page, console, "compliance")
    # 01: A2 suspended on the 7th, reinstated on the 8th (02 suspends it on the 21st).
    await shows(page, f"{base}/console/agents/A2", "已暂停")
    await page.fill("input[name=as_of]", "2026-01-08")
    await submit(page, "main form button[type=submit]")
    assert "正常" in await page.inner_text("[data-figure=status]")
    await page.fill("input[name=as_of]", "2026-01-07")
    await submit(page, "main form button[type=submit]")
    assert "已暂停" in await page.inner_text("[data-figure=status]")

    await shows(page, f"{base}/console/genealogy", "A1")
    for agent, child in (("A1", "A2"), ("A2", "A3")):
        await page.click(f"#node-{agent} button.expand")
        await page.wait_for_selector(f"#node-{child}")
    rows = await page.inner_text("table[data-table=genealogy]")
    assert all(a in rows for a in ("A1", "A2", "A3", "A9"))  # three levels down
    # htmx marks a swapped-in row htmx-added until it settles; the depth class is what counts.
    await page.wait_for_selector("#node-A3:not(.htmx-added)")
    assert await page.get_attribute("#node-A3", "class") == "d3"
    await screenshots(page, "genealogy-expanded")


async def test_an_agent_before_and_after_its_promotion(page: Page, console: ServedConsole) -> None:
    base = await signed_in_to_filled(page, console, "auditor")
    # PROMOTED: P1 joined as 一级 on 2 February, promoted to 总代 on the 10th.
    await shows(page, f"{base}/console/agents/P1", "P1 由一级晋升为总代")
    assert "总代" in await page.inner_text("[data-figure=tier]")
    await page.fill("input[name=as_of]", "2026-02-09")
    await submit(page, "main form button[type=submit]")
    assert "一级" in await page.inner_text("[data-figure=tier]")
    timeline = await page.inner_text("table[data-table=timeline]")
    assert "P1 以一级加入，上级 A1" in timeline and "晋升" not in timeline
    await page.fill("input[name=as_of]", "2026-02-10")
    await submit(page, "main form button[type=submit]")
    assert "总代" in await page.inner_text("[data-figure=tier]")
    assert "P1 由一级晋升为总代" in await page.inner_text("table[data-table=timeline]")

    async with page.expect_navigation():
        await page.click("form[action='/console/language'] button:has-text('English')")
    before = await shows(page, f"{base}/console/agents/P1?as_of=2026-02-09", "Tier")
    assert "First level" in await page.inner_text("[data-figure=tier]"), before
    await shows(page, f"{base}/console/agents/P1?as_of=2026-02-10",
                "P1 promoted from First level to General agent")
    assert "General agent" in await page.inner_text("[data-figure=tier]")


async def row_of(page: Page, table: str, text: str) -> str:
    """The text of the row of `table` that shows `text`."""
    return await page.inner_text(f"table[data-table={table}] tr:has-text('{text}')")


async def test_events_and_stock_movements_said_in_chinese_and_english(
    page: Page, console: ServedConsole
) -> None:
    base = await signed_in_to_filled(page, console, "auditor")
    # The Events list says each event as the timeline does, its name kept as its kind.
    await shows(page, f"{base}/console/events?kind=AgentJoined", "A1 以联创加入，直属总部")
    assert "AgentJoined" in await row_of(page, "events", "A1 以联创加入，直属总部")
    await shows(page, f"{base}/console/events?kind=RetailSaleRecorded",
                "销售单 S1：A2 零售 2 件 TEA-01，¥198.00")
    assert "RetailSaleRecorded" in await row_of(page, "events", "销售单 S1")
    await shows(page, f"{base}/console/events?stream=stock-A2&first=2026-01-10&last=2026-01-10",
                "A2 零售 2 件 TEA-01，¥198.00（单号 S1）")
    # 02: A2 bought from A1 on the 6th, sold S1 on the 10th, and 1 of S1 came back on the 15th.
    await shows(page, f"{base}/console/agents/A2?as_of=2026-01-21", "销售与退货")
    sales = await page.inner_text("table[data-table=sales]")
    purchases = await page.inner_text("table[data-table=purchases]")
    assert "退货" in sales and "零售" in sales and "进货" in purchases
    assert not any(name in sales + purchases
                   for name in ("StockSoldAtRetail", "StockReturned", "StockPurchased"))

    async with page.expect_navigation():
        await page.click("form[action='/console/language'] button:has-text('English')")
    await shows(page, f"{base}/console/events?kind=agentjoined",
                "A1 joined as Partner directly under HQ")
    assert "AgentJoined" in await row_of(page, "events", "A1 joined as Partner")
    await shows(page, f"{base}/console/events?kind=RetailSaleRecorded",
                "Sale S1: A2 sold 2 × TEA-01 for ¥198.00")
    assert "RetailSaleRecorded" in await row_of(page, "events", "Sale S1:")
    await shows(page, f"{base}/console/agents/A2?as_of=2026-01-21", "Sales and returns")
    sales = await page.inner_text("table[data-table=sales]")
    assert "Return" in sales and "Sale" in sales and "StockReturned" not in sales
    assert "Purchase" in await page.inner_text("table[data-table=purchases]")
