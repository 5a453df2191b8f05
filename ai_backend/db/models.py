"""The AI side's own tables. Ids are the main backend's, so every write is an upsert by id."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ai_backend.db.base import Base, Timestamped
from ai_backend.domain import (
    CHECKIN_NOTE_MAX,
    COSTS,
    EVENT_TYPES,
    FEEDBACK_KINDS,
    FEEDBACK_STATUSES,
    ITEM_KINDS,
    ITEM_LEVELS,
    MOODS,
    PRACTICE_PRIVACIES,
    PRACTICE_STATUSES,
    RESOURCE_TYPES,
    VISIBILITIES,
)

ID_LENGTH = 64
TagList = ARRAY(String(64))


def _one_of(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


class User(Timestamped, Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    bio: Mapped[str] = mapped_column(Text, server_default="")
    professional_field: Mapped[str | None] = mapped_column(String(200))
    professional_fields: Mapped[list[str]] = mapped_column(ARRAY(String(200)), server_default="{}")
    position: Mapped[str | None] = mapped_column(String(200))
    education_stage: Mapped[str | None] = mapped_column(String(50))
    location: Mapped[str | None] = mapped_column(String(100))
    interests: Mapped[list[str]] = mapped_column(TagList, server_default="{}")
    tags: Mapped[list[str]] = mapped_column(TagList, server_default="{}")
    locale: Mapped[str] = mapped_column(String(16), server_default="zh-TW")
    discoverable: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    # The profile's fingerprint as the people index holds it; NULL when it holds nothing.
    indexed_hash: Mapped[str | None] = mapped_column(String(64))


class Practice(Timestamped, Base):
    __tablename__ = "practices"
    __table_args__ = (
        CheckConstraint("duration_days BETWEEN 1 AND 90", name="duration_days_range"),
        CheckConstraint(_one_of("status", PRACTICE_STATUSES), name="status_valid"),
        CheckConstraint(_one_of("privacy", PRACTICE_PRIVACIES), name="privacy_valid"),
        CheckConstraint(
            "end_date IS NULL OR start_date IS NULL OR end_date >= start_date",
            name="dates_ordered",
        ),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    practice_action: Mapped[str] = mapped_column(Text, server_default="")
    tags: Mapped[list[str]] = mapped_column(TagList, server_default="{}")
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    duration_days: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), server_default="draft")
    privacy: Mapped[str] = mapped_column(String(16), server_default="private")
    # The template (DaoDao's 主題範本) the practice was made from: partners on the same one first.
    template_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), index=True)


class Item(Timestamped, Base):
    __tablename__ = "items"
    __table_args__ = (
        CheckConstraint(_one_of("kind", ITEM_KINDS), name="kind_valid"),
        CheckConstraint(_one_of("level", ITEM_LEVELS), name="level_valid"),
        CheckConstraint(
            f"resource_type IS NULL OR {_one_of('resource_type', RESOURCE_TYPES)}",
            name="resource_type_valid",
        ),
        CheckConstraint(f"cost IS NULL OR {_one_of('cost', COSTS)}", name="cost_valid"),
        CheckConstraint(_one_of("visibility", VISIBILITIES), name="visibility_valid"),
        Index("ix_items_tags", "tags", postgresql_using="gin"),
        Index("ix_items_kind_visibility", "kind", "visibility"),
        # The index sync's work list stays small, so a partial index finds it cheaply.
        Index(
            "ix_items_index_pending",
            "id",
            postgresql_where=text(
                "(visibility = 'public' AND indexed_hash IS DISTINCT FROM fingerprint)"
                " OR (visibility <> 'public' AND indexed_hash IS NOT NULL)"
            ),
        ),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, server_default="")
    tags: Mapped[list[str]] = mapped_column(TagList, server_default="{}")
    category: Mapped[str | None] = mapped_column(String(100))
    subcategory: Mapped[str | None] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16), server_default="all")
    language: Mapped[str] = mapped_column(String(16), server_default="zh-TW")
    url: Mapped[str | None] = mapped_column(String(2048))
    image_url: Mapped[str | None] = mapped_column(String(2048))
    # DaoDao's resource type and cost, for resources it lists.
    resource_type: Mapped[str | None] = mapped_column(String(32))
    cost: Mapped[str | None] = mapped_column(String(16))
    owner_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # A public practice is also an item; deleting the practice removes its item.
    practice_id: Mapped[str | None] = mapped_column(
        ForeignKey("practices.id", ondelete="CASCADE"), unique=True
    )
    visibility: Mapped[str] = mapped_column(String(16), server_default="public")
    # A practice's item only: the practice's status and length, and the owner's check-in notes
    # while others may read them (`db/practice_items.py`).
    status: Mapped[str | None] = mapped_column(String(16))
    duration_days: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str] = mapped_column(Text, server_default="")
    # What the item's index point should be ("<text hash>:<payload hash>"), and what the index
    # holds. They differ until the index catches up; equal text hashes mean no re-embedding.
    fingerprint: Mapped[str] = mapped_column(String(64), server_default="")
    indexed_hash: Mapped[str | None] = mapped_column(String(64))


class Checkin(Timestamped, Base):
    __tablename__ = "checkins"
    __table_args__ = (
        CheckConstraint(
            f"mood IS NULL OR {_one_of('mood', MOODS)}",
            name="mood_valid",
        ),
        CheckConstraint(
            f"note IS NULL OR char_length(note) <= {CHECKIN_NOTE_MAX}", name="note_length"
        ),
        Index("ix_checkins_practice_id_checkin_date", "practice_id", "checkin_date"),
        CheckConstraint("cardinality(image_urls) <= 3", name="image_urls_at_most_3"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    checkin_date: Mapped[date] = mapped_column(Date)
    mood: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(TagList, server_default="{}")
    image_urls: Mapped[list[str]] = mapped_column(ARRAY(String(2048)), server_default="{}")


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint(_one_of("type", EVENT_TYPES), name="type_valid"),
        # A follow names a member; every other event names an item.
        CheckConstraint(
            "(type = 'follow' AND target_user_id IS NOT NULL AND item_id IS NULL)"
            " OR (type <> 'follow' AND item_id IS NOT NULL AND target_user_id IS NULL)",
            name="one_target",
        ),
        Index("ix_events_user_id_occurred_at", "user_id", "occurred_at"),
        # Recommendations exclude disliked and hidden items on every request.
        Index(
            "ix_events_exclusions",
            "user_id",
            "item_id",
            postgresql_where=text("type IN ('dislike', 'hide')"),
        ),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    item_id: Mapped[str | None] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), index=True
    )
    target_user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class FeedbackJob(Timestamped, Base):
    __tablename__ = "feedback_jobs"
    __table_args__ = (
        CheckConstraint(_one_of("kind", FEEDBACK_KINDS), name="kind_valid"),
        CheckConstraint(_one_of("status", FEEDBACK_STATUSES), name="status_valid"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        Index("ix_feedback_jobs_status_queued_at", "status", "queued_at"),
        CheckConstraint(
            "callback_status IS NULL OR callback_status IN ('pending', 'delivered', 'failed')",
            name="callback_status_valid",
        ),
        CheckConstraint("source IS NULL OR source IN ('model', 'template')", name="source_valid"),
        Index(
            "ix_feedback_jobs_callback_pending",
            "callback_next_at",
            postgresql_where=text("callback_status = 'pending'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    practice_id: Mapped[str] = mapped_column(
        ForeignKey("practices.id", ondelete="CASCADE"), index=True
    )
    checkin_id: Mapped[str | None] = mapped_column(
        ForeignKey("checkins.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    locale: Mapped[str] = mapped_column(String(16), server_default="zh-TW")
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), server_default="queued")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(String(200))
    prompt_version: Mapped[str | None] = mapped_column(String(32))
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[int | None] = mapped_column(BigInteger)
    callback_url: Mapped[str | None] = mapped_column(String(2048))
    callback_delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    request_id: Mapped[str | None] = mapped_column(String(128))
    # Who the feedback is for (the practice's owner): quotas and erasure go by it.
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # A worker's claim on a running job; past it, the sweeper hands the job out again.
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A queued job is not run before this (retry backoff).
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    # When a message for this job last went out (or will be delivered, for a delayed retry).
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # What the model said last time its answer was rejected (not the structure asked for, or a
    # failed check).
    raw_output: Mapped[str | None] = mapped_column(Text)
    # Whether the stored answer is the model's or the hand-written template, and the checks the
    # rejected generations failed.
    source: Mapped[str | None] = mapped_column(String(16))
    failed_checks: Mapped[list[str] | None] = mapped_column(ARRAY(String(32)))
    callback_status: Mapped[str | None] = mapped_column(String(16))
    callback_attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    callback_error: Mapped[str | None] = mapped_column(Text)
    # The next callback attempt is not made before this; an attempt in flight holds it ahead.
    callback_next_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
