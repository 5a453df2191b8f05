"""Typed reactions (cheer, inspired, resonate, curious), comment, copy, and follow, whose target
is a member instead of an item

Revision ID: 6c1d9e3f0a84
Revises: 3b8e5c0d1f27
Create Date: 2026-12-05 04:00:00.000000

Existing events all name an item and keep it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6c1d9e3f0a84"
down_revision: str | None = "3b8e5c0d1f27"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = ("view", "like", "bookmark", "complete", "checkin", "dislike", "hide")
AFTER = (*BEFORE, "cheer", "inspired", "resonate", "curious", "comment", "copy", "follow")
ONE_TARGET = (
    "(type = 'follow' AND target_user_id IS NOT NULL AND item_id IS NULL)"
    " OR (type <> 'follow' AND item_id IS NOT NULL AND target_user_id IS NULL)"
)


def _types(values: Sequence[str]) -> str:
    return f"type IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.drop_constraint(op.f("ck_events_type_valid"), "events", type_="check")
    op.create_check_constraint(op.f("ck_events_type_valid"), "events", _types(AFTER))
    op.alter_column("events", "item_id", existing_type=sa.String(64), nullable=True)
    op.add_column("events", sa.Column("target_user_id", sa.String(64), nullable=True))
    op.create_foreign_key(
        op.f("fk_events_target_user_id_users"),
        "events",
        "users",
        ["target_user_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_index(op.f("ix_events_target_user_id"), "events", ["target_user_id"])
    op.create_check_constraint(op.f("ck_events_one_target"), "events", ONE_TARGET)


def downgrade() -> None:
    op.execute(f"DELETE FROM events WHERE NOT {_types(BEFORE)}")
    op.drop_constraint(op.f("ck_events_one_target"), "events", type_="check")
    op.drop_index(op.f("ix_events_target_user_id"), table_name="events")
    op.drop_constraint(op.f("fk_events_target_user_id_users"), "events", type_="foreignkey")
    op.drop_column("events", "target_user_id")
    op.alter_column("events", "item_id", existing_type=sa.String(64), nullable=False)
    op.drop_constraint(op.f("ck_events_type_valid"), "events", type_="check")
    op.create_check_constraint(op.f("ck_events_type_valid"), "events", _types(BEFORE))
