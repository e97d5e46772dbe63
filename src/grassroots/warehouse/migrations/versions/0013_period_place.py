"""Each period's places (``period_place``): for every unit of levels 1-4 in the period's
tree, its level, parent and the codes and names of its ancestors, which the wide views and
``fact_indicator`` (made again at the head) join so that BI filters them by any ancestor
(issue 31). Written here for every period whose tree is built already. And
``fact_area``'s index by level, for BI's filters on it.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from grassroots.warehouse.migrate import refuse_downgrade
from grassroots.warehouse.views import insert_period_places

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

UNIT_CODE = sa.String(length=12).with_variant(sa.String(length=12, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "period_place",
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("unit_code", UNIT_CODE, nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("parent_code", UNIT_CODE, nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        *(column
          for level in ("region", "city", "county", "township")
          for column in (sa.Column(f"{level}_code", UNIT_CODE, nullable=True),
                         sa.Column(f"{level}_name", sa.Text(), nullable=True))),
        sa.PrimaryKeyConstraint("period", "unit_code"),
    )
    for level in ("region", "city", "county"):
        op.create_index(f"ix_period_place_{level}", "period_place",
                        [f"{level}_code", "period", "level"], unique=False)
    op.create_index("ix_period_place_township", "period_place", ["township_code", "period"],
                    unique=False)
    op.create_index("ix_period_place_level", "period_place", ["level", "period"], unique=False)
    op.create_index("ix_fact_area_level", "fact_area", ["level", "period"], unique=False)
    conn = op.get_bind()
    periods = conn.execute(sa.text("select distinct period from area_closure")).scalars().all()
    for period in sorted(periods):
        insert_period_places(conn, period)


def downgrade() -> None:
    refuse_downgrade(revision)
