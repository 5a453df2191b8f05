"""The unit of work commits once at its boundary, and only then runs what follows a commit."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ai_backend.db.models import User
from ai_backend.db.session import make_engine, make_session_factory
from ai_backend.db.uow import unit_of_work


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(database_url, pool_size=2)
    yield make_session_factory(engine)
    await engine.dispose()


async def stored(sessions: async_sessionmaker[AsyncSession], user_id: str) -> bool:
    async with sessions() as session:
        return await session.scalar(select(User.id).where(User.id == user_id)) is not None


async def test_hooks_run_after_the_commit_and_see_its_rows(
    sessions: async_sessionmaker[AsyncSession], unique: str
) -> None:
    user_id = f"uow-{unique}"
    seen: list[tuple[str, bool]] = []

    async def hook(name: str) -> None:
        seen.append((name, await stored(sessions, user_id)))

    async with unit_of_work(sessions) as uow:
        uow.session.add(User(id=user_id, display_name="uow"))
        uow.after_commit(lambda: hook("first"))
        uow.after_commit(lambda: hook("second"))
        await uow.session.flush()
        # Flushed, not committed: nobody else sees the row yet, and no hook has run.
        assert not await stored(sessions, user_id)
        assert seen == []
    assert seen == [("first", True), ("second", True)]
    async with unit_of_work(sessions) as uow:
        await uow.session.execute(delete(User).where(User.id == user_id))


async def test_a_use_case_that_raises_is_rolled_back_and_its_hooks_never_run(
    sessions: async_sessionmaker[AsyncSession], unique: str
) -> None:
    user_id = f"uow-{unique}"
    ran: list[str] = []

    async def hook() -> None:
        ran.append("hook")

    async def use_case() -> None:
        async with unit_of_work(sessions) as uow:
            uow.session.add(User(id=user_id, display_name="uow"))
            uow.after_commit(hook)
            await uow.session.flush()
            raise LookupError("the use case failed after writing")

    with pytest.raises(LookupError):
        await use_case()
    assert not await stored(sessions, user_id)
    assert ran == []
