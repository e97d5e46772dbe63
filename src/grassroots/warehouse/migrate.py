"""The warehouse's schema revisions (Alembic, ``migrations/versions/``): where a warehouse
stands, bringing it to the head in place, and making a new one there.

Tables and indexes change only through revisions. The views (``dim_unit``,
``unit_register``, ``unit_closure``, ``fact_indicator``, the level views) and the rows of
``dim_indicator`` are derived from this version's code and catalog: an upgrade drops the
views before the revisions run and makes them again once the warehouse is at the head.

Every function here takes a connection in a transaction the caller opened (see
``engines.upgrade``): on PostgreSQL an upgrade is one transaction, stopped part way it
leaves the warehouse as it was; on SQLite too, the caller beginning it ``IMMEDIATE``.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import Script, ScriptDirectory

from grassroots.catalog import LEVELS, load_catalog
from grassroots.warehouse import views
from grassroots.warehouse.schema import dim_indicator, metadata
from grassroots.warehouse.sql import render_sql

# Alembic's default name with this project's suffix, as Airflow's providers name theirs:
# a warehouse sharing a database with another Alembic-managed schema keeps its own.
VERSION_TABLE = "alembic_version_grassroots"
SCRIPT_LOCATION = "grassroots.warehouse:migrations"
BASELINE = "0001"  # the release at commit 4f667cd

# The tables the baseline makes: a warehouse holding them and no revision table was made
# by the release at 4f667cd, or by a version after it, before revisions were recorded.
BASELINE_TABLES = frozenset({
    "area_closure", "dim_indicator", "fact_area", "fact_village", "landing_file",
    "official_closure", "period_tree", "period_village", "release", "release_part",
    "stg_county_annual", "stg_township_annual", "stg_village_annual", "submission", "unit",
    "unit_predecessor", "validation_issue", "validation_issue_event"})

# The views, dropped in this order (a view before those it reads).
DERIVED_VIEWS = (*(f"v_{name}" for name in LEVELS.values()), "fact_indicator",
                 "fact_indicator_previous", "unit_closure", "unit_register", "dim_unit")

UPGRADE_COMMAND = "grassroots db upgrade"


class WarehouseRevisionError(RuntimeError):
    """The warehouse's schema is not the revision this version works with: behind (run
    ``grassroots db upgrade``), ahead (a newer version made it), or not recognised."""


def refuse_downgrade(revision: str) -> None:
    """A revision's ``downgrade``: there is none; a backup taken before upgrading is."""
    raise WarehouseRevisionError(
        f"修订 {revision} 不能回退，请恢复升级前的备份 / revision {revision} has no downgrade: "
        "restore the backup taken before the upgrade (README, \"Upgrading\")")


def config(conn: sa.Connection | None = None) -> Config:
    """Alembic's configuration for the warehouse behind ``conn`` (``migrations/env.py``
    runs the revisions on it, in its transaction)."""
    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    cfg.attributes["connection"] = conn
    return cfg


@functools.cache
def scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(config())


def head() -> str:
    """The revision this version's tables are at."""
    return scripts().get_current_head()


def history() -> list[Script]:
    """Every revision, the baseline first."""
    return list(reversed(list(scripts().walk_revisions())))


def title(revision: str) -> str:
    """A revision's first line: what it changes."""
    return (scripts().get_revision(revision).module.__doc__ or "").strip().splitlines()[0]


