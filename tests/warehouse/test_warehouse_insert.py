"""warehouse.insert_rows stores what table.insert() stores, a new PostgreSQL warehouse's
staging tables leave room on their pages, and analyze_grown and analyze_changed refresh
only stale statistics."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from grassroots import warehouse as wh
from tests.builders import new_warehouse_url


def _issue(n: int) -> dict[str, object]:
    return {
        "submission_id": n, "period": "2021", "form_code": "village_annual", "unit_code": None,
        "sheet": None, "row_number": n, "field": "party_members", "value": "x" * n,
        "rule": "village_annual.party_members.placeholder", "stage": "intake", "severity": "error",
        "message_zh": "占位符", "message_en": "placeholder", "state": "open",
        # two values among the rows: each processed once, every row given its own
        "created_at": datetime(2021, 3, 4, 5, 6, 7, 89 * (n % 2), tzinfo=UTC),
    }


@pytest.mark.parametrize("acted", [False, True], ids=["one-timestamp", "two-timestamps"])
def test_insert_rows_stores_what_an_insert_stores(tmp_path: Path, acted: bool) -> None:
    # one column with a bind processor (created_at) or two (acted_at too): the two ways
    # insert_tuples processes values
    rows = [_issue(n) | ({"acted_at": datetime(2022, 1, n, tzinfo=UTC)} if acted else {})
            for n in range(1, 6)]
    stored = []
    for name, write in (("insert", lambda conn: conn.execute(wh.validation_issue.insert(), rows)),
                        ("rows", lambda conn: wh.insert_rows(conn, wh.validation_issue, rows))):
        engine = sa.create_engine(f"sqlite:///{tmp_path / name}.sqlite")
        wh.metadata.create_all(engine)
        with engine.begin() as conn:
            write(conn)
        with engine.connect() as conn:
            stored.append([tuple(r) for r in conn.exec_driver_sql(
                "select * from validation_issue order by issue_id")])
        engine.dispose()
    assert stored[0] == stored[1]
    assert len(stored[0]) == 5
    assert len({row[-1] for row in stored[0]}) == 2  # created_at, the last column
    assert len({row[-3] for row in stored[0]}) == (5 if acted else 1)  # acted_at


@pytest.mark.postgres
def test_only_tables_grown_past_their_statistics_are_analysed(postgres_url: str) -> None:
    engine = wh.connect(postgres_url)
    with engine.begin() as conn:
        wh.insert_rows(conn, wh.validation_issue, [_issue(n) for n in range(1, 1001)])
        # never analysed: analysed
        assert wh.analyze_grown(conn, wh.validation_issue, wh.unit) == [
            "validation_issue", "unit"]
    with engine.begin() as conn:
        # a few more rows than the statistics counted: left alone
        wh.insert_rows(conn, wh.validation_issue, [_issue(n) for n in range(1001, 1051)])
        assert wh.analyze_grown(conn, wh.validation_issue) == []
    with engine.begin() as conn:
        wh.insert_rows(conn, wh.validation_issue, [_issue(n) for n in range(1051, 1201)])
        assert wh.analyze_grown(conn, wh.validation_issue) == ["validation_issue"]
        counted = conn.execute(sa.text(
            "select reltuples from pg_class where oid = 'validation_issue'::regclass")).scalar()
    assert counted == 1200
    engine.dispose()


def _staging_fillfactors(engine: sa.Engine) -> dict[str, list[str] | None]:
    with engine.connect() as conn:
        return {table.name: conn.execute(sa.text(
            "select reloptions from pg_class where oid = cast(:name as regclass)"),
            {"name": table.name}).scalar() for table in wh.staging_tables.values()}


@pytest.mark.postgres
def test_staging_pages_keep_room_for_the_gates_update(
        new_postgres_url: Callable[[], str]) -> None:
    # a new warehouse: created so
    engine = wh.connect(new_postgres_url())
    expected = [f"fillfactor={wh.STAGING_FILLFACTOR}"]
    assert set(map(tuple, _staging_fillfactors(engine).values())) == {tuple(expected)}
    # the gate's update of a row's status stays on its page: a HOT update
    table = wh.staging_tables["county_annual"]
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"submission_id": 1, "row_number": n, "row_status": "pending",
                                       "unit_code": f"{n:012d}"} for n in range(1, 201)])
    with engine.begin() as conn:
        conn.execute(table.update().values(row_status="accepted"))
    with engine.connect() as conn:
        conn.execute(sa.text("select pg_stat_force_next_flush()"))
        conn.commit()
        updated, hot = conn.execute(sa.text(
            "select n_tup_upd, n_tup_hot_upd from pg_stat_user_tables where relname = :name"),
            {"name": table.name}).one()
    assert (updated, hot) == (200, 200)
    engine.dispose()


@pytest.mark.postgres
def test_a_statement_that_changed_most_rows_refreshes_the_statistics(
        new_postgres_url: Callable[[], str]) -> None:
    engine = wh.connect(new_postgres_url())
    table = wh.staging_tables["county_annual"]
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"submission_id": 1, "row_number": n, "row_status": "pending",
                                       "unit_code": f"{n:012d}"} for n in range(1, 1001)])
        wh.analyze(conn, table)

    def statuses() -> list[str]:
        with engine.connect() as conn:
            return conn.execute(sa.text(
                "select most_common_vals::text::text[] from pg_stats"
                " where tablename = :name and attname = 'row_status'"),
                {"name": table.name}).scalar()

    assert statuses() == ["pending"]
    # a few rows: the statistics stand
    with engine.begin() as conn:
        changed = conn.execute(table.update().where(table.c.row_number <= 50)
                               .values(row_status="error")).rowcount
        assert not wh.analyze_changed(conn, table, changed)
    assert statuses() == ["pending"]
    # the gate of a whole period: every row's status changed, the statistics follow
    with engine.begin() as conn:
        changed = conn.execute(table.update().values(row_status="accepted")).rowcount
    with engine.begin() as conn:
        assert wh.analyze_changed(conn, table, changed, columns=["row_status"])
    assert statuses() == ["accepted"]
    # and again, every column
    with engine.begin() as conn:
        changed = conn.execute(table.update().values(row_status="error")).rowcount
    with engine.begin() as conn:
        assert wh.analyze_changed(conn, table, changed)
    assert statuses() == ["error"]
    engine.dispose()


def test_sqlite_statistics_are_left_to_sqlite(tmp_path: Path) -> None:
    engine = wh.connect(f"sqlite:///{tmp_path / 'w.sqlite'}")
    with engine.begin() as conn:
        assert not wh.analyze_changed(conn, wh.staging_tables["county_annual"], 10**6)
    engine.dispose()


@pytest.mark.postgres
def test_a_binary_copy_stores_what_a_text_copy_stores(postgres_url: str) -> None:
    # intake's staged rows and registers' villages go in as binary COPY: every column type
    # of both tables, NULLs, the largest values and Chinese text come back as from text
    engine = wh.connect(postgres_url)
    staging = wh.staging_tables["village_annual"]
    names = [c.name for c in staging.columns]
    kinds = {c.name: c.type for c in staging.columns}

    def value(name: str, n: int) -> object:
        if n == 0 and name not in ("submission_id", "row_number", "row_status"):
            return None
        kind = kinds[name]
        if isinstance(kind, sa.Float):
            return [0.1, 1e300, -2.5e-7][n % 3]
        if isinstance(kind, sa.BigInteger):
            return [2**62, -1, 0][n % 3]
        if isinstance(kind, sa.Integer):
            return n  # submission_id, row_number, yes/no fields as 0/1 among them
        return f"值{n}'\"\\\t"  # within every varchar's length
    staged = [tuple(value(name, n) for name in names) for n in range(4)]
    u = wh.unit.c
    villages = [
        (f"1506210012{n:02d}", "村名" * (n + 1), 5, "village", "150621001000", "150000000000",
         "150600000000", "150621000000", "150621001000", "farming" if n else None, 2000 + n,
         None if n else 2030, "150621001199" if n else None, f"register__{n}.csv",
         datetime(2021, 3, 4, 5, 6, 7, n, tzinfo=UTC))
        for n in range(3)
    ]
    unit_names = [c.name for c in (u.unit_code, u.name, u.level, u.level_name, u.parent_code,
                                   u.region_code, u.city_code, u.county_code, u.township_code,
                                   u.zone_type, u.valid_from, u.valid_to, u.predecessors,
                                   u.source_file, u.loaded_at)]
    stored = {}
    for binary in (False, True):
        with engine.begin() as conn:
            wh.insert_tuples(conn, staging, names, staged, binary=binary)
            wh.insert_tuples(conn, wh.unit, unit_names, villages, binary=binary)
            stored[binary] = (
                conn.execute(sa.select(staging).order_by(staging.c.row_number)).all(),
                conn.execute(sa.select(*[wh.unit.c[n] for n in unit_names])
                             .where(u.level == 5).order_by(u.unit_code)).all())
            conn.execute(staging.delete())
            conn.execute(wh.unit.delete().where(u.level == 5))
    assert stored[True] == stored[False]
    assert len(stored[True][0]) == 4 and len(stored[True][1]) == 3
    assert stored[True][1][1].loaded_at == villages[1][-1]
    engine.dispose()


@pytest.mark.parametrize("warehouse", ["sqlite", "postgres"])
def test_a_table_filled_with_its_indexes_built_after_has_them_all(
        warehouse: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    # the official closure of a new warehouse: its key and its index made again after the
    # rows are in (PostgreSQL; SQLite's are left in place), the key still refuses a pair
    # given twice, and a failed load leaves them as they were
    engine = wh.connect(new_warehouse_url(warehouse, tmp_path, request))
    closure = wh.official_closure
    pair = {"ancestor_code": "150000000000", "descendant_code": "150600000000", "depth": 1,
            "ancestor_level": 1, "descendant_level": 2}

    def keys_and_indexes() -> tuple[list[str], list[tuple[str, ...]]]:
        inspector = sa.inspect(engine)
        return (inspector.get_pk_constraint(closure.name)["constrained_columns"],
                sorted((i["name"], *i["column_names"]) for i in inspector.get_indexes(closure.name)))

    with engine.begin() as conn:
        conn.execute(closure.delete())
    before = keys_and_indexes()
    assert before[0] and before[1]  # else this test shows nothing
    with engine.begin() as conn, wh.indexes_built_after(conn, closure):
        wh.insert_rows(conn, closure, [pair])
    assert keys_and_indexes() == before
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(closure)).scalar_one() == 1
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn, \
            wh.indexes_built_after(conn, closure):
        wh.insert_rows(conn, closure, [pair])  # the key, made again, finds the pair twice
    assert keys_and_indexes() == before  # the failed load's transaction rolled back
    engine.dispose()
    # and the declared key is left as declared: a warehouse made later has it too
    engine = wh.connect(new_warehouse_url(warehouse, tmp_path, request, name="later"))
    assert keys_and_indexes() == before
    engine.dispose()


def test_a_new_sqlite_warehouse_has_large_pages_and_an_old_one_keeps_its_own(
        tmp_path: Path) -> None:
    def page_size_and_journal(path: Path) -> tuple[int, str]:
        with wh.connect(f"sqlite:///{path}").connect() as conn:
            return (conn.exec_driver_sql("pragma page_size").scalar_one(),
                    conn.exec_driver_sql("pragma journal_mode").scalar_one())

    assert page_size_and_journal(tmp_path / "new.sqlite") == (wh.SQLITE_PAGE_BYTES, "wal")
    old = tmp_path / "old.sqlite"
    import sqlite3

    with sqlite3.connect(old) as made_before:  # SQLite's default pages, as warehouses had
        made_before.execute("create table t (x)")
    assert page_size_and_journal(old) == (4096, "wal")
    with wh.connect(f"sqlite:///{old}").connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(wh.submission)).scalar_one() == 0


@pytest.mark.postgres
def test_analyze_samples_a_staging_table_s_planned_columns_only(
        new_postgres_url: Callable[[], str]) -> None:
    engine = wh.connect(new_postgres_url())
    table = wh.staging_tables["county_annual"]
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"submission_id": 1, "row_number": n, "row_status": "accepted",
                                       "unit_code": f"{n:012d}", "unit_name": f"县{n}"}
                                      for n in range(1, 101)])
        wh.analyze(conn, table)
        sampled = set(conn.execute(sa.text("select attname from pg_stats where tablename = :name"),
                                   {"name": table.name}).scalars())
        wh.analyze(conn, table, columns=["unit_name"])  # asked for: taken
        named = conn.execute(sa.text("select count(*) from pg_stats where tablename = :name"
                                     " and attname = 'unit_name'"), {"name": table.name}).scalar()
    assert sampled == {"submission_id", "row_number", "unit_code", "row_status"}
    assert named == 1
    engine.dispose()


@pytest.mark.postgres
def test_unit_codes_are_compared_byte_by_byte_on_postgres_and_beside_older_columns(
        postgres_url: str) -> None:
    engine = wh.connect(postgres_url)
    with engine.begin() as conn:
        collations = dict(conn.execute(sa.text(
            "select c.table_name || '.' || c.column_name, c.collation_name "
            "from information_schema.columns c join information_schema.tables t "
            "on t.table_schema = c.table_schema and t.table_name = c.table_name "
            "where c.table_schema = 'public' and t.table_type = 'BASE TABLE' and c.column_name "
            "in ('unit_code', 'parent_code', 'county_code', 'part', 'ancestor_code', "
            "'descendant_code', 'predecessor_code')")).all())
        assert {"unit.unit_code", "fact_village.part", "area_closure.ancestor_code",
                "stg_village_annual.unit_code", "submission.unit_code"} <= set(collations)
        assert set(collations.values()) == {"C"}, collations
        # a column an earlier version made, in the database's default collation: compared,
        # joined, combined and sorted with the new ones without a collation conflict
        conn.execute(sa.text("create table older_codes (unit_code varchar(12))"))
        conn.execute(sa.text("insert into older_codes values ('150621000000'), ('150600000000')"))
        conn.execute(wh.unit.insert(), [
            {"unit_code": "150600000000", "name": "鄂尔多斯市", "level": 2, "level_name": "city",
             "parent_code": "150000000000"},
            {"unit_code": "150621000000", "name": "达拉特旗", "level": 3, "level_name": "county",
             "parent_code": "150600000000"}])
        joined = conn.execute(sa.text(
            "select o.unit_code from older_codes o join unit u on u.unit_code = o.unit_code "
            "where o.unit_code > u.parent_code order by o.unit_code desc")).scalars().all()
        combined = conn.execute(sa.text(
            "select unit_code from older_codes union select parent_code from unit "
            "order by 1")).scalars().all()
    assert joined == ["150621000000", "150600000000"]
    assert combined == ["150000000000", "150600000000", "150621000000"]
    engine.dispose()
