"""DaoDao's practice privacy (private, public, delayed; private by default) and status rules,
practice templates, check-in images, and what a practice's item needs for browsing

Revision ID: 9d4f6b2a7c1e
Revises: e41b7d09a3c6
Create Date: 2026-12-05 02:00:00.000000

Existing rows keep their meaning: a public practice stays public, a private one private. A
practice that was `hidden` becomes private (nobody else saw it, nobody does), and its item keeps
`hidden`, so the moderation is not lost. Practice items take the practice's status and length,
leave the index when the practice is a draft, not started or archived, and carry the owner's
notes while others may read them. Every practice item is marked pending, so the next index sync
writes its point again (the payload only: its text did not change).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "9d4f6b2a7c1e"
down_revision: str | None = "e41b7d09a3c6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTES_CHARS = 3000


def upgrade() -> None:
    op.drop_constraint(op.f("ck_practices_privacy_valid"), "practices", type_="check")
    op.execute(
        "UPDATE items SET visibility = 'hidden' FROM practices p"
        " WHERE items.practice_id = p.id AND p.privacy = 'hidden'"
    )
    op.execute("UPDATE practices SET privacy = 'private' WHERE privacy = 'hidden'")
    op.create_check_constraint(
        op.f("ck_practices_privacy_valid"),
        "practices",
        "privacy IN ('private', 'public', 'delayed')",
    )
    op.alter_column("practices", "privacy", server_default="private")
    op.add_column("practices", sa.Column("template_id", sa.String(64), nullable=True))
    op.create_index(op.f("ix_practices_template_id"), "practices", ["template_id"])

    op.add_column("items", sa.Column("status", sa.String(16), nullable=True))
    op.add_column("items", sa.Column("duration_days", sa.Integer(), nullable=True))
    op.add_column("items", sa.Column("notes", sa.Text(), server_default="", nullable=False))
    op.add_column(
        "checkins",
        sa.Column(
            "image_urls", postgresql.ARRAY(sa.String(2048)), server_default="{}", nullable=False
        ),
    )
    op.create_check_constraint(
        op.f("ck_checkins_image_urls_at_most_3"), "checkins", "cardinality(image_urls) <= 3"
    )
    op.execute(
        f"""
        UPDATE items SET
            status = p.status,
            duration_days = p.duration_days,
            visibility = CASE
                WHEN items.visibility = 'hidden' THEN 'hidden'
                WHEN p.privacy IN ('public', 'delayed') AND p.status IN ('active', 'completed')
                    THEN 'public'
                ELSE 'private' END,
            notes = CASE
                WHEN (p.privacy = 'public' AND p.status IN ('active', 'completed'))
                    OR (p.privacy = 'delayed' AND p.status = 'completed')
                THEN left(coalesce((
                    SELECT string_agg(btrim(c.note), E'\\n'
                                      ORDER BY c.checkin_date DESC, c.created_at DESC)
                    FROM checkins c
                    WHERE c.practice_id = p.id AND c.user_id = p.owner_id
                      AND length(btrim(coalesce(c.note, ''))) > 0
                ), ''), {NOTES_CHARS})
                ELSE '' END,
            fingerprint = ''
        FROM practices p
        WHERE items.practice_id = p.id
        """
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_checkins_image_urls_at_most_3"), "checkins", type_="check")
    op.drop_column("checkins", "image_urls")
    op.drop_column("items", "notes")
    op.drop_column("items", "duration_days")
    op.drop_column("items", "status")
    op.drop_index(op.f("ix_practices_template_id"), table_name="practices")
    op.drop_column("practices", "template_id")
    op.drop_constraint(op.f("ck_practices_privacy_valid"), "practices", type_="check")
    # A delayed practice was not yet a thing: it is kept from others, as a private one is.
    op.execute("UPDATE practices SET privacy = 'private' WHERE privacy = 'delayed'")
    op.create_check_constraint(
        op.f("ck_practices_privacy_valid"),
        "practices",
        "privacy IN ('public', 'private', 'hidden')",
    )
    op.alter_column("practices", "privacy", server_default="public")
