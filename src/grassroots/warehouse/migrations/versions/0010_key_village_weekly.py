"""stg_key_village_weekly, the weekly reports of key-contact villages (CONTRACT.md §6),
and when a file landed.

The form ``key_village_weekly`` gets its staging table and its columns in the wide
tables ``fact_area`` and ``fact_village``: the reports received and due, the key-contact
villages (``__units``) and the late reports (NULL in the rows already there: none was
rolled up into them); ``submission`` the file's modification time in the landing folder
(``landed_at``, when a weekly report is received) and whether that was after its week's
deadline (``landed_late``), NULL for the files recorded before: their landing times were
not kept.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from grassroots.warehouse.migrate import refuse_downgrade

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

UNIT_CODE = sa.String(length=12).with_variant(sa.String(length=12, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "stg_key_village_weekly",
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("sheet", sa.Text(), nullable=True),
        sa.Column("row_status", sa.String(length=10), nullable=False),
        sa.Column("unit_code", UNIT_CODE, nullable=True),
        sa.Column("unit_name", sa.Text(), nullable=True),
        sa.Column("visits", sa.BigInteger(), nullable=True),
        sa.Column("problems_solved", sa.BigInteger(), nullable=True),
        sa.Column("problems_open", sa.BigInteger(), nullable=True),
        sa.Column("progress", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("submission_id", "row_number"),
        postgresql_with={"fillfactor": 50},
    )
    op.create_index("ix_stg_key_village_weekly_unit", "stg_key_village_weekly", ["unit_code"],
                    unique=False)
    op.add_column("submission", sa.Column("landed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("submission", sa.Column("landed_late", sa.Integer(), nullable=True))
    for table in ("fact_area", "fact_village"):
        op.add_column(table, sa.Column("key_village_weekly__reporting", sa.Integer(), nullable=True))
        op.add_column(table, sa.Column("key_village_weekly__expected", sa.Integer(), nullable=True))
        op.add_column(table, sa.Column("key_village_weekly__units", sa.Integer(), nullable=True))
        op.add_column(table, sa.Column("weekly_reports_late", sa.Float(), nullable=True))


def downgrade() -> None:
    refuse_downgrade(revision)
