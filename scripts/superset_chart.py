"""Register the warehouse in Superset and run a chart query grouped by city, as Superset runs it.

Run by scripts/try_superset.sh with Superset's own venv and config (SUPERSET_CONFIG_PATH), never
with the project's: it imports Superset, and nothing from grassroots. It creates (or updates)
the Superset database "grassroots" pointing at WAREHOUSE_URL, registers the wide views and
fact_indicator as datasets (columns read from the warehouse), then sends a chart's query through
Superset's chart-data command (the code behind POST /api/v1/chart/data): SUM(party_members)
and COUNT(*) of v_village's rows of one period and region, grouped by city. It prints the SQL
Superset generated and the rows, and checks them against v_city's published figures.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

DATABASE_NAME = "grassroots"
DATASETS = ("v_region", "v_city", "v_county", "v_township", "v_village", "fact_indicator")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse_url", help="SQLAlchemy URL of the warehouse")
    parser.add_argument("--period", default="2014", help="period to chart (default 2014)")
    parser.add_argument(
        "--region", default="150000000000", help="region_code to filter on (default 内蒙古自治区)"
    )
    parser.add_argument("--user", default="admin", help="Superset user the query runs as")
    return parser.parse_args(argv)


def chart_data(datasource_id: int, query: dict[str, Any]) -> dict[str, Any]:
    """One query of a chart through ChartDataCommand, with the API's access check."""
    from superset.charts.schemas import ChartDataQueryContextSchema
    from superset.commands.chart.data.get_data_command import ChartDataCommand

    query_context = ChartDataQueryContextSchema().load(
        {
            "datasource": {"id": datasource_id, "type": "table"},
            "queries": [query],
            "result_type": "full",
            "result_format": "json",
            "force": True,
        }
    )
    command = ChartDataCommand(query_context)
    command.validate()
    result = command.run()["queries"][0]
    if result.get("rejected_filters"):
        # Superset drops a filter on a column the dataset lacks, silently, so the figures would be wrong
        raise SystemExit(f"Superset rejected filters: {result['rejected_filters']}")
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from flask import g
    from sqlalchemy.engine.url import make_url
    from superset.app import create_app

    app = create_app()
    with app.app_context():
        from superset import db, security_manager
        from superset.connectors.sqla.models import SqlaTable
        from superset.models.core import Database

        user = security_manager.find_user(username=args.user)
        if user is None:
            raise SystemExit(f"no Superset user {args.user!r} (superset fab create-admin)")
        g.user = user  # the chart-data command checks the user's access to the dataset

        started = time.perf_counter()
        database = db.session.query(Database).filter_by(database_name=DATABASE_NAME).one_or_none()
        if database is None:
            database = Database(database_name=DATABASE_NAME, expose_in_sqllab=True)
            db.session.add(database)
        url = make_url(args.warehouse_url)
        if url.drivername == "postgresql+psycopg":
            # Superset 6.0 runs on SQLAlchemy 1.4, which has no psycopg 3 dialect
            url = url.set(drivername="postgresql+psycopg2")
        database.set_sqlalchemy_uri(url.render_as_string(hide_password=False))
        db.session.flush()
        shown_url = url.render_as_string(hide_password=True)
        print(f"database {DATABASE_NAME!r} (id {database.id}): {shown_url}")

        datasets: dict[str, SqlaTable] = {}
        for name in DATASETS:
            table = (
                db.session.query(SqlaTable)
                .filter_by(database_id=database.id, table_name=name)
                .one_or_none()
            )
            if table is None:
                table = SqlaTable(table_name=name, database=database, owners=[user])
                db.session.add(table)
            table.fetch_metadata()
            db.session.flush()
            datasets[name] = table
            print(f"dataset {name} (id {table.id}): {len(table.columns)} columns")
        db.session.commit()
        print(f"registered in {time.perf_counter() - started:.1f} s")

        filters = [
            {"col": "period", "op": "==", "val": args.period},
            {"col": "region_code", "op": "==", "val": args.region},
        ]
        started = time.perf_counter()
        by_city = chart_data(
            datasets["v_village"].id,
            {
                "columns": ["city_code", "city_name"],
                "metrics": [
                    {
                        "expressionType": "SIMPLE",
                        "column": {"column_name": "party_members"},
                        "aggregate": "SUM",
                        "label": "SUM(party_members)",
                    },
                    {"expressionType": "SQL", "sqlExpression": "COUNT(*)", "label": "COUNT(*)"},
                ],
                "filters": filters,
                "orderby": [["city_code", True]],
                "row_limit": 1000,
                "is_timeseries": False,
            },
        )
        elapsed = time.perf_counter() - started
        print("\nthe SQL Superset generated (v_village by city):")
        print(by_city["query"].strip())
        if not by_city["data"]:
            raise SystemExit(f"no rows: is period {args.period} of region {args.region} published?")
        print(f"\n{by_city['rowcount']} rows in {elapsed:.2f} s:")
        print("city_code     city_name        SUM(party_members)  COUNT(*)")
        for row in by_city["data"]:
            print(
                f"{row['city_code']:<13} {row['city_name']:<{16 - _wide(row['city_name'])}}"
                f" {row['SUM(party_members)']:>18,.0f}  {row['COUNT(*)']:>8,}"
            )

        # the same cities' published figures, read from v_city through Superset too
        cities = chart_data(
            datasets["v_city"].id,
            {
                "columns": ["unit_code", "party_members", "villages"],
                "filters": filters,
                "row_limit": 1000,
                "is_timeseries": False,
            },
        )
        published = {
            row["unit_code"]: (row["party_members"], row["villages"]) for row in cities["data"]
        }
        charted = {
            row["city_code"]: (row["SUM(party_members)"], row["COUNT(*)"])
            for row in by_city["data"]
        }
        if charted != published:
            print(f"\nMISMATCH with v_city: charted {charted}, published {published}")
            return 1
        print(f"\nthe same as v_city's party_members and villages for all {len(published)} cities")
    return 0


def _wide(text: str) -> int:
    """How many more columns a terminal gives the text than its length (CJK takes two)."""
    return sum(1 for char in text if ord(char) > 0x2E7F)


if __name__ == "__main__":
    sys.exit(main())
