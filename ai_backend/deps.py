"""Dependency aliases: routes name what they need and nothing more."""

from __future__ import annotations

from typing import Annotated, Any

from celery import Celery
from fastapi import Depends, Header, Request

from ai_backend.auth import Principal, Scope, principal_from_header
from ai_backend.catalog.reindex import ReindexJobs
from ai_backend.catalog.service import CatalogService
from ai_backend.errors import DomainError
from ai_backend.recommend.service import Recommender
from ai_backend.resources import Resources
from ai_backend.search.service import SearchService


def get_resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


ResourcesDep = Annotated[Resources, Depends(get_resources)]


def _celery(resources: ResourcesDep) -> Celery:
    return resources.celery


def _catalog(resources: ResourcesDep) -> CatalogService:
    return resources.catalog


def _search(resources: ResourcesDep) -> SearchService:
    return resources.search


def _reindex(resources: ResourcesDep) -> ReindexJobs:
    return resources.reindex


def _recommender(resources: ResourcesDep) -> Recommender:
    return resources.recommender


CatalogDep = Annotated[CatalogService, Depends(_catalog)]
SearchDep = Annotated[SearchService, Depends(_search)]
ReindexDep = Annotated[ReindexJobs, Depends(_reindex)]
CeleryDep = Annotated[Celery, Depends(_celery)]
RecommenderDep = Annotated[Recommender, Depends(_recommender)]


def _principal(
    resources: ResourcesDep,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Principal:
    return principal_from_header(
        authorization, key=resources.jwt_key, issuer=resources.settings.jwt_issuer
    )


def token_failure(request: Request) -> DomainError | None:
    """Why this request's token is not acceptable, or None when it is."""
    try:
        _principal(get_resources(request), request.headers.get("authorization"))
    except DomainError as exc:
        return exc
    return None


def _scoped(scope: Scope) -> Any:
    def check(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
        principal.require(scope)
        return principal

    return Depends(check)


ReadPrincipal = Annotated[Principal, _scoped("read")]
WritePrincipal = Annotated[Principal, _scoped("write")]
AdminPrincipal = Annotated[Principal, _scoped("admin")]
