"""people index tracking

Revision ID: 5d2e8a61c0f3
Revises: 1c475fcdb6d9
Create Date: 2026-11-22 05:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5d2e8a61c0f3"
down_revision: str | None = "1c475fcdb6d9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("indexed_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "indexed_hash")
