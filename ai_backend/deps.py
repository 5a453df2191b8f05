"""Dependency aliases: routes name what they need and nothing more."""

from __future__ import annotations

from typing import Annotated, Any

from celery import Celery
from fastapi import Depends, Query, Request

from ai_backend.auth import Principal, Scope
from ai_backend.catalog.reindex import ReindexJobs
from ai_backend.catalog.service import CatalogService
from ai_backend.domain import MAX_PAGE
from ai_backend.errors import DomainError
from ai_backend.feedback.service import FeedbackService
from ai_backend.identity import caller_of
from ai_backend.recommend.service import Recommender
from ai_backend.resources import Resources
from ai_backend.search.service import SearchService

# Dependencies are `async def` on purpose: FastAPI runs plain `def` dependencies in a thread
# pool, and that hand-off cost more than the whole cached recommendation path.


def resources_of(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


async def get_resources(request: Request) -> Resources:
    return resources_of(request)


ResourcesDep = Annotated[Resources, Depends(get_resources)]


async def _celery(resources: ResourcesDep) -> Celery:
    return resources.celery


async def _catalog(resources: ResourcesDep) -> CatalogService:
    return resources.catalog


async def _search(resources: ResourcesDep) -> SearchService:
    return resources.search


async def _reindex(resources: ResourcesDep) -> ReindexJobs:
    return resources.reindex


async def _recommender(resources: ResourcesDep) -> Recommender:
    return resources.recommender


async def _feedback(resources: ResourcesDep) -> FeedbackService:
    return resources.feedback


CatalogDep = Annotated[CatalogService, Depends(_catalog)]
SearchDep = Annotated[SearchService, Depends(_search)]
ReindexDep = Annotated[ReindexJobs, Depends(_reindex)]
CeleryDep = Annotated[Celery, Depends(_celery)]
RecommenderDep = Annotated[Recommender, Depends(_recommender)]
FeedbackDep = Annotated[FeedbackService, Depends(_feedback)]


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
