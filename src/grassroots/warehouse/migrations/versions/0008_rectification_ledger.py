"""stg_rectification_ledger, the quarterly rectification ledger (整顿台账, 一村一策).

The form ``rectification_ledger`` (CONTRACT.md §6) gets its staging table, whose dates
are the first ``date`` columns of the warehouse; the wide tables ``fact_area`` and
``fact_village`` its counts of rows expected and reporting and the measures of its
indicators (``ledger_*``), NULL in the rows already there (no ledger was rolled up into
them).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from grassroots.warehouse.migrate import refuse_downgrade

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UNIT_CODE = sa.String(length=12).with_variant(sa.String(length=12, collation="C"), "postgresql")

TEXTS = ("problem", "measures", "responsible", "county_leader", "first_secretary")
DATES = ("proposed_on", "advised_on", "approved_on", "deadline")
MEASURES = ("ledger_targets", "ledger_overdue", "ledger_due", "ledger_converted_on_time",
            "ledger_closed", "ledger_days_to_conversion__num", "ledger_days_to_conversion__den")


def upgrade() -> None:
    op.create_table(
        "stg_rectification_ledger",
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("sheet", sa.Text(), nullable=True),
        sa.Column("row_status", sa.String(length=10), nullable=False),
        sa.Column("unit_code", UNIT_CODE, nullable=True),
        sa.Column("unit_name", sa.Text(), nullable=True),
        sa.Column("problem_type", sa.String(length=40), nullable=True),
        *(sa.Column(name, sa.Text(), nullable=True) for name in TEXTS),
        *(sa.Column(name, sa.Date(), nullable=True) for name in DATES),
        sa.Column("state", sa.String(length=40), nullable=True),
        sa.Column("state_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("submission_id", "row_number"),
        postgresql_with={"fillfactor": 50},
    )
    op.create_index("ix_stg_rectification_ledger_unit", "stg_rectification_ledger",
                    ["unit_code"], unique=False)
    for table in ("fact_area", "fact_village"):
        op.add_column(table, sa.Column("rectification_ledger__reporting", sa.Integer(),
                                       nullable=True))
        op.add_column(table, sa.Column("rectification_ledger__expected", sa.Integer(),
                                       nullable=True))
        for name in MEASURES:
            op.add_column(table, sa.Column(name, sa.Float(), nullable=True))


def downgrade() -> None:
    refuse_downgrade(revision)
