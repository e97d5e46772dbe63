"""steward_scope: which units each steward acts on (issue 29).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from grassroots.warehouse.migrate import refuse_downgrade

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UNIT_CODE = sa.String(length=12).with_variant(sa.String(length=12, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "steward_scope",
        sa.Column("scope_id", sa.Integer(), nullable=False),
        sa.Column("user_name", sa.Text(), nullable=False),
        sa.Column("unit_code", UNIT_CODE, nullable=False),
        sa.Column("granted_by", sa.Text(), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("revoked_by", sa.Text(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("scope_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_steward_scope_user", "steward_scope", ["user_name", "unit_code"],
                    unique=False)


def downgrade() -> None:
    refuse_downgrade(revision)
