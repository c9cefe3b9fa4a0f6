"""Kill -9 a process while 16 writers append: nothing acknowledged is lost or doubled."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import asyncpg
import pytest

from eventstore.verify import verify_chain
from tests.conftest import ROOT

# Writer subprocesses killed mid-append.
pytestmark = pytest.mark.slow


def start_writer(url: str, tenant: str, start: int, count: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.crash_writer",
            *(url, tenant, str(start), str(count)),
        ],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def acks_until_killed(proc: subprocess.Popen[str], kill_after: int) -> dict[str, tuple[int, int]]:
    acked: dict[str, tuple[int, int]] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        word, key, first, last = line.split()
        assert word == "ACK", line
        acked[key] = (int(first), int(last))
        if len(acked) == kill_after:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=30)
    return acked


async def test_sigkill_during_appends_loses_nothing_acknowledged(fresh_database, tenant):
    first_run = start_writer(fresh_database, tenant, 1, 200)
    acked = await asyncio.to_thread(acks_until_killed, first_run, 400)
    assert first_run.returncode == -signal.SIGKILL
    assert len(acked) == 400

    # Restart: the clients retry everything from the start with the same keys, as a
    # client that never saw its answer would. Acknowledged commands answer as before.
    second_run = start_writer(fresh_database, tenant, 1, 40)
    out, err = await asyncio.to_thread(second_run.communicate, timeout=120)
    assert second_run.returncode == 0, err
    retried = {line.split()[1]: tuple(map(int, line.split()[2:])) for line in out.splitlines()}
    assert "CONFLICT" not in out
    for key, positions in retried.items():
        if key in acked:
            assert positions == acked[key], key

    conn = await asyncpg.connect(fresh_database)
    try:
        rows = await conn.fetch(
            "SELECT position, stream, payload FROM events WHERE tenant = $1 ORDER BY position",
            tenant,
        )
        report = await verify_chain(conn, tenant)
    finally:
        await conn.close()
    assert [r["position"] for r in rows] == list(range(1, len(rows) + 1))
    by_key: dict[str, list[int]] = {}
    for r in rows:
        if "copy" not in r["stream"]:
            by_key.setdefault(r["payload"].decode(), []).append(r["position"])
    for key, (first, _last) in acked.items():
        assert by_key.get(key) == [first], f"{key} acknowledged at {first}: {by_key.get(key)}"
    assert all(len(p) == 1 for p in by_key.values())
    copies = [r["payload"].decode() for r in rows if "copy" in r["stream"]]
    assert sorted(copies) == sorted(by_key)  # every append whole: both streams or neither
    assert report.intact, report.breaks
