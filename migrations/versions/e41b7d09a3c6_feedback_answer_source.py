"""feedback answer source and failed checks

Revision ID: e41b7d09a3c6
Revises: c7e3f19a4b52
Create Date: 2026-12-01 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "e41b7d09a3c6"
down_revision: str | None = "c7e3f19a4b52"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("feedback_jobs", sa.Column("source", sa.String(16), nullable=True))
    op.add_column(
        "feedback_jobs",
        sa.Column("failed_checks", postgresql.ARRAY(sa.String(32)), nullable=True),
    )
    op.create_check_constraint(
        op.f("ck_feedback_jobs_source_valid"),
        "feedback_jobs",
        "source IS NULL OR source IN ('model', 'template')",
    )
    # Answers stored before the checks existed were all the model's.
    op.execute("UPDATE feedback_jobs SET source = 'model' WHERE status = 'succeeded'")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_feedback_jobs_source_valid"), "feedback_jobs", type_="check")
    op.drop_column("feedback_jobs", "failed_checks")
    op.drop_column("feedback_jobs", "source")
