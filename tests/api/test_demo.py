"""`weiledger serve --demo` as a newcomer meets it: stopped by SIGTERM while generating,
started again (it finishes the brand and says so), then the brand itself through the
API: the planted alerts and refusals and few others, statements above zero, an agent
token with stock, the regulator's export at once, and a third start that makes no new
admin. One generation for the module (it is the long part: the whole demo journal)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cli.demo import ADMIN
from cli.demo_brand import PLANTED_ALERTS, PLANTED_REFUSALS
from eventstore.database import create_pool
from eventstore.principals import Role, list_principals
from export.verify.archive import verify_export
from tests.api.test_serve import free_port, get, stop
from tests.conftest import ROOT
from tests.support import eventually_blocking

pytestmark = pytest.mark.slow

# "Few others": the lawful brand may still trip a rule by chance of its dates, at most
# this many times; the seeded journal trips none today.
OTHER_ALERTS = 2


@dataclass
class Demo:
    port: int
    proc: subprocess.Popen[bytes]
    env: dict[str, str]
    tenant: str
    out: Path
    first: str  # what the interrupted start printed
    second: str  # what the start that finished it printed

    def token(self, who: str) -> str:
        line = next(x for x in self.second.splitlines() if x.startswith(who))
        return line.split()[-1]

    def get(self, path: str, token: str) -> Any:
        return get(self.port, path, self.proc, token=token)


def _start(env: dict[str, str], out: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli.app", "serve", "--demo", "--port", str(port)],
            cwd=ROOT, env=env, stdout=sink, stderr=subprocess.PIPE)
    return proc, port


def _head(url: str, tenant: str) -> int:
    async def ask() -> int:
        pool = await create_pool(url, app_role="weiledger_app", size=1)
        try:
            return int(await pool.fetchval(
                "SELECT coalesce(max(position), 0) FROM chain_heads WHERE tenant = $1", tenant))
        finally:
            await pool.close()

    return asyncio.run(ask())


def _printed(out: Path, until: str, proc: subprocess.Popen[bytes], within: float) -> str:
    def text() -> str:
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
        return out.read_text(encoding="utf-8")

    return eventually_blocking(text, f"{until!r} printed", until=lambda t: until in t,
                               within=within, every=0.5)


@pytest.fixture(scope="module")
def demo(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    folder = tmp_path_factory.mktemp("demo")
    tenant = f"demo-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DATABASE_URL": database_url, "WEILEDGER_TENANT": tenant,
           "WEILEDGER_KEYS_DIR": str(folder / "keys"), "WEILEDGER_DATA_DIR": str(folder)}
    proc, _ = _start(env, folder / "first.txt")
    eventually_blocking(lambda: _head(database_url, tenant), "the demo half generated",
                        until=lambda head: head >= 3_000, within=300, every=0.5)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    first = (folder / "first.txt").read_text(encoding="utf-8")
    proc, port = _start(env, folder / "second.txt")
    try:
        second = _printed(folder / "second.txt", "in /docs", proc, within=900)
        yield Demo(port, proc, env, tenant, folder / "second.txt", first, second)
    finally:
        stop(proc)


def test_a_start_interrupted_while_generating_is_finished_by_the_next(demo: Demo):
    assert "generating the demo brand" in demo.first
    assert "stopped before the demo brand was ready: the next start finishes it" in demo.first
    assert "token" not in demo.first
    assert "was interrupted while generating" in demo.second
    summary = next(x for x in demo.second.splitlines() if " lines: " in x)
    lines, accepted = int(summary.split()[0]), int(summary.split()[2])
    assert accepted == lines - len(PLANTED_REFUSALS)  # every line, judged once
    assert "already recorded" in summary  # the interrupted start's part answered as before


def _all(demo: Demo, path: str, token: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = demo.get(f"{path}?limit=500{cursor}", token)
        items += page["items"]
        if page["next_cursor"] is None:
            return items
        cursor = f"&cursor={page['next_cursor']}"


def test_the_demo_shows_its_planted_violations_and_few_others(demo: Demo):
    hq = demo.token("HQ admin token")

    def alerts() -> set[tuple[str, str]]:
        return {(a["rule"], a["agent"]) for a in _all(demo, "/v1/alerts", hq)}

    found = eventually_blocking(alerts, "the planted alerts raised",
                                until=lambda f: set(PLANTED_ALERTS) <= f, within=300, every=1)
    assert len(found - set(PLANTED_ALERTS)) <= OTHER_ALERTS, found - set(PLANTED_ALERTS)
    refused = sorted(r["rule"] for r in _all(demo, "/v1/refusals", hq))
    assert refused == sorted(rule for rule, _agent in PLANTED_REFUSALS)


def test_most_of_the_demos_statements_are_above_zero(demo: Demo):
    statements = _all(demo, "/v1/statements", demo.token("HQ admin token"))
    paid = [s for s in statements if float(s["total"]) > 0]
    assert len(statements) > 3_000
    assert len(paid) > 0.8 * len(statements), (len(paid), len(statements))


def test_the_printed_agent_token_belongs_to_an_agent_with_stock(demo: Demo):
    mine = demo.get("/v1/me/stock", demo.token("agent "))
    assert sum(mine["units"].values()) > 0, mine


def test_the_regulators_export_works_at_once(demo: Demo, tmp_path: Path):
    asked = urllib.request.Request(f"http://127.0.0.1:{demo.port}/v1/exports", headers={
        "Authorization": f"Bearer {demo.token('HQ admin token')}"})
    with urllib.request.urlopen(asked, timeout=300) as answer:  # noqa: S310 (http)
        assert answer.status == 200
        (tmp_path / "demo.zip").write_bytes(answer.read())
    report = verify_export(tmp_path / "demo.zip")
    assert report.ok, report.text()


def test_each_start_reuses_the_demos_admin(demo: Demo, database_url: str):
    stop(demo.proc)
    proc, _port = _start(demo.env, demo.out.with_name("third.txt"))
    try:
        third = _printed(demo.out.with_name("third.txt"), "in /docs", proc, within=120)
    finally:
        stop(proc)
    assert "is already there" in third

    async def admins() -> list[str]:
        pool = await create_pool(database_url, app_role="weiledger_app", size=1)
        try:
            found = await list_principals(pool, demo.tenant)
        finally:
            await pool.close()
        return [p.name for p in found if p.role is Role.ADMIN]

    assert asyncio.run(admins()) == [ADMIN]  # three starts, one admin
