"""Dependency aliases: routes name what they need and nothing more."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Query, Request

from ai_backend.auth import Principal, Scope
from ai_backend.db.uow import UnitOfWork, unit_of_work
from ai_backend.domain import MAX_PAGE
from ai_backend.errors import DomainError
from ai_backend.identity import caller_of

# Dependencies are `async def` on purpose: FastAPI runs plain `def` dependencies in a thread
# pool, and that hand-off cost more than the whole cached recommendation path.


def provided(name: str) -> Any:
    """A dependency on the part the composition root (`resources.py`) built as `name`. Each
    feature names the parts it needs with its own types, so this module knows no feature."""

    async def get(request: Request) -> Any:
        return getattr(request.app.state.resources, name)

    return Depends(get)


async def _unit_of_work(request: Request) -> AsyncIterator[UnitOfWork]:
    async with unit_of_work(request.app.state.resources.sessions) as uow:
        yield uow


# The request's one transaction. It commits when the route returns and before the response is
# sent (scope "function"), so a client that reads after a 2xx sees what it wrote; a route that
# raises is rolled back.
UnitOfWorkDep = Annotated[UnitOfWork, Depends(_unit_of_work, scope="function")]


async def _principal(request: Request) -> Principal:
    return caller_of(request.scope).require_principal()


def token_failure(request: Request) -> DomainError | None:
    """Why this request's token is not acceptable, or None when it is."""
    return caller_of(request.scope).refusal


def _scoped(scope: Scope) -> Any:
    async def check(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
        principal.require(scope)
        return principal

    return Depends(check)


ReadPrincipal = Annotated[Principal, _scoped("read")]
WritePrincipal = Annotated[Principal, _scoped("write")]
AdminPrincipal = Annotated[Principal, _scoped("admin")]


# `limit` of every list route: 1 to MAX_PAGE; each route gives its own default.
PageLimit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
