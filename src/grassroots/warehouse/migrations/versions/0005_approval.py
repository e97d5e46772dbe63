"""approval, approval_reach: sign-off by level, every action kept (issue 29).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from grassroots.warehouse.migrate import refuse_downgrade

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UNIT_CODE = sa.String(length=12).with_variant(sa.String(length=12, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "approval",
        sa.Column("approval_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("unit_code", UNIT_CODE, nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("by", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("release_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("approval_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_approval_unit", "approval", ["period", "unit_code", "approval_id"],
                    unique=False)
    op.create_table(
        "approval_reach",
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("unit_code", UNIT_CODE, nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("period", "unit_code"),
    )


def downgrade() -> None:
    refuse_downgrade(revision)
