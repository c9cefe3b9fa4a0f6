"""`weiledger serve`, as the README runs it: it answers /health with the database it uses."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from cli.serving import listening_socket
from eventstore.database import create_pool
from eventstore.principals import Role, create_principal, issue_token
from tests.conftest import ROOT, run_cli
from tests.support import eventually_blocking

# Each starts `weiledger serve` in a subprocess (some an embedded PostgreSQL too).
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(env: dict[str, str], *args: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.app", "serve", "--port", str(port), *args],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    return proc, port


def get(port: int, path: str, proc: subprocess.Popen[bytes], wait: float = 60,
        token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    def answer() -> dict | None:
        try:
            asked = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
            with urllib.request.urlopen(asked, timeout=5) as found:  # noqa: S310 (http)
                return json.loads(found.read())
        except OSError:
            if proc.poll() is not None:  # it has stopped: say why
                assert proc.stderr is not None
                raise AssertionError(proc.stderr.read().decode()[-2000:]) from None
            return None  # not listening yet

    return eventually_blocking(answer, f"GET {path}", until=lambda found: found is not None,
                               within=wait, every=0.2)


def get_status(port: int, path: str, proc: subprocess.Popen[bytes], wait: float = 60) -> int:
    """The status of the first answer (an error status too)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no answer on {path}; exit code {proc.poll()}") from None
            time.sleep(0.2)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=30)


def admin_token(database_url: str, tenant: str) -> str:
    async def issue() -> str:
        pool = await create_pool(database_url, app_role="weiledger_app", size=1)
        try:
            principal = await create_principal(pool, tenant, Role.ADMIN, "serve test", None)
            return (await issue_token(pool, principal)).token
        finally:
            await pool.close()

    return asyncio.run(issue())


def test_serve_on_database_url_reports_that_server_without_credentials(database_url):
    env = {**os.environ, "DATABASE_URL": database_url}
    proc, port = serve(env)
    try:
        assert get(port, "/health", proc) == {"status": "ok"}  # to anyone: alive, no more
        # Ready first: until the database is open no token can be checked, and /health
        # tells an HQ reader it cannot recognise only what it tells anyone.
        assert get(port, "/ready", proc) == {"status": "ready"}
        health = get(port, "/health", proc, token=admin_token(database_url, "demo"))
        assert health["status"] == "ok"
        assert health["database"].startswith("postgresql://")
        assert "@" not in health["database"]
    finally:
        stop(proc)


def test_serve_without_database_url_starts_its_own_embedded_postgres_and_reuses_it(
    tmp_path: Path,
):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["WEILEDGER_DATA_DIR"] = str(tmp_path / "data")
    for _start in range(2):
        proc, port = serve(env)
        try:
            get(port, "/ready", proc)  # /health answers before the database is open
            assert get(port, "/health", proc) == {"status": "ok"}
            assert (tmp_path / "data" / "pg" / "postmaster.pid").exists()
        finally:
            stop(proc)
        assert (tmp_path / "data" / "pg" / "PG_VERSION").exists()


def test_serve_with_two_workers_runs_one_embedded_postgres_and_stops_it(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["WEILEDGER_DATA_DIR"] = str(tmp_path / "data")
    proc, port = serve(env, "--workers", "2")
    try:
        # Both workers answer on the one port (keep-alive is off here: a call a connection).
        for _ in range(6):
            assert get(port, "/ready", proc) == {"status": "ready"}
        assert get(port, "/health", proc) == {"status": "ok"}
    finally:
        stop(proc)
    assert proc.returncode == 0
    # The parent started the server once and stopped it when its workers had stopped.
    assert not (tmp_path / "data" / "pg" / "postmaster.pid").exists()


def test_serve_with_workers_refuses_a_port_another_service_listens_on(database_url):
    # With SO_REUSEPORT itself, as a second `serve --workers` would: joining its group
    # would take half of its connections without a word.
    taken = listening_socket("127.0.0.1", 0)
    taken.listen()
    port = taken.getsockname()[1]
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "cli.app", "serve", "--port", str(port), "--workers", "2"],
            cwd=ROOT, env={**os.environ, "DATABASE_URL": database_url}, capture_output=True,
            text=True, timeout=60, check=False)
    finally:
        taken.close()
    assert proc.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in proc.stderr


def test_workers_stop_when_their_supervisor_is_killed(database_url):
    proc, port = serve({**os.environ, "DATABASE_URL": database_url}, "--workers", "2")
    try:
        assert get(port, "/ready", proc) == {"status": "ready"}
    finally:
        proc.kill()  # SIGKILL: the supervisor cannot stop its workers itself
        proc.wait(timeout=10)

    def answered() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return False
        return True

    eventually_blocking(answered, "the workers gone after their supervisor was killed",
                        until=lambda answered: not answered, within=10, every=0.1)


def test_a_setting_out_of_range_is_named_before_anything_starts(database_url):
    """A pool too small for the background (which holds three connections for good) would
    stall the service under load: refused at start, naming the variable, no traceback."""
    done = run_cli("serve", "--port", str(free_port()), database=database_url,
                   env={"WEILEDGER_POOL_SIZE": "5"}, timeout=60)
    assert done.returncode == 2
    assert "setting WEILEDGER_POOL_SIZE: Input should be greater than or equal to 6" in (
        done.stderr)
    assert "Traceback" not in done.stderr + done.stdout
