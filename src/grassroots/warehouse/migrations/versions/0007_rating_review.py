"""stg_rating_review, the townships' self-ratings and the star-rating measures (四评两公示).

The form ``rating_review`` (ratings of villages and townships by the levels above them)
gets its staging table; ``township_annual`` its optional self-rating (``star_rating``,
``org_class``); the wide table ``fact_area`` the form's counts and the measures of
``rated_advanced``, ``rated_ordinary``, ``rated_backward`` and ``rating_changed_villages``,
NULL in the rows already there (no rating was rolled up into them).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from grassroots.warehouse.migrate import refuse_downgrade

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UNIT_CODE = sa.String(length=12).with_variant(sa.String(length=12, collation="C"), "postgresql")

MEASURES = ("rated_advanced", "rated_ordinary", "rated_backward", "rating_changed_villages")


def upgrade() -> None:
    op.create_table(
        "stg_rating_review",
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("sheet", sa.Text(), nullable=True),
        sa.Column("row_status", sa.String(length=10), nullable=False),
        sa.Column("unit_code", UNIT_CODE, nullable=True),
        sa.Column("unit_name", sa.Text(), nullable=True),
        sa.Column("stage", sa.String(length=40), nullable=True),
        sa.Column("star_rating", sa.BigInteger(), nullable=True),
        sa.Column("org_class", sa.String(length=40), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("submission_id", "row_number"),
        postgresql_with={"fillfactor": 50},
    )
    op.create_index("ix_stg_rating_review_unit", "stg_rating_review", ["unit_code"], unique=False)
    op.add_column("stg_township_annual", sa.Column("star_rating", sa.BigInteger(), nullable=True))
    op.add_column("stg_township_annual", sa.Column("org_class", sa.String(length=40), nullable=True))
    op.add_column("fact_area", sa.Column("rating_review__reporting", sa.Integer(), nullable=True))
    op.add_column("fact_area", sa.Column("rating_review__expected", sa.Integer(), nullable=True))
    for name in MEASURES:
        op.add_column("fact_area", sa.Column(name, sa.Float(), nullable=True))


def downgrade() -> None:
    refuse_downgrade(revision)
