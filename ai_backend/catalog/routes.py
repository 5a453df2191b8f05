"""Catalogue ingestion (scope `write`), item reads (`read`) and reindexing (`admin`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status

from ai_backend import openapi
from ai_backend.catalog.reindex import ReindexJobs, ReindexStatus
from ai_backend.catalog.schemas import (
    BatchResult,
    IndexState,
    ItemBatch,
    ItemRead,
    ItemWrite,
    PracticeList,
    PracticeWrite,
    UserWrite,
)
from ai_backend.catalog.service import CatalogService
from ai_backend.deps import (
    AdminPrincipal,
    PageLimit,
    ReadPrincipal,
    UnitOfWorkDep,
    WritePrincipal,
    provided,
)
from ai_backend.schemas import EntityId, WriteResult

router = APIRouter(prefix="/v1", tags=["catalogue"])
admin = APIRouter(prefix="/v1/admin", tags=["admin"])
CatalogDep = Annotated[CatalogService, provided("catalog")]
ReindexDep = Annotated[ReindexJobs, provided("reindex")]
IdPath = Annotated[EntityId, Path(description="the main backend's id")]


def _created_or_ok(result: WriteResult, response: Response) -> WriteResult:
    response.status_code = (
        status.HTTP_201_CREATED if result.status == "created" else status.HTTP_200_OK
    )
    return result


def upserted(**targets: dict[str, Any]) -> dict[int | str, Any]:
    """An upsert's 200 and 201, both with these links onward."""
    return openapi.responses(WriteResult, (200, 201), **targets)


ITEM = "$request.path.item_id"
USER = "$request.path.user_id"
PRACTICE = "$request.path.practice_id"


@router.put(
    "/items/{item_id}",
    response_model=WriteResult,
    responses=upserted(
        GetItem=openapi.to("/v1/items/{item_id}", "get", item_id=ITEM),
        SimilarItems=openapi.to("/v1/items/{item_id}/similar", "get", item_id=ITEM),
        DeleteItem=openapi.to("/v1/items/{item_id}", "delete", item_id=ITEM),
    ),
)
async def put_item(
    item_id: IdPath,
    item: ItemWrite,
    _: WritePrincipal,
    catalog: CatalogDep,
    uow: UnitOfWorkDep,
    response: Response,
) -> WriteResult:
    """Create or replace one item; unchanged content is not embedded again."""
    return _created_or_ok(await catalog.write_item(uow, item_id, item), response)


@router.post("/items:batch", response_model=BatchResult)
async def post_items(
    batch: ItemBatch, _: WritePrincipal, catalog: CatalogDep, uow: UnitOfWorkDep
) -> BatchResult:
    """Upsert up to 1,000 items; each answers for itself, and the last entry for an id wins."""
    return await catalog.write_items(uow, batch.items)


@router.get("/items/{item_id}", response_model=ItemRead)
async def get_item(
    item_id: IdPath, _: ReadPrincipal, catalog: CatalogDep, uow: UnitOfWorkDep
) -> ItemRead:
    """One public item."""
    return ItemRead.model_validate(await catalog.get_item(uow, item_id), from_attributes=True)


@router.delete("/items/{item_id}", status_code=204)
async def delete_item(
    item_id: IdPath, _: WritePrincipal, catalog: CatalogDep, uow: UnitOfWorkDep
) -> None:
    """Delete an item (idempotent: deleting twice is fine)."""
    await catalog.delete_items(uow, [item_id])


@router.put(
    "/users/{user_id}",
    response_model=WriteResult,
    responses=upserted(
        Practices=openapi.to("/v1/users/{user_id}/practices", "get", user_id=USER),
        Recommendations=openapi.to("/v1/users/{user_id}/recommendations", "get", user_id=USER),
        EraseUser=openapi.to("/v1/users/{user_id}", "delete", user_id=USER),
    ),
)
async def put_user(
    user_id: IdPath,
    user: UserWrite,
    _: WritePrincipal,
    catalog: CatalogDep,
    uow: UnitOfWorkDep,
    response: Response,
) -> WriteResult:
    """Create or replace a member's profile."""
    return _created_or_ok(await catalog.write_user(uow, user_id, user), response)


@router.delete("/users/{user_id}", status_code=204)
async def delete_user(
    user_id: IdPath, _: AdminPrincipal, catalog: CatalogDep, uow: UnitOfWorkDep
) -> None:
    """Erase a member (scope `admin`; idempotent).

    Removes their profile, practices, check-ins, owned items, events and feedback jobs with
    their results; their vectors; their cached recommendations; and every cached answer for
    another member that names them or one of their items.
    """
    await catalog.delete_user(uow, user_id)


@router.get("/users/{user_id}/practices", response_model=PracticeList)
async def user_practices(
    user_id: IdPath,
    _: ReadPrincipal,
    catalog: CatalogDep,
    uow: UnitOfWorkDep,
    limit: PageLimit = 50,
) -> PracticeList:
    """A member's practices, newest first, with their check-in counts (private ones too)."""
    return PracticeList(practices=await catalog.practices_of(uow, user_id, limit=limit))


@router.put(
    "/practices/{practice_id}",
    response_model=WriteResult,
    responses=upserted(
        RequestFeedback=openapi.to(
            "/v1/practices/{practice_id}/feedback", "post", practice_id=PRACTICE
        ),
        PracticeFeedback=openapi.to(
            "/v1/practices/{practice_id}/feedback", "get", practice_id=PRACTICE
        ),
        DeletePractice=openapi.to("/v1/practices/{practice_id}", "delete", practice_id=PRACTICE),
    ),
)
async def put_practice(
    practice_id: IdPath,
    practice: PracticeWrite,
    _: WritePrincipal,
    catalog: CatalogDep,
    uow: UnitOfWorkDep,
    response: Response,
) -> WriteResult:
    """Create or replace a practice; a public one is searchable as item `practice:<id>`."""
    return _created_or_ok(await catalog.write_practice(uow, practice_id, practice), response)


@router.delete("/practices/{practice_id}", status_code=204)
async def delete_practice(
    practice_id: IdPath, _: WritePrincipal, catalog: CatalogDep, uow: UnitOfWorkDep
) -> None:
    """Delete a practice, its check-ins and its catalogue item (idempotent)."""
    await catalog.delete_practice(uow, practice_id)


@admin.get("/index", response_model=IndexState)
async def index_state(_: AdminPrincipal, catalog: CatalogDep) -> IndexState:
    """Points in the vector index, rows waiting to be indexed, and whether it is optimising."""
    indexer = catalog.indexer
    return IndexState(
        points=await indexer.index.count(),
        pending=await indexer.pending(),
        optimizing=indexer.optimizing,
    )


@admin.post(
    "/reindex",
    response_model=ReindexStatus,
    status_code=202,
    responses=openapi.responses(
        ReindexStatus,
        (202,),
        ReindexProgress=openapi.to(
            "/v1/admin/reindex/{job_id}", "get", job_id="$response.body#/job_id"
        ),
    ),
)
async def start_reindex(_: AdminPrincipal, jobs: ReindexDep) -> ReindexStatus:
    """Rebuild the vector index from PostgreSQL in the background; poll the job for progress."""
    return await jobs.start()


@admin.get("/reindex/{job_id}", response_model=ReindexStatus)
async def reindex_status(
    job_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")], _: AdminPrincipal, jobs: ReindexDep
) -> ReindexStatus:
    """Progress of a reindex job."""
    return await jobs.get(job_id)
