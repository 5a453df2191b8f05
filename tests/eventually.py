"""Waiting for asynchronous work: poll with a deadline, never sleep and hope.

Every test that waits for something another process or task does (a job to finish, a cache to
fill, a server to come back) waits through one of these two, so a timeout always names what never
happened and what was last seen.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")


@overload
async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, within: float, what: str, every: float = 0.1
) -> T: ...
@overload
async def eventually(
    probe: Callable[[], T | None], *, within: float, what: str, every: float = 0.1
) -> T: ...
async def eventually(
    probe: Callable[[], Any], *, within: float, what: str, every: float = 0.1
) -> Any:
    """The first truthy result of `probe()`, a plain or async function polled every `every`
    seconds; fails naming `what` and the last result when `within` seconds pass without one."""
    deadline = time.monotonic() + within
    while True:
        seen = probe()
        if inspect.isawaitable(seen):
            seen = await seen
        if seen:
            return seen
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {within:g} s waiting for {what}; last: {seen!r}")
        await asyncio.sleep(every)


def eventually_sync(
    probe: Callable[[], T | None], *, within: float, what: str, every: float = 0.1
) -> T:
    """`eventually` for code without an event loop: fixtures that start servers, threads."""
    deadline = time.monotonic() + within
    while True:
        seen = probe()
        if seen:
            return seen
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {within:g} s waiting for {what}; last: {seen!r}")
        time.sleep(every)
