"""DaoDao's resources: its eight resource types, the expert level, cost, subcategory and image

Revision ID: 3b8e5c0d1f27
Revises: 9d4f6b2a7c1e
Create Date: 2026-12-05 03:00:00.000000

New columns only, all optional: existing items keep every value.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3b8e5c0d1f27"
down_revision: str | None = "9d4f6b2a7c1e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RESOURCE_TYPES = (
    "learning_platform_app",
    "learning_tools",
    "books_articles",
    "video_content",
    "podcast_content",
    "workshops_courses",
    "professional_certificates",
    "community_organization",
)


def _one_of(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.add_column("items", sa.Column("subcategory", sa.String(100), nullable=True))
    op.add_column("items", sa.Column("image_url", sa.String(2048), nullable=True))
    op.add_column("items", sa.Column("resource_type", sa.String(32), nullable=True))
    op.add_column("items", sa.Column("cost", sa.String(16), nullable=True))
    op.create_check_constraint(
        op.f("ck_items_resource_type_valid"),
        "items",
        f"resource_type IS NULL OR {_one_of('resource_type', RESOURCE_TYPES)}",
    )
    op.create_check_constraint(
        op.f("ck_items_cost_valid"),
        "items",
        "cost IS NULL OR cost IN ('free', 'partial_free', 'paid')",
    )
    op.drop_constraint(op.f("ck_items_level_valid"), "items", type_="check")
    op.create_check_constraint(
        op.f("ck_items_level_valid"),
        "items",
        "level IN ('beginner', 'intermediate', 'advanced', 'expert', 'all')",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_items_level_valid"), "items", type_="check")
    op.execute("UPDATE items SET level = 'advanced' WHERE level = 'expert'")
    op.create_check_constraint(
        op.f("ck_items_level_valid"),
        "items",
        "level IN ('beginner', 'intermediate', 'advanced', 'all')",
    )
    op.drop_constraint(op.f("ck_items_cost_valid"), "items", type_="check")
    op.drop_constraint(op.f("ck_items_resource_type_valid"), "items", type_="check")
    for column in ("cost", "resource_type", "image_url", "subcategory"):
        op.drop_column("items", column)
