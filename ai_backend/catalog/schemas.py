"""What the main backend sends and gets back for items, users and practices."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    AnyHttpUrl,
    BaseModel,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic import Strict as Exact

from ai_backend.domain import (
    MAX_BATCH_ITEMS,
    RESOURCE_KINDS,
    Cost,
    ItemKind,
    ItemLevel,
    PracticePrivacy,
    PracticeStatus,
    ResourceType,
    Visibility,
    WriteStatus,
)
from ai_backend.schemas import EntityId, Language, RequestBody, Tags, WriteResult

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Category = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class ItemWrite(RequestBody):
    """A catalogue item as the main backend knows it: a DaoDao resource (its type, level, cost,
    categories and image) or any other learning item."""

    kind: ItemKind | None = Field(
        default=None,
        description="what the item is; without it, taken from resource_type "
        "(README: DaoDao's fields)",
    )
    title: Title
    description: Annotated[str, Field(max_length=20_000)] = ""
    tags: Tags = []
    category: Category | None = Field(default=None, description="the major category (大分類)")
    subcategory: Category | None = Field(default=None, description="the subcategory (小分類)")
    level: ItemLevel = "all"
    language: Language = "zh-TW"
    url: Annotated[AnyHttpUrl, Field()] | None = None
    image_url: Annotated[AnyHttpUrl, Field()] | None = None
    resource_type: ResourceType | None = Field(default=None, description="DaoDao's resource type")
    cost: Cost | None = None
    owner_id: EntityId | None = None
    visibility: Visibility = "public"

    @field_validator("url", "image_url")
    @classmethod
    def _url_length(cls, value: AnyHttpUrl | None) -> AnyHttpUrl | None:
        if value is not None and len(str(value)) > 2048:
            raise ValueError("must be at most 2048 characters")
        return value

    @model_validator(mode="after")
    def _kind_known(self) -> ItemWrite:
        if self.kind is None:
            if self.resource_type is None:
                raise ValueError("kind: send kind, or resource_type to take the kind from")
            self.kind = RESOURCE_KINDS[self.resource_type]  # type: ignore[assignment]
        return self


class ItemBatchEntry(ItemWrite):
    id: EntityId


class ItemBatch(RequestBody):
    """Up to 1,000 items; each is validated on its own, so one bad item fails alone."""

    # Entries are typed loosely here and validated one by one (as ItemBatchEntry) by the service.
    items: Annotated[
        list[Any],
        Field(
            min_length=1,
            max_length=MAX_BATCH_ITEMS,
            description="ItemBatchEntry objects: an item's fields plus its `id`",
        ),
    ]


class BatchResult(BaseModel):
    results: list[WriteResult]
    counts: dict[WriteStatus, int]


class IndexState(BaseModel):
    points: int
    pending: int
    optimizing: bool


class ItemRead(ItemWrite):
    id: str
    created_at: datetime
    updated_at: datetime


class UserWrite(RequestBody):
    """A member's profile: what recommendations of people and items draw on."""

    display_name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
    ]
    bio: Annotated[str, Field(max_length=5_000)] = ""
    professional_field: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None, description="one field; professional_fields takes several"
    )
    professional_fields: Annotated[
        list[
            Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
        ],
        Field(max_length=10),
    ] = []
    position: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = (
        Field(default=None, description="what they do: 學生, 工程師, 老師, ...")
    )
    education_stage: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)] | None
    ) = Field(default=None, description="DaoDao's 教育階段, such as 大學 or 高中")
    location: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
        | None
    ) = Field(default=None, description="where they learn, such as 台北市")
    interests: Tags = []
    tags: Tags = []
    locale: Language = "zh-TW"
    discoverable: Annotated[bool, Exact()] = True


class PracticeWrite(RequestBody):
    """A 主題實踐: a 1-90 day self-learning plan.

    `user_id` and `action` are the main backend's names; `owner_id` and `practice_action` (the
    column names) are accepted too.
    """

    owner_id: EntityId = Field(validation_alias=AliasChoices("user_id", "owner_id"))
    title: Title
    practice_action: Annotated[str, Field(max_length=5_000)] = Field(
        default="", validation_alias=AliasChoices("action", "practice_action")
    )
    tags: Tags = []
    start_date: date | None = None
    end_date: date | None = None
    duration_days: Annotated[int, Exact(), Field(ge=1, le=90)]
    status: PracticeStatus = "draft"
    privacy: PracticePrivacy = Field(
        default="private",
        description="private (the default): only its owner sees it; public: others find it and "
        "read its check-ins; delayed (完成後分享): others find its title and tags at once and "
        "read its check-ins once it is completed",
    )
    template_id: EntityId | None = Field(
        default=None, description="the template (主題範本) it was made from, if any"
    )

    @model_validator(mode="after")
    def _dates_in_order(self) -> PracticeWrite:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError("end_date must not be before start_date")
        return self


class PracticeRead(BaseModel):
    """A member's practice as the gateway's console lists it, with its check-in tally."""

    id: str
    owner_id: str
    title: str
    status: PracticeStatus
    privacy: PracticePrivacy
    template_id: str | None
    duration_days: int
    start_date: date | None
    end_date: date | None
    checkins: int
    last_checkin: date | None


class PracticeList(BaseModel):
    practices: list[PracticeRead]
