"""Progress of a long command: a bar with its rate and the time left (tqdm), on stderr.

Shown when stderr is a terminal, or when WEILEDGER_PROGRESS=1 forces it (0 hides it):
a test, a log or a pipe gets only what the command prints on stdout. The work itself
takes a config.runtime.Progress, `progress(n)` for n more units done (the shape of
tqdm's update, and of run_journal's `progress`) and `progress.size(total)`, so no
package below cli/ knows of the bar.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tqdm import tqdm

FORCE = "WEILEDGER_PROGRESS"


def shown(enabled: bool = True) -> bool:
    forced = os.environ.get(FORCE, "")
    if not enabled or forced == "0":
        return False
    return forced == "1" or sys.stderr.isatty()


class Bar:
    """A config.runtime.Progress drawn by tqdm."""

    def __init__(self, bar: tqdm) -> None:
        self._bar = bar

    def __call__(self, done: int) -> None:
        self._bar.update(done)

    def size(self, total: int) -> None:
        self._bar.total = total
        self._bar.refresh()


@contextmanager
def progress(what: str, total: int | None = None, unit: str = "event",
             enabled: bool = True) -> Iterator[Bar]:
    """`with progress("verify-chain") as bar: await verify_chain(conn, progress=bar)`."""
    with tqdm(total=total, desc=what, unit=unit, unit_scale=True, file=sys.stderr,
              disable=not shown(enabled), mininterval=0.5, dynamic_ncols=True) as bar:
        yield Bar(bar)
