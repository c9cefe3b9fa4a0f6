"""The console as a person meets it: `weiledger serve` in a subprocess on the test
database (one brand for the session), and Debian's Chromium driven by Playwright.

- `console`: the served app; `await console.user("auditor")` makes a console user of a
  role and gives its username and password.
- `page`: a fresh browser page (its own cookies). Every request it makes is recorded,
  and one to any host but the service's is refused and fails the test.
- `await sign_in(page, console, username, password)`.
- `await screenshots(page, "name")`: the page at a desktop and a phone width, into
  WEILEDGER_SCREENSHOTS (default .data/screenshots, outside git).

Chromium is Debian's (`apt-get install -y chromium fonts-noto-cjk`, which dev.py test
does when it can), never a browser `playwright install` downloads.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Page, Request, Route, async_playwright

from eventstore.database import Pool, close_pool, create_pool
from eventstore.principals import Role, create_principal
from eventstore.sign_in import set_password
from tests.api.test_serve import free_port, get, stop
from tests.conftest import ROOT

CHROMIUM = os.environ.get("WEILEDGER_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(os.environ.get("WEILEDGER_SCREENSHOTS", ROOT / ".data" / "screenshots"))
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@dataclass
class ServedConsole:
    url: str  # http://127.0.0.1:PORT
    tenant: str
    pool: Pool  # the service's role, for making users

    async def user(self, role: str, name: str | None = None) -> tuple[str, str]:
        """A new console user of `role`: (username, password)."""
        username = f"{role}-{secrets.token_hex(3)}"
        password = secrets.token_urlsafe(12)
        principal = await create_principal(self.pool, self.tenant, Role(role),
                                           name or f"测试 {role}")
        await set_password(self.pool, principal, username, password)
        return username, password


@pytest.fixture(scope="session")
def served(database_url: str, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[str, str]]:
    """`weiledger serve` for one brand of its own: (url, tenant)."""
    tenant = f"console-{secrets.token_hex(4)}"
    keys = tmp_path_factory.mktemp("console-keys")
    env = {**os.environ, "DATABASE_URL": database_url, "WEILEDGER_TENANT": tenant,
           "WEILEDGER_KEYS_DIR": str(keys)}
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.app", "serve", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        get(port, "/ready", proc)
        yield f"http://127.0.0.1:{port}", tenant
    finally:
        stop(proc)


@pytest.fixture(scope="session")
async def console(served: tuple[str, str], database_url: str
                  ) -> AsyncIterator[ServedConsole]:
    pool = await create_pool(database_url, app_role="weiledger_app", size=2)
    try:
        yield ServedConsole(served[0], served[1], pool)
    finally:
        await close_pool(pool)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install -y chromium fonts-noto-cjk"
                    " (or set WEILEDGER_CHROMIUM)", pytrace=False)
    async with async_playwright() as playwright:
        found = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield found
        await found.close()


@dataclass
class Requests:
    own: str  # host:port of the service
    made: list[str] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)

    async def route(self, route: Route, request: Request) -> None:
        self.made.append(request.url)
        if urlsplit(request.url).netloc == self.own:
            await route.continue_()
        else:
            self.elsewhere.append(request.url)
            await route.abort()


@pytest.fixture
async def page(browser: Browser, console: ServedConsole) -> AsyncIterator[Page]:
    requests = Requests(urlsplit(console.url).netloc)
    context = await browser.new_context(  # a browser in China: its language, its clock
        viewport=DESKTOP, locale="zh-CN", timezone_id="Asia/Shanghai")  # type: ignore[arg-type]
    await context.route("**/*", requests.route)
    found = await context.new_page()
    found.requests = requests  # type: ignore[attr-defined]
    try:
        yield found
    finally:
        await context.close()
    assert requests.elsewhere == [], f"requests outside the service: {requests.elsewhere}"


def requests_of(page: Page) -> Requests:
    found: Requests = page.requests  # type: ignore[attr-defined]
    return found


async def sign_in(page: Page, console: ServedConsole, username: str, password: str,
                  then: str = "/console/") -> None:
    await page.goto(f"{console.url}/console/sign-in?then={then}")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    await submit(page, "form.stack button[type=submit]")


async def submit(page: Page, selector: str) -> None:
    """Click what sends a form, and wait for the page it leads to."""
    async with page.expect_navigation():
        await page.click(selector)


async def screenshots(page: Page, name: str, full_page: bool = True) -> list[Path]:
    """The page as it is, at a desktop and at a phone width (full length, or the first
    screen of a very long page)."""
    await asyncio.to_thread(SCREENSHOTS.mkdir, parents=True, exist_ok=True)
    saved = []
    for width, size in (("desktop", DESKTOP), ("phone", PHONE)):
        await page.set_viewport_size(size)  # type: ignore[arg-type]
        await asyncio.sleep(0.2)  # charts redraw on resize
        path = SCREENSHOTS / f"{name}-{width}.png"
        await page.screenshot(path=path, full_page=full_page)
        saved.append(path)
    await page.set_viewport_size(DESKTOP)  # type: ignore[arg-type]
    return saved
