"""Wide tables: the paired measures and funding_standard_share's two (issue 26).

Ratios and weighted means over the same rows: the wide tables get the paired measures
(``<measure>__where_<fields>``) and the two measures of ``funding_standard_share``.

A paired measure takes, in the rows already there, the values of the measure it pairs:
what those releases were built and published with, so a published release keeps its
figures until its period is rolled up again. The funding measures are new (NULL there).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from grassroots.warehouse.migrate import refuse_downgrade

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# each paired measure and the measure it pairs
PAIRED = {
    "villages__where_org_class": "villages",
    "class3_villages__where_problem_type": "class3_villages",
    "converted_villages__where_rectification_target": "converted_villages",
    "rectification_targets__where_rectification": "rectification_targets",
    "rectification_targets__where_first_secretary": "rectification_targets",
    "rectification_targets__where_venue_built": "rectification_targets",
    "villages__where_zone_type_venue_area": "villages",
    "committee_college__where_committee_members": "committee_college",
    "committee_members__where_committee_college": "committee_members",
    "committee_female__where_committee_members": "committee_female",
    "committee_members__where_committee_female": "committee_members",
    "villages__where_income_operating": "villages",
}
NEW = ("funding_standard_share__num", "funding_standard_share__den")


def upgrade() -> None:
    for table in ("fact_area", "fact_village"):
        for name in (*NEW, *PAIRED):
            op.add_column(table, sa.Column(name, sa.Float(), nullable=True))
        columns = {name: sa.column(name) for name in (*PAIRED, *PAIRED.values())}
        op.execute(sa.table(table, *columns.values()).update().values(
            {columns[paired]: columns[base] for paired, base in PAIRED.items()}))


def downgrade() -> None:
    refuse_downgrade(revision)
