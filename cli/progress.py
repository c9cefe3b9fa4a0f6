"""Progress of a long command: a bar with its rate and the time left (tqdm), on stderr.

Shown when stderr is a terminal, or when WEILEDGER_PROGRESS=1 forces it (0 hides it):
a test, a log or a pipe gets only what the command prints on stdout. The work itself
takes a plain callable, `progress(n)`: n more units done (the shape of tqdm's update),
so no package below cli/ knows of the bar.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm import tqdm

FORCE = "WEILEDGER_PROGRESS"

Update = Callable[[int], None]


def shown(enabled: bool = True) -> bool:
    forced = os.environ.get(FORCE, "")
    if not enabled or forced == "0":
        return False
    return forced == "1" or sys.stderr.isatty()


@contextmanager
def progress(what: str, total: int | None, unit: str = "event",
             enabled: bool = True) -> Iterator[Update]:
    """`with progress("verify-chain", events) as update: work(progress=update)`."""
    with tqdm(total=total, desc=what, unit=unit, unit_scale=True, file=sys.stderr,
              disable=not shown(enabled), mininterval=0.5, dynamic_ncols=True) as bar:
        yield bar.update