def current(conn: sa.Connection) -> str | None:
    """The revision the warehouse records (None: no revision table)."""
    return MigrationContext.configure(
        conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


@dataclass(frozen=True)
class Standing:
    """Where a warehouse stands: its recorded revision, or for one without a revision table
    the revision its tables match (``recorded`` false), or None for an empty database."""

    revision: str | None
    recorded: bool

    @property
    def at_head(self) -> bool:
        return self.recorded and self.revision == head()


def standing(conn: sa.Connection) -> Standing:
    recorded = current(conn)
    if recorded is not None:
        if recorded not in {s.revision for s in history()}:
            raise WarehouseRevisionError(
                f"{_where(conn)} 的结构修订 {recorded} 由更新的版本生成，请使用该版本 / "
                f"{_where(conn)} is at schema revision {recorded}, which this version does "
                f"not know (its head is {head()}): it was made by a newer version; use that")
        return Standing(recorded, True)
    return Standing(_unrecorded_revision(conn), False)


def ensure_at_head(conn: sa.Connection) -> None:
    """Make a new warehouse at the head; refuse one at another revision, naming what to
    run. What the stages call as they open a warehouse (``engines.connect``)."""
    where = standing(conn)
    if where.at_head:
        return
    if where.revision is None:
        upgrade(conn)
        return
    raise WarehouseRevisionError(
        f"{_where(conn)} 的结构为修订 {where.revision}{'' if where.recorded else '（未记录）'}，"
        f"本版本需要 {head()}：请先备份，再运行 {UPGRADE_COMMAND} / {_where(conn)} is at "
        f"schema revision {where.revision}{'' if where.recorded else ' (not recorded)'}, "
        f"this version needs {head()}: back it up, then run `{UPGRADE_COMMAND}` "
        "(README, \"Upgrading\")")


def upgrade(conn: sa.Connection, to: str = "head") -> list[str]:
    """Bring the warehouse to revision ``to`` in place, keeping every row; the revisions
    run, in order. A warehouse without a revision table gets the one its tables match
    recorded first (an empty database: none, every revision runs)."""
    where = standing(conn)
    target = head() if to == "head" else to
    order = [s.revision for s in history()]
    if target not in order:
        raise WarehouseRevisionError(
            f"没有修订 {target} / no revision {target}: the revisions are {', '.join(order)}")
    if where.revision is not None and order.index(target) < order.index(where.revision):
        raise WarehouseRevisionError(
            f"仓库已在修订 {where.revision}，不能回到 {target} / the warehouse is at revision "
            f"{where.revision}, past {target}: there are no downgrades (restore a backup)")
    if where.recorded and where.revision == target:
        return []
    applied = [s.revision for s in _between(where.revision, target)]
    _drop_views(conn)
    cfg = config(conn)
    if where.revision is not None and not where.recorded:
        command.stamp(cfg, where.revision)
    command.upgrade(cfg, target)
    if target == head():
        _make_views(conn)
    return applied


def differences(conn: sa.Connection) -> list[tuple]:
    """How the warehouse's tables differ from this version's (``schema.metadata``), as
    Alembic's autogenerate sees them: empty when the revisions and the code agree."""
    context = MigrationContext.configure(
        conn, opts={"version_table": VERSION_TABLE, "compare_type": True})
    return compare_metadata(context, metadata)


def write_revision(message: str) -> Path:
    """Write the next revision (for developers): the difference between this version's
    tables and a scratch SQLite warehouse that the revisions so far bring to their head,
    as Alembic's autogenerate sees it. To be read and completed before it is committed."""
    with tempfile.TemporaryDirectory() as scratch:
        engine = sa.create_engine(f"sqlite:///{Path(scratch) / 'scratch.sqlite'}")
        with engine.begin() as conn:
            conn.exec_driver_sql("begin immediate")
            cfg = config(conn)
            command.upgrade(cfg, "head")
            cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
            script = command.revision(cfg, message=message, autogenerate=True,
                                      rev_id=f"{int(head()) + 1:04d}")
        engine.dispose()
    assert isinstance(script, Script), script
    return Path(script.path)


def _between(base: str | None, target: str) -> list[Script]:
    """The revisions after ``base`` up to ``target``, in the order they run."""
    return list(reversed(list(scripts().iterate_revisions(target, base))))


def _where(conn: sa.Connection) -> str:
    return conn.engine.url.render_as_string(hide_password=True)


def _columns(inspector: sa.Inspector, table: str) -> set[str]:
    return {c["name"] for c in inspector.get_columns(table)}


# For a warehouse with no revision table, the changes after the baseline its tables
# show, in order: made by a version between 4f667cd and the first one recording revisions.
UNRECORDED_CHANGES: tuple[tuple[str, Callable[[sa.Inspector, set[str]], bool]], ...] = (
    ("0002", lambda inspector, tables: "period_run_lock" in tables),
    ("0003", lambda inspector, tables: "villages__where_org_class"
     in _columns(inspector, "fact_area")),
    ("0004", lambda inspector, tables: "duplicate_of" in _columns(inspector, "submission")),
)


def _unrecorded_revision(conn: sa.Connection) -> str | None:
    inspector = sa.inspect(conn)
    tables = set(inspector.get_table_names())
    if not tables & BASELINE_TABLES:
        return None
    missing = BASELINE_TABLES - tables
    if missing or "built_by" not in _columns(inspector, "fact_area") or "name" not in _columns(
            inspector, "period_village"):
        raise WarehouseRevisionError(
            f"{_where(conn)} 由 4f667cd 之前的版本生成，无法就地升级；请用该版本导出，或发布到新仓库 / "
            f"{_where(conn)} was made by a version older than the baseline (commit 4f667cd): "
            f"its tables are not the baseline's ({', '.join(sorted(missing)) or 'older layouts'}"
            "). It cannot be upgraded in place: keep it for that version, and publish into a "
            "new warehouse")
    revision = BASELINE
    for change, shown in UNRECORDED_CHANGES:
        if not shown(inspector, tables):
            break
        revision = change
    return revision


def _drop_views(conn: sa.Connection) -> None:
    present = set(sa.inspect(conn).get_view_names())
    for view in DERIVED_VIEWS:
        if view in present:
            conn.execute(sa.text(render_sql("publish/drop_view.sql", view=view)))


def _make_views(conn: sa.Connection) -> None:
    """The views and ``dim_indicator`` as this version's code and catalog make them."""
    catalog = load_catalog()
    views.create_unit_views(conn)
    views.create_tree_view(conn)
    conn.execute(dim_indicator.delete())
    conn.execute(dim_indicator.insert(), views.indicator_rows(catalog))
    views.create_views(conn, catalog)
