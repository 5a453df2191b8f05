"""One asyncio event loop per worker process; tasks submit coroutines to it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
_loop: asyncio.AbstractEventLoop | None = None
_lock = threading.Lock()


def start() -> asyncio.AbstractEventLoop:
    """Create the process's loop (idempotent: the solo pool never fires worker_process_init)."""
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            _loop = asyncio.new_event_loop()
        return _loop


def run(coro: Coroutine[Any, Any, T]) -> T:
    return start().run_until_complete(coro)
