"""The unit of work: one use case, one transaction, committed once at its boundary.

A route takes `deps.UnitOfWorkDep`, a task or a background loop opens `unit_of_work(sessions)`.
Services and repositories work in `uow.session` and flush; only `UnitOfWork.commit` commits.
What must follow the commit and never precede it (syncing the vector index, dropping cached
answers, sending a Celery task) is registered with `after_commit` and runs once the rows are
durable, in the order registered. A use case that raises is rolled back and its hooks never run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

Hook = Callable[[], Awaitable[object]]


class UnitOfWork:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._hooks: list[Hook] = []

    def after_commit(self, hook: Hook) -> None:
        """Run `hook` once the transaction has committed."""
        self._hooks.append(hook)

    async def commit(self) -> None:
        """Commit, then run the hooks registered so far. A hook that fails raises after the rows
        are committed: what it derives (an index, a cache) is repaired by its own retry or
        sweep, never by writing the rows again."""
        await self.session.commit()
        hooks, self._hooks = self._hooks, []
        for hook in hooks:
            await hook()


@asynccontextmanager
async def unit_of_work(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[UnitOfWork]:
    """A unit of work that commits when the block ends without an exception and rolls back
    when it raises."""
    async with sessions() as session:
        uow = UnitOfWork(session)
        yield uow
        await uow.commit()
