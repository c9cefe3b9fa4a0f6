"""Process settings for a weiledger process (service, CLI command, benchmark)."""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import signal
import sys
from typing import Protocol

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies

# Young collections every 100,000 allocations instead of 700, and full ones rarely.
GC_THRESHOLDS = (100_000, 50, 1000)
# A service: young collections every 5,000, each a pause of a millisecond or two.
SERVING_GC_THRESHOLDS = (5_000, 50, 1000)


class Progress(Protocol):
    """How a long piece of work tells how far it has got (cli/progress.py draws it):
    `progress(n)` when n more units are done, `progress.size(total)` once it knows how
    many there are in all."""

    def __call__(self, done: int) -> None: ...

    def size(self, total: int) -> None: ...


def tune_gc() -> None:
    """A settlement replay keeps millions of small objects alive (every sale of the
    ledger): with Python's default thresholds the cyclic collector rescans them again and
    again, and closing a period of 1,000,000 sales took 73 s instead of 49 s. Nothing
    here builds reference cycles in bulk, so collecting far less often costs little."""
    gc.set_threshold(*GC_THRESHOLDS)


def serving_gc() -> None:
    """For a process about to answer requests. A young collection stops every request in
    flight, and its pause grows with the threshold: at 100,000 it took 40-50 ms (measured
    under a stream of sales), a p99 of its own; at 5,000 under 3 ms, for about the same
    total. The middle and old generations stay as rare as tune_gc makes them, so a
    settlement close in the service does not rescan its live facts either. Everything
    alive now (imports, the app) is frozen out of the collector's sight: it lives as
    long as the process."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*SERVING_GC_THRESHOLDS)


def stop_with_parent(parent: int | None = None) -> None:
    """SIGTERM this process when its parent dies, even by SIGKILL: a serving worker or an
    embedded server's keeper left behind would go on out of anyone's sight. `parent`:
    the pid it was started by (default: the current parent), to catch one gone before
    the tie was made."""
    expected = os.getppid() if parent is None else parent
    prctl = getattr(ctypes.CDLL(None, use_errno=True), "prctl", None)  # Linux only
    if prctl is None or prctl(PR_SET_PDEATHSIG, signal.SIGTERM) != 0:
        log.warning("cannot tie this process to its parent (errno %s)", ctypes.get_errno())
    if os.getppid() != expected or os.getppid() == 1:
        sys.exit(1)
