"""How the machine itself behaved while a benchmark ran: a shared machine stalls now and
then (the host's disk, its other tenants), and a p99 measured through such a stall says
more about the machine than about the code. Run beside a benchmark's phase, in a process
of its own so that the benchmark's own event loop and GIL do not count as a stall.

    python -m bench.machine --seconds 15 --dir .data   # prints one JSON line

- scheduling: how late a 5 ms sleep wakes up (the CPU was not there for a runnable
  process: the other processes of the run, or the host);
- fdatasync: how long writing 8 KiB and forcing it to disk takes, every 50 ms, in
  `--dir` (put it on the database's disk: a commit waits for the same kind of flush).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from collections.abc import Sequence
from typing import Any

SLEEP = 0.005
FSYNC_EVERY = 0.05
SLOW_FSYNC = 0.020


def _scheduling(until: float, late: list[float]) -> None:
    while time.perf_counter() < until:
        start = time.perf_counter()
        time.sleep(SLEEP)
        late.append(time.perf_counter() - start - SLEEP)


def _fdatasync(until: float, directory: str, took: list[float]) -> None:
    block = b"\0" * 8192
    with tempfile.TemporaryFile(dir=directory) as file:
        fd = file.fileno()
        while time.perf_counter() < until:
            start = time.perf_counter()
            os.pwrite(fd, block, 0)
            os.fdatasync(fd)
            took.append(time.perf_counter() - start)
            time.sleep(FSYNC_EVERY)


def probe(seconds: float, directory: str) -> dict[str, Any]:
    until = time.perf_counter() + seconds
    late: list[float] = []
    took: list[float] = []
    threads = [threading.Thread(target=_scheduling, args=(until, late)),
               threading.Thread(target=_fdatasync, args=(until, directory, took))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    late.sort()
    return {
        "scheduling_late_max_ms": round(late[-1] * 1000, 1),
        "scheduling_late_p999_ms": round(late[int(len(late) * 0.999)] * 1000, 1),
        "fdatasync_max_ms": round(max(took) * 1000, 1),
        "fdatasync_over_20ms": sum(t > SLOW_FSYNC for t in took),
        "fdatasync_count": len(took),
    }


def describe(found: dict[str, Any]) -> str:
    return (f"  machine meanwhile: a 5 ms sleep woke up to {found['scheduling_late_max_ms']}"
            f" ms late (p99.9 {found['scheduling_late_p999_ms']} ms); 8 KiB fdatasync up to"
            f" {found['fdatasync_max_ms']} ms, {found['fdatasync_over_20ms']} of"
            f" {found['fdatasync_count']} over {SLOW_FSYNC * 1000:g} ms")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--dir", default=".")
    args = parser.parse_args(argv)
    print(json.dumps(probe(args.seconds, args.dir)), flush=True)


if __name__ == "__main__":
    main()
