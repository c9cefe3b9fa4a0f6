"""The console's pages over HTTP (the real app, in process) for a brand made from the
public sample journals: each page shows the brand's numbers, in zh-CN and in English,
and an agent's page and the genealogy as they stood on a date."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from eventsourcing.domain import Aggregate

from console.i18n import COOKIE
from console.pages import SESSION_COOKIE
from console.sentences import SENTENCES
from domain.catalogue import AGGREGATES
from domain.importing import run_journal
from eventstore.principals import Role
from export.format import CHECKPOINT_EVENT
from tests.api.conftest import Api, running_api
from tests.console.test_roles import session_of
from tests.support import eventually

SCENARIOS = Path(__file__).parents[2].parent / "shared" / "scenarios"


@pytest.fixture
async def api(database_url: str, tenant: str) -> AsyncIterator[Api]:
    async with running_api(database_url, tenant) as found:
        services = found.app.state.services
        for name in ("01-joins", "02-stock-and-sales"):
            # Scenario 02 joins agents 01 has: its joins are refused, the rest judged.
            lines = (SCENARIOS / f"{name}.jsonl").read_text("utf-8").splitlines()
            await run_journal(services.store, services.ledger.vault, found.tenant, lines)
        head = await services.store.head(found.tenant)
        found.client.cookies.set(SESSION_COOKIE, await session_of(found, Role.AUDITOR))
        # The background runner keeps the read models: wait until they hold the head.
        await eventually(lambda: found.client.get(f"/v1/tree?min_position={head}",
                                                  headers=found.auth("admin")),
                         "the read models at the head", until=lambda r: r.status_code == 200)
        yield found


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def get(api: Api, path: str, language: str = "zh_CN", **params: str) -> str:
    api.client.cookies.set(COOKIE, language)
    answer = await api.client.get(path, params=params)
    assert answer.status_code == 200, (path, answer.status_code, answer.text[:500])
    return text(answer.text)


async def test_overview_agents_and_events_in_both_languages(api: Api) -> None:
    zh = await get(api, "/console/", period="2026-01")
    # 01: A1, A2, A3, A9 joined; 02's A1, A2, A3 are refused as already joined, B1 joins.
    assert "总览" in zh and "新加入代理 5" in zh
    # A1 bought 100 from HQ (02 line 7); nothing was sold at retail by A2 (02's A2 is 01's).
    assert "向总部进货 100 ¥3,960.00" in zh
    en = await get(api, "/console/", "en", period="2026-01")
    assert "Agents joined 5" in en and "Stock bought from HQ 100 ¥3,960.00" in en
    # No alert was raised in January: the page says so rather than draw an empty chart.
    assert "本期没有触发预警。" in zh and "No alert was raised in the period." in en

    agents = await get(api, "/console/agents", q="A")
    assert "A1 联创 1 总部 正常" in agents and "A9 一级 3 A2 正常" in agents
    english = await get(api, "/console/agents", "en", depth="3")
    assert "A3 First level 3 A2 Active" in english and "A1 Partner" not in english

    events = await get(api, "/console/events", kind="AgentJoined")
    assert "agent-A1" in events and "agent-B1" in events
    first = re.search(r'href="/console/events/(\d+)"', (await api.client.get(
        "/console/events", params={"kind": "AgentJoined"})).text)
    assert first is not None
    one = await get(api, f"/console/events/{first.group(1)}", "en")
    assert "AgentJoined" in one and "personal &lt;sealed&gt;" in one and "tier partner" in one
    assert "代理A1" not in one and "13800388096" not in one and "not signed yet" in one


async def test_agent_page_and_genealogy_as_of_a_date(api: Api) -> None:
    # 01: A2 suspended on the 7th, reinstated on the 8th; 02 suspends it on the 21st.
    then = await get(api, "/console/agents/A2", as_of="2026-01-07")
    assert "状态 已暂停" in then and "总部 › A1 › A2" in then
    assert "状态 正常" in await get(api, "/console/agents/A2", as_of="2026-01-08")
    assert "状态 已暂停" in await get(api, "/console/agents/A2")
    english = await get(api, "/console/agents/A2", "en", as_of="2026-01-07")
    assert "Status Suspended" in english and "A2 suspended: 投诉待查" in english

    tree = await get(api, "/console/genealogy", agent="A9")
    assert "A1" in tree and "A2" in tree and "A9" in tree  # the path, expanded
    seventh = await api.client.get("/console/genealogy/children",
                                   params={"sponsor": "A2", "as_of": "2026-01-07"},
                                   headers={"HX-Request": "true"})
    rows = text(seventh.text)
    assert seventh.status_code == 200 and "<html" not in seventh.text
    assert "A3" in rows and "A9" not in rows  # A9 joined on the 8th
    eighth = text((await api.client.get("/console/genealogy/children",
                                        params={"sponsor": "A2", "as_of": "2026-01-08"})).text)
    assert "A3" in eighth and "A9" in eighth
    stood = await get(api, "/console/genealogy", "en", as_of="2026-01-07")
    assert "As it stood at the end of 2026-01-07, China time." in stood

    listed = await get(api, "/console/agents", as_of="2026-01-07", under="A1")
    assert "A2 总代 2 A1 已暂停" in listed and "A9" not in listed
    more = (await api.client.get("/console/agents", params={"as_of": "2026-01-07", "q": "A"},
                                 headers={"HX-Request": "true"})).text
    assert 'href="/console/agents/A2?as_of=2026-01-07"' in more



async def test_the_agent_timeline_as_sentences_in_both_languages(api: Api) -> None:
    # A2 in 01 and 02, as of the 21st: each event a sentence from its payload, beside
    # its times, actor, policy version and a link to the raw event.
    zh = await get(api, "/console/agents/A2", as_of="2026-01-21")
    for said in ("A2 以总代加入，上级 A1", "A2 招募 A3 为一级", "A2 被暂停：投诉待查",
                 "A2 恢复正常", "A2 向 A1 进货 30 件 TEA-01，¥1,485.00（进货单 A2-P2）",
                 "A2 零售 2 件 TEA-01，¥198.00（单号 S1） 2026-01-10 09:00",
                 "A2 的单号 S1 退货 1 件 TEA-01，退款 ¥99.00 2026-01-15 09:00",
                 "A2 被暂停：违规宣传 2026-01-21 09:00"):
        assert said in zh, said
    en = await get(api, "/console/agents/A2", "en", as_of="2026-01-21")
    for said in ("A2 joined as General agent under A1", "A2 recruited A9 as First level",
                 "A2 bought 30 × TEA-01 from A1 for ¥1,485.00 (purchase A2-P2)",
                 "A2 sold 2 × TEA-01 for ¥198.00 (sale S1)",
                 "1 × TEA-01 of sale S1 returned to A2, ¥99.00 refunded", "A2 reinstated"):
        assert said in en, said
    assert "StockSoldAtRetail 2026-01-10" not in en  # the name is no longer the cell
    assert "代理A2" not in zh + en and "13800396015" not in zh + en
    html = (await api.client.get("/console/agents/A2", params={"as_of": "2026-01-21"})).text
    sale = re.search(r'title="StockSoldAtRetail">.*?href="/console/events/(\d+)"', html)
    assert sale is not None
    raw = await get(api, f"/console/events/{sale.group(1)}", "en")
    assert "StockSoldAtRetail" in raw and "stock-A2" in raw


def test_every_event_kind_the_ledger_records_has_a_sentence() -> None:
    recorded = {CHECKPOINT_EVENT} | {
        kind.TOPIC for aggregate in AGGREGATES for kind in vars(aggregate).values()
        if isinstance(kind, type) and issubclass(kind, Aggregate.Event)
        and "TOPIC" in vars(kind)}
    assert recorded - set(SENTENCES) == set()


async def test_the_events_list_says_every_event_of_the_brand(api: Api) -> None:
    # Each row: position, sentence, kind, ... A sentence that is its kind's name is one
    # the console could not say (sentences.py shows the name when it cannot).
    for language in ("zh_CN", "en"):
        api.client.cookies.set(COOKIE, language)
        after, kinds = "0", set()
        while after:
            html = (await api.client.get("/console/events", params={"after": after})).text
            rows = re.findall(r'<tr><td class="number"><a [^>]*>\d+</a></td>'
                              r"<td>([^<]*)</td><td>([^<]*)</td>", html)
            assert rows and all(said != kind for said, kind in rows), rows
            kinds |= {kind for _, kind in rows}
            more = re.search(r'hx-get="[^"]*&after=(\d+)"', html)  # the More button
            after = more.group(1) if more else ""
        assert {"AgentJoined", "DownlineJoined", "RetailSaleRecorded", "SaleReturned",
                "ProductListed", "StockSoldAtRetail"} <= kinds, kinds


@pytest.mark.parametrize("position", ["0", "-1", "99999999999999999999", "9" * 400, "1e3"])
async def test_a_position_the_log_cannot_hold_is_an_event_not_found(api: Api,
                                                                    position: str) -> None:
    # Typed into the address bar: beyond a bigint it answered 500 (the driver's
    # DataError), and the rest problem+json 422s, not the console's page.
    api.client.cookies.set(COOKIE, "en")
    answer = await api.client.get(f"/console/events/{position}")
    assert answer.status_code == 404, (answer.status_code, answer.text[:300])
    assert "No event at that position." in text(answer.text)
