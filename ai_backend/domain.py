"""Vocabulary shared by the schemas, the database constraints and the services."""

from __future__ import annotations

from typing import Any, Literal, get_args

ItemKind = Literal["course", "book", "video", "website", "tool", "article", "practice", "other"]
ItemLevel = Literal["beginner", "intermediate", "advanced", "expert", "all"]
# DaoDao's eight resource types, and what each is as an item `kind` when no kind is sent.
ResourceType = Literal[
    "learning_platform_app",
    "learning_tools",
    "books_articles",
    "video_content",
    "podcast_content",
    "workshops_courses",
    "professional_certificates",
    "community_organization",
]
RESOURCE_KINDS: dict[str, str] = {
    "learning_platform_app": "website",
    "learning_tools": "tool",
    "books_articles": "book",
    "video_content": "video",
    "podcast_content": "other",
    "workshops_courses": "course",
    "professional_certificates": "course",
    "community_organization": "other",
}
Cost = Literal["free", "partial_free", "paid"]
Visibility = Literal["public", "private", "hidden"]
# DaoDao's practice privacy: `delayed` (完成後分享) shows the title and tags at once and the
# check-ins only once the practice is completed.
PracticePrivacy = Literal["private", "public", "delayed"]
PracticeStatus = Literal["draft", "not_started", "active", "completed", "archived"]
Mood = Literal["give_up", "frustrated", "bored", "neutral", "good", "happy"]
# What a member does: to an item (DaoDao's four reactions 加油 啟發 共鳴 好奇 among them; `copy`
# copies a practice), or to another member (`follow`).
EventType = Literal[
    "view",
    "like",
    "bookmark",
    "complete",
    "checkin",
    "dislike",
    "hide",
    "cheer",
    "inspired",
    "resonate",
    "curious",
    "comment",
    "copy",
    "follow",
]
# The one event type whose target is a member, not an item.
MEMBER_EVENTS: tuple[str, ...] = ("follow",)
FeedbackKind = Literal["checkin_encouragement", "weekly_summary", "completion_insight"]
FeedbackStatus = Literal["queued", "running", "succeeded", "failed"]

ITEM_KINDS: tuple[str, ...] = get_args(ItemKind)
ITEM_LEVELS: tuple[str, ...] = get_args(ItemLevel)
RESOURCE_TYPES: tuple[str, ...] = get_args(ResourceType)
COSTS: tuple[str, ...] = get_args(Cost)
VISIBILITIES: tuple[str, ...] = get_args(Visibility)
PRACTICE_STATUSES: tuple[str, ...] = get_args(PracticeStatus)
PRACTICE_PRIVACIES: tuple[str, ...] = get_args(PracticePrivacy)
# The statuses others ever see a practice in: DaoDao never shows a draft, a practice not
# started yet, or an archived one.
SHOWN_STATUSES: tuple[str, ...] = ("active", "completed")
MOODS: tuple[str, ...] = get_args(Mood)
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
FEEDBACK_KINDS: tuple[str, ...] = get_args(FeedbackKind)
FEEDBACK_STATUSES: tuple[str, ...] = get_args(FeedbackStatus)
# A job in one of these has its result (or its reason) and never changes again.
FEEDBACK_FINAL: tuple[str, ...] = ("succeeded", "failed")

CHECKIN_NOTE_MAX = 300

# Ids from the main backend: short, URL-safe, and never empty.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,54}$"
MAX_BATCH_ITEMS = 1000
# The most entries one page of any list may hold.
MAX_PAGE = 100


def practice_item_id(practice_id: str) -> str:
    """The catalogue item that makes a public practice searchable."""
    return f"practice:{practice_id}"


def practice_listed(privacy: str, status: str) -> bool:
    """Whether others may find the practice (its title, action and tags): searchable and
    recommendable."""
    return privacy in ("public", "delayed") and status in SHOWN_STATUSES


def notes_shared(privacy: str, status: str) -> bool:
    """Whether others may read the practice's check-ins: a public practice's at once, a delayed
    one's once it is completed."""
    if privacy == "delayed":
        return status == "completed"
    return privacy == "public" and status in SHOWN_STATUSES


def fields_of(user: Any) -> list[str]:
    """A member's professional fields: the list, and the single field older profiles send."""
    named = [*(getattr(user, "professional_fields", None) or []), user.professional_field or ""]
    seen: dict[str, str] = {}
    for name in named:
        if name.strip():
            seen.setdefault(name.strip().casefold(), name.strip())
    return list(seen.values())


def profile_text(user: Any) -> str:
    """What a member says about themself: interests, fields, position, tags and bio."""
    parts = [
        " ".join(user.interests),
        " ".join(fields_of(user)),
        getattr(user, "position", None) or "",
        " ".join(user.tags),
        user.bio,
    ]
    return "\n".join(p for p in parts if p).strip()


# What an upsert did to one record.
WriteStatus = Literal["created", "updated", "unchanged", "failed"]
