"""`weiledger serve --workers N`: N uvicorn servers, each in a process of its own with a
listening socket of its own on the same port (SO_REUSEPORT), so the kernel spreads the
connections over them.

uvicorn's own `--workers` binds one socket in the parent and every worker accepts from
it: a burst of connections goes to whichever worker wakes first. Measured with 32 agents
connecting at once: 31 connections to one worker and 1 to the other, or 3 and 29, and
that worker then ran one core flat out while the other idled (p50 730 ms at 500 sales/s).
With a socket per worker the kernel hashes each connection to one of them. uvicorn has
no option for it yet (encode/uvicorn#2472), so this is the small supervisor around it:
start the workers, replace one that dies, stop them all on SIGINT or SIGTERM. Linux.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import sys
import threading
from multiprocessing.context import SpawnProcess

from config.runtime import stop_with_parent

log = logging.getLogger(__name__)
APP = "api.app:app_from_environment"
STARTUP_FAILURE = 3  # a worker that could not start (the app, or the port): stop, do not loop
# SIGTERM or SIGINT stops the service within 10 s, whatever it is doing: requests in
# flight get GRACE_SECONDS to finish (then uvicorn cancels them: their clients see the
# connection close, and send again with their Idempotency-Key), the pool closes within
# eventstore.database.CLOSE_SECONDS, and a worker still running after STOP_SECONDS is
# killed, which leaves time to stop an embedded server.
GRACE_SECONDS = 4
STOP_SECONDS = 7.0


def listening_socket(host: str, port: int, *, shared: bool = True) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if shared:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _worker(host: str, port: int) -> None:
    import uvicorn

    stop_with_parent()  # a worker left behind would go on answering on the port
    try:
        sock = listening_socket(host, port)
    except OSError as error:
        log.error("cannot listen on %s:%s: %s", host, port, error)
        sys.exit(STARTUP_FAILURE)
    server = uvicorn.Server(uvicorn.Config(APP, factory=True, host=host, port=port,
                                           timeout_graceful_shutdown=GRACE_SECONDS))
    server.run(sockets=[sock])
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def serve_workers(host: str, port: int, workers: int) -> int:
    """Run `workers` serving processes until SIGINT or SIGTERM; the exit code."""
    # The port is free, or say so now, not per worker. Bound without SO_REUSEPORT: with
    # it, another service already listening there with it would be joined, not refused.
    try:
        listening_socket(host, port, shared=False).close()
    except OSError as error:
        print(f"cannot listen on {host}:{port}: {error}", file=sys.stderr)
        return 1
    spawn = multiprocessing.get_context("spawn")

    def start() -> SpawnProcess:
        process = spawn.Process(target=_worker, args=(host, port))
        process.start()
        return process

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda _sig, _frame: stop.set())
    processes = [start() for _ in range(workers)]
    code = 0
    while not stop.wait(0.5):
        for n, process in enumerate(processes):
            if process.is_alive():
                continue
            if process.exitcode == STARTUP_FAILURE:
                log.error("a worker could not start; stopping")
                code = 1
                stop.set()
                break
            log.warning("worker %s exited (%s); starting another", process.pid,
                        process.exitcode)
            processes[n] = start()
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(STOP_SECONDS)
        if process.is_alive():
            process.kill()
            process.join()
    return code
