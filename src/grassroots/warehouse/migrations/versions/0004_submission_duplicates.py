"""submission: file_sha256 no longer unique, duplicate_of (issue 26).

A submission is its bytes and the form, unit and period it is for: the same
bytes may be several submissions, so ``file_sha256`` is no longer unique (an index
instead), and a true copy points at its original by ``duplicate_of``.

PostgreSQL drops the constraint. SQLite cannot: the table is made again as declared here,
its rows copied with their ids and its ``AUTOINCREMENT`` counter kept (ids are cited in
history and never reused).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from grassroots.warehouse.migrate import refuse_downgrade

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UNIT_CODE = sa.String(length=12).with_variant(sa.String(length=12, collation="C"), "postgresql")


def _submission(name: str) -> sa.Table:
    """The table as this revision leaves it."""
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("submission_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("form_code", sa.String(length=40)),
        sa.Column("unit_code", UNIT_CODE),
        sa.Column("period", sa.String(length=8)),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("file_size", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("row_count", sa.Integer()),
        sa.Column("rows_accepted", sa.Integer()),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("archive_path", sa.Text(), nullable=False),
        sa.Column("superseded_by", sa.Integer()),
        sa.Column("duplicate_of", sa.Integer()),
        sqlite_autoincrement=True,
    )


INDEXES = {
    "ix_submission_period": ["period", "form_code", "status"],
    "ix_submission_unit": ["unit_code", "form_code", "period", "status"],
}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _make_again_on_sqlite(bind)
    else:
        for unique in sa.inspect(bind).get_unique_constraints("submission"):
            if unique["column_names"] == ["file_sha256"]:
                op.drop_constraint(unique["name"], "submission", type_="unique")
        op.add_column("submission", sa.Column("duplicate_of", sa.Integer(), nullable=True))
    op.create_index("ix_submission_sha256", "submission", ["file_sha256"], unique=False)


def _make_again_on_sqlite(bind: sa.Connection) -> None:
    old = [c["name"] for c in sa.inspect(bind).get_columns("submission")]
    _submission("submission_relaid").create(bind)
    listed = ", ".join(f'"{name}"' for name in old)
    op.execute(f"insert into submission_relaid ({listed}) select {listed} from submission")
    # the old table's counter (at least its largest id) in place of the copy's
    op.execute("delete from sqlite_sequence where name = 'submission_relaid'")
    op.execute("insert into sqlite_sequence (name, seq) select 'submission_relaid', seq "
               "from sqlite_sequence where name = 'submission'")
    op.drop_table("submission")  # its indexes with it
    op.rename_table("submission_relaid", "submission")
    for name, columns in INDEXES.items():
        op.create_index(name, "submission", columns, unique=False)


def downgrade() -> None:
    refuse_downgrade(revision)
