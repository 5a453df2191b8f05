"""feedback job leases, retries and callbacks

Revision ID: 8a41f0c2d9e7
Revises: 5d2e8a61c0f3
Create Date: 2026-11-22 06:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8a41f0c2d9e7"
down_revision: str | None = "5d2e8a61c0f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("feedback_jobs", sa.Column("user_id", sa.String(length=64), nullable=True))
    op.add_column(
        "feedback_jobs", sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "feedback_jobs",
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    )
    op.add_column(
        "feedback_jobs",
        sa.Column(
            "sent_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
    )
    op.add_column("feedback_jobs", sa.Column("raw_output", sa.Text(), nullable=True))
    op.add_column(
        "feedback_jobs", sa.Column("callback_status", sa.String(length=16), nullable=True)
    )
    op.add_column(
        "feedback_jobs",
        sa.Column("callback_attempts", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column("feedback_jobs", sa.Column("callback_error", sa.Text(), nullable=True))
    op.create_index(op.f("ix_feedback_jobs_user_id"), "feedback_jobs", ["user_id"], unique=False)
    op.create_foreign_key(
        op.f("fk_feedback_jobs_user_id_users"),
        "feedback_jobs",
        "users",
        ["user_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_check_constraint(
        op.f("ck_feedback_jobs_callback_status_valid"),
        "feedback_jobs",
        "callback_status IS NULL OR callback_status IN ('pending', 'delivered', 'failed')",
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("ck_feedback_jobs_callback_status_valid"), "feedback_jobs", type_="check"
    )
    op.drop_constraint(op.f("fk_feedback_jobs_user_id_users"), "feedback_jobs", type_="foreignkey")
    op.drop_index(op.f("ix_feedback_jobs_user_id"), table_name="feedback_jobs")
    for column in (
        "callback_error",
        "callback_attempts",
        "callback_status",
        "raw_output",
        "sent_at",
        "next_attempt_at",
        "lease_expires_at",
        "user_id",
    ):
        op.drop_column("feedback_jobs", column)
