"""Alembic's environment: the revisions run on the connection that
:mod:`grassroots.warehouse.migrate` opens, in its transaction, and are compared with the
tables of :mod:`grassroots.warehouse.schema`."""

from alembic import context

from grassroots.warehouse.migrate import VERSION_TABLE
from grassroots.warehouse.schema import metadata

context.configure(
    connection=context.config.attributes["connection"],
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    compare_type=True,
    # SQLite changes a table's constraints only by making it again: autogenerate writes
    # such changes as op.batch_alter_table, which does that
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
