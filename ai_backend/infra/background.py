"""Work that runs for the lifetime of an API process, started and stopped with it."""

from __future__ import annotations

import asyncio
import contextlib


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
