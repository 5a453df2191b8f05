"""Richer profiles: several professional fields, position, education stage and location

Revision ID: a7f2c4e8b915
Revises: 6c1d9e3f0a84
Create Date: 2026-12-05 05:00:00.000000

A profile's single field stays where it is and still counts. What a profile's vectors stand
for now includes the fields and the position, so the people index is rebuilt at start-up (its
layout names the profile text).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "a7f2c4e8b915"
down_revision: str | None = "6c1d9e3f0a84"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column(
            "professional_fields",
            postgresql.ARRAY(sa.String(200)),
            server_default="{}",
            nullable=False,
        ),
    )
    op.add_column("users", sa.Column("position", sa.String(200), nullable=True))
    op.add_column("users", sa.Column("education_stage", sa.String(50), nullable=True))
    op.add_column("users", sa.Column("location", sa.String(100), nullable=True))


def downgrade() -> None:
    for column in ("location", "education_stage", "position", "professional_fields"):
        op.drop_column("users", column)
