"""Work that runs for the lifetime of an API process, started and stopped with it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

logger = logging.getLogger(__name__)
Closer = tuple[str, Callable[[], Awaitable[object]]]


class BackgroundLoop:
    """Subclasses write `_loop`, which runs until `close()` cancels it."""

    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        raise NotImplementedError


async def close_in_turn(steps: Sequence[Closer], *, within: float) -> list[str]:
    """Run each named close step in order, each within `within` seconds; return the names of
    those that timed out or failed. A client stuck on a dead connection (seen: after PostgreSQL
    restarted under load) is abandoned with a warning rather than holding the process open."""
    abandoned = []
    for name, step in steps:
        try:
            async with asyncio.timeout(within):
                await step()
        except TimeoutError:
            logger.warning("shutdown: %s did not close in %.0f s", name, within)
            abandoned.append(name)
        except Exception as exc:
            logger.warning("shutdown: closing %s failed: %s", name, exc)
            abandoned.append(name)
    return abandoned
