"""stg_responsibility_list, the townships', counties' and cities' responsibility lists
(责任清单, CONTRACT.md §6).

The form ``responsibility_list`` gets its staging table (``unit_code`` is the
submitter's, staged in every row) and its columns in ``fact_area``: the rows received
and due, the units, and the measures of ``tasks_listed``, ``tasks_done`` and
``task_completion_rate`` (NULL in the rows already there: none was rolled up into them).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from grassroots.warehouse.migrate import refuse_downgrade

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

UNIT_CODE = sa.String(length=12).with_variant(sa.String(length=12, collation="C"), "postgresql")

COUNTS = ("responsibility_list__reporting", "responsibility_list__expected",
          "responsibility_list__units")
MEASURES = ("tasks_listed", "tasks_done", "task_completion_rate__den")


def upgrade() -> None:
    op.create_table(
        "stg_responsibility_list",
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("sheet", sa.Text(), nullable=True),
        sa.Column("row_status", sa.String(length=10), nullable=False),
        sa.Column("unit_code", UNIT_CODE, nullable=True),
        sa.Column("task_code", sa.Text(), nullable=True),
        sa.Column("task", sa.Text(), nullable=True),
        sa.Column("responsible", sa.Text(), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=40), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("submission_id", "row_number"),
        postgresql_with={"fillfactor": 50},
    )
    op.create_index("ix_stg_responsibility_list_unit", "stg_responsibility_list", ["unit_code"],
                    unique=False)
    for name in COUNTS:
        op.add_column("fact_area", sa.Column(name, sa.Integer(), nullable=True))
    for name in MEASURES:
        op.add_column("fact_area", sa.Column(name, sa.Float(), nullable=True))


def downgrade() -> None:
    refuse_downgrade(revision)
