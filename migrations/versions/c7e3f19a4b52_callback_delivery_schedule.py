"""callback delivery schedule

Revision ID: c7e3f19a4b52
Revises: 8a41f0c2d9e7
Create Date: 2026-11-22 08:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c7e3f19a4b52"
down_revision: str | None = "8a41f0c2d9e7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "feedback_jobs",
        sa.Column(
            "callback_next_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    )
    op.create_index(
        "ix_feedback_jobs_callback_pending",
        "feedback_jobs",
        ["callback_next_at"],
        postgresql_where=sa.text("callback_status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("ix_feedback_jobs_callback_pending", table_name="feedback_jobs")
    op.drop_column("feedback_jobs", "callback_next_at")
