"""Shutdown finishes whatever a client does: each close step has a deadline, and a stuck or
failing one does not keep the next from closing."""

from __future__ import annotations

import asyncio

from ai_backend.infra.background import close_in_turn


async def test_a_stuck_or_failing_step_is_abandoned_and_the_rest_still_close() -> None:
    closed: list[str] = []
    cancelled = asyncio.Event()

    async def stuck() -> None:
        try:
            await asyncio.Event().wait()  # a connection that never answers
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def failing() -> None:
        raise ConnectionResetError("peer went away")

    async def fine(name: str) -> None:
        closed.append(name)

    abandoned = await close_in_turn(
        [
            ("first", lambda: fine("first")),
            ("stuck", stuck),
            ("failing", failing),
            ("last", lambda: fine("last")),
        ],
        within=0.2,
    )
    assert abandoned == ["stuck", "failing"]
    assert closed == ["first", "last"]
    assert cancelled.is_set(), "the stuck step was cancelled, not left running"
