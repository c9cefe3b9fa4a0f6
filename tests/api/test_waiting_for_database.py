"""The service starts before its database: it answers meanwhile (not ready, 503 for /v1),
says so in its log once, becomes ready by itself when the database comes, and stops
when asked while it waits."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from bench.postgres import LocalPostgres, free_port
from config.settings import Settings
from tests.api.test_serve import get_status
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def late_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPostgres]:
    """A server of our own, initialised but not started: the test starts it."""
    server = LocalPostgres(tmp_path_factory.mktemp("late") / "pg").init()
    yield server
    server.remove()


async def test_a_service_started_before_its_database_becomes_ready_when_it_comes(
    late_postgres: LocalPostgres, caplog: pytest.LogCaptureFixture,
):
    app = create_app(Settings(database_url=late_postgres.url, tenant="late"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            await asyncio.sleep(3)  # several attempts, with back-off
            ready = await client.get("/ready")
            assert ready.status_code == 503
            assert ready.headers["content-type"] == "application/problem+json"
            assert (ready.json()["rule"], ready.json()["reasons"]) == (
                "not-ready", [{"check": "database", "detail": "waiting for the database"}])
            assert (await client.get("/health")).json() == {"status": "ok"}
            bearer = {"Authorization": "Bearer wl_x"}  # tokens live in the database too
            assert (await client.get("/v1/me", headers=bearer)).status_code == 503
            command = await client.post("/v1/me/sales", json={"lines": []},
                                        headers={**bearer, "Idempotency-Key": "k1"})
            assert command.status_code == 503
            assert command.headers["content-type"] == "application/problem+json"
            assert command.headers["Retry-After"]
            assert command.json()["rule"] == "database-unavailable"
            said = [r for r in caplog.records if "database unavailable" in r.getMessage()]
            assert len(said) == 1, [r.getMessage() for r in said]

            await asyncio.to_thread(late_postgres.start)
            arrived = time.monotonic()
            while (await client.get("/ready")).status_code != 200:
                assert time.monotonic() - arrived < 15, "not ready 15 s after the database came"
                await asyncio.sleep(0.2)
            assert (await client.get("/ready")).json() == {"status": "ready"}


def test_sigterm_stops_a_service_waiting_for_its_database_within_10_seconds(tmp_path: Path):
    nobody = f"postgresql://postgres:secret@127.0.0.1:{free_port()}/nothing"
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.app", "serve", "--port", str(port)], cwd=ROOT,
        env={**os.environ, "DATABASE_URL": nobody}, stdout=log, stderr=log)
    try:
        assert get_status(port, "/ready", proc) == 503
        time.sleep(3)  # retrying, with back-off
        asked = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        took = time.monotonic() - asked
    finally:
        proc.kill()
        log.close()
    said = (tmp_path / "serve.log").read_text()
    assert took < 10, f"stopped {took:.1f} s after SIGTERM"
    assert code in (0, -signal.SIGTERM), said
    assert said.count("database unavailable") == 1, said
    assert "secret" not in said
    assert "Traceback" not in said
