"""The embedded PostgreSQL stops with whoever started it, even one killed by SIGKILL,
and starts again over what a killed server left in its data folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from tests.api.test_serve import free_port, get
from tests.conftest import ROOT


def servers_of(pgdata: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["name"]):
        try:
            if process.info["name"] == "postgres" and Path(process.cwd()) == pgdata:
                found.append(process)
        except psutil.Error:
            continue
    return found


def gone_within(pgdata: Path, seconds: float) -> bool:
    """No server of pgdata runs any more (its last backends may take a moment to end)."""
    deadline = time.monotonic() + seconds
    while servers_of(pgdata):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def without_database_url(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["WEILEDGER_DATA_DIR"] = str(data)
    return env


def serve(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    """`serve --workers 2` on the embedded server, once it is ready."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.app", "serve", "--port", str(port), "--workers", "2"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert get(port, "/ready", proc, wait=120) == {"status": "ready"}
    except BaseException:
        proc.kill()
        raise
    return proc, port


def test_a_sigkilled_supervisor_leaves_no_embedded_postgres_running(tmp_path: Path):
    pgdata = (tmp_path / "data" / "pg").resolve()
    proc, _ = serve(without_database_url(tmp_path / "data"))
    try:
        assert servers_of(pgdata)
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert gone_within(pgdata, 20), "the embedded server outlived its supervisor"
    assert not (pgdata / "postmaster.pid").exists()


def test_a_stale_postmaster_pid_is_pruned_at_the_next_start(tmp_path: Path):
    env = without_database_url(tmp_path / "data")
    pgdata = (tmp_path / "data" / "pg").resolve()
    proc, _ = serve(env)
    try:
        pid_file = (pgdata / "postmaster.pid").read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert gone_within(pgdata, 10)
    # As a server killed with the machine leaves it, its pid since taken by another
    # process (here: a sleeper of ours, alive while the service starts again).
    sleeper = subprocess.Popen(["sleep", "120"])
    try:
        lines = pid_file.splitlines()
        (pgdata / "postmaster.pid").write_text("\n".join([str(sleeper.pid), *lines[1:]]) + "\n")
        os.chown(pgdata / "postmaster.pid", pgdata.stat().st_uid, pgdata.stat().st_gid)
        again, _ = serve(env)  # ready: it started over the stale file
        try:
            # The running server's own pid file, not the stale one (asked of the files,
            # not of /health: the second worker may not be ready yet when asked).
            started = int((pgdata / "postmaster.pid").read_text().split()[0])
            assert started != sleeper.pid
            assert started in {server.pid for server in servers_of(pgdata)}
        finally:
            again.send_signal(signal.SIGTERM)
            again.wait(timeout=30)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert gone_within(pgdata, 10)
