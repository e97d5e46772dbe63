"""The rectification ledger's units beside its rows due (``rectification_ledger__units``).

A form sent for shorter periods than a year counts, beside the rows due below a unit,
the units they are due from (``<form>__units``, revision 0010); the ledger (revision
0008) came before that column and gets it in ``fact_area`` and ``fact_village``, NULL in
the rows already there (their releases never read it).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from grassroots.warehouse.migrate import refuse_downgrade

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("fact_area", "fact_village"):
        op.add_column(table, sa.Column("rectification_ledger__units", sa.Integer(), nullable=True))


def downgrade() -> None:
    refuse_downgrade(revision)
