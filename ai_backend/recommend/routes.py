"""`POST /v1/events` (scope `write`) and recommendations (scope `read`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from ai_backend.deps import (
    AdminPrincipal,
    PageLimit,
    ReadPrincipal,
    provided,
)
from ai_backend.domain import ItemKind
from ai_backend.errors import Invalid
from ai_backend.recommend.reasons import ReasonLocale
from ai_backend.recommend.request import RecommendRequest
from ai_backend.recommend.schemas import (
    MAX_EXCLUDE,
    ModelState,
    PartnerPage,
    RecommendationPage,
    RecommendQuery,
    Target,
)
from ai_backend.recommend.service import Recommender
from ai_backend.schemas import EntityId, listed

router = APIRouter(prefix="/v1", tags=["recommendations"])
admin = APIRouter(prefix="/v1/admin", tags=["admin"])
RecommenderDep = Annotated[Recommender, provided("recommender")]
JSON = "application/json"


def _request(query: RecommendQuery) -> RecommendRequest:
    if query.target == "people" and query.kind:
        raise Invalid("kind: applies to target=items only")
    return RecommendRequest.normalised(
        query.user_id, query.target, query.limit, query.kind or (), query.exclude_ids, query.locale
    )


async def _answer(recommender: Recommender, query: RecommendQuery) -> Response:
    return Response(await recommender.recommend(_request(query)), media_type=JSON)


@router.get("/practices/{practice_id}/partners", response_model=PartnerPage)
async def partners(
    practice_id: Annotated[EntityId, Path(description="the practice to find partners for")],
    _: ReadPrincipal,
    recommender: RecommenderDep,
    limit: PageLimit = 10,
    exclude_ids: Annotated[
        list[str] | None,
        Query(max_length=MAX_EXCLUDE, description="members not to suggest (buddies already)"),
    ] = None,
    locale: Annotated[
        ReasonLocale | None,
        Query(description="the language of the reasons (default: the owner's locale)"),
    ] = None,
) -> PartnerPage:
    """Members to practise with (找夥伴): on a practice from the same template first, then on
    practices close in meaning, then with close profiles. Never the owner, a member they
    follow, or one who is not discoverable."""
    excluded = listed(exclude_ids)
    if len(excluded) > MAX_EXCLUDE:
        raise Invalid(f"exclude_ids: at most {MAX_EXCLUDE} ids (got {len(excluded)})")
    return await recommender.partners.find(
        practice_id, limit=limit, exclude=excluded, locale=locale
    )


@router.get("/users/{user_id}/recommendations", response_model=RecommendationPage)
async def get_recommendations(
    user_id: Annotated[EntityId, Path(description="the member to recommend for")],
    _: ReadPrincipal,
    recommender: RecommenderDep,
    target: Target = "items",
    limit: PageLimit = 10,
    kind: Annotated[list[ItemKind] | None, Query(max_length=8)] = None,
    exclude_ids: Annotated[
        list[str] | None,
        Query(
            max_length=MAX_EXCLUDE,
            description=f"ids never to return; repeat the parameter or separate ids with commas "
            f"(at most {MAX_EXCLUDE})",
        ),
    ] = None,
    locale: Annotated[
        ReasonLocale | None,
        Query(description="the language of the reasons (default: the member's locale)"),
    ] = None,
) -> Response:
    """Items (resources and public practices) or people for one member, with reasons.

    Served from the cache when it can be (`cache`: hit, or stale while it is recomputed);
    `degraded` is true when the answer was computed without the cache or without a source.
    """
    excluded = listed(exclude_ids)
    if len(excluded) > MAX_EXCLUDE:
        raise Invalid(f"exclude_ids: at most {MAX_EXCLUDE} ids (got {len(excluded)})")
    try:
        query = RecommendQuery(
            user_id=user_id,
            target=target,
            limit=limit,
            kind=kind,
            exclude_ids=excluded,
            locale=locale,
        )
    except ValidationError as exc:
        errors = [{**e, "loc": ("query", *e["loc"])} for e in exc.errors()]
        raise RequestValidationError(errors) from exc
    return await _answer(recommender, query)


@router.post("/recommend", response_model=RecommendationPage)
async def post_recommend(
    query: RecommendQuery, _: ReadPrincipal, recommender: RecommenderDep
) -> Response:
    """The same as the GET route, with the parameters in a JSON body."""
    return await _answer(recommender, query)


@admin.get("/recommender", response_model=ModelState)
async def recommender_state(_: AdminPrincipal, recommender: RecommenderDep) -> ModelState:
    """What the collaborative model was trained on, and when."""
    return _state(recommender)


@admin.post("/recommender/train", response_model=ModelState)
async def train_recommender(_: AdminPrincipal, recommender: RecommenderDep) -> ModelState:
    """Train the collaborative model now and wait until it serves."""
    await recommender.models.refresh(wait=True)
    return _state(recommender)


def _state(recommender: Recommender) -> ModelState:
    model = recommender.models.model
    return ModelState(
        trained_at=model.trained_at,
        items=len(model.item_ids),
        users=model.users,
        interactions=model.interactions,
        took_ms=model.took_ms,
    )
