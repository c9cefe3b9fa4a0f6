"""Waiting for what happens in its own time (a background task, another process): ask
again until the answer is the one wanted, within a bound, and fail saying what never
happened and what was last seen, never a bare timeout."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


def _give_up_after(started: float, within: float, what: str, answer: Any) -> None:
    if time.monotonic() - started > within:
        raise AssertionError(f"{what}: not within {within} s (last answer: {answer!r})")


async def eventually(
    probe: Callable[[], Awaitable[T] | T],
    what: str,
    *,
    until: Callable[[T], object] = bool,
    within: float = 20.0,
    every: float = 0.05,
) -> T:
    """Ask `probe` (sync or async) every `every` seconds until `until` holds for its
    answer, and return that answer; after `within` seconds fail, naming `what`."""
    started = time.monotonic()
    while True:
        answer = probe()
        found = await answer if inspect.isawaitable(answer) else answer
        if until(found):
            return found
        _give_up_after(started, within, what, found)
        await asyncio.sleep(every)


def eventually_blocking(
    probe: Callable[[], T],
    what: str,
    *,
    until: Callable[[T], object] = bool,
    within: float = 20.0,
    every: float = 0.05,
) -> T:
    """`eventually` for a test with no event loop (one that drives a subprocess)."""
    started = time.monotonic()
    while True:
        found = probe()
        if until(found):
            return found
        _give_up_after(started, within, what, found)
        time.sleep(every)
