"""The register's optional column ``key_contact`` (CONTRACT.md §6): a village's mark as a
key-contact village of the city (``city``, B类) or of the county (``county``, C类), in
``unit`` (published through ``dim_unit``, which the views are made again with) and in
each period's tree (``period_village``), NULL in the rows already there: registers
loaded before it marked no village.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from grassroots.warehouse.migrate import refuse_downgrade

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("unit", sa.Column("key_contact", sa.String(length=10), nullable=True))
    op.add_column("period_village", sa.Column("key_contact", sa.String(length=10), nullable=True))


def downgrade() -> None:
    refuse_downgrade(revision)
