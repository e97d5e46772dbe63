"""The star ratings of 四评两公示 (seed 003, CONTRACT.md §5) as SQL columns beside a row.

A unit's stars and class are rated four times: by itself (自评, its ``village_annual`` or
``township_annual`` return), then in ``rating_review`` returns by the levels above it,
initial (初评), review (复评) and final (终评). A unit's *latest* rating is its
``rating_review`` row of the highest stage in the period, among the checked, accepted
rows of its accepted or superseded returns (a county's final return supersedes its
review return, and the review still happened), the latest row within a stage; without
one, its self-rating. The rollup, the explanation of a figure and the announcement list
read the ratings through these snippets, so that all three pick the same row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from grassroots.catalog.declarations import LEVEL_NUMBERS, Catalog, Form, load_catalog
from grassroots.catalog.standards import standard_columns_sql
from grassroots.core.periods import WEEK, YEAR

RATING_FORM = "rating_review"
# the fields a rating gives, in the rated unit's own return and in a rating row
RATED_FIELDS = ("star_rating", "org_class")
# the submissions whose rating rows count: a later return of the same submitter replaces
# an earlier one, and a rating of an earlier stage stays given
RATING_STATUSES = ("accepted", "superseded")
FINAL_STAGE = "final"


def rating_form(catalog: Catalog | None = None) -> Form:
    return (catalog or load_catalog()).forms[RATING_FORM]


def stages(catalog: Catalog | None = None) -> tuple[str, ...]:
    """The stages in the order they are given (the form declares them so)."""
    return tuple(rating_form(catalog).field("stage").values)


def stage_rank_sql(alias: str, catalog: Catalog | None = None) -> str:
    """SQL: the rank of the stage of rating row ``alias`` (1 initial … 3 final)."""
    branches = " ".join(f"when '{stage}' then {rank}"
                        for rank, stage in enumerate(stages(catalog), start=1))
    return f"case {alias}.stage {branches} else 0 end"


def _rated_rows(alias: str, code_column: str | None, period_param: str) -> str:
    statuses = ", ".join(f"'{s}'" for s in RATING_STATUSES)
    of_unit = f"{alias}.unit_code = {code_column} and " if code_column else ""
    return (f"from stg_{RATING_FORM} {alias} "
            f"join submission {alias}_s on {alias}_s.submission_id = {alias}.submission_id "
            f"where {of_unit}"
            f"{alias}_s.period = {period_param} "
            f"and {alias}_s.status in ({statuses}) "
            f"and {alias}_s.rows_accepted is not null "
            f"and {alias}.row_status = 'accepted'")


def latest_rating_sql(column: str, code_column: str, period_param: str = ":period",
                      catalog: Catalog | None = None, stage: str | None = None) -> str:
    """SQL: ``column`` (a field of a rating row) of the latest rating of the unit whose
    code is in ``code_column`` (of that ``stage`` only, when given); NULL where the unit
    has no such rating row in the period. One lookup through the rating table's unit
    index: nothing to read where none was sent."""
    of_stage = f" and rr.stage = '{stage}'" if stage else ""
    return (f"(select rr.{column} {_rated_rows('rr', code_column, period_param)}{of_stage} "
            f"order by {stage_rank_sql('rr', catalog)} desc, rr.submission_id desc, "
            f"rr.row_number desc limit 1)")


RATED_ALIAS = "rated"  # the joined latest rating beside a unit's own row


def latest_ratings_join(code_column: str, period_param: str = ":period",
                        catalog: Catalog | None = None) -> str:
    """SQL: ``left join (…) rated on rated.unit_code = <code_column>``: each rated unit's
    latest rating (its rated fields), picked once per unit for the whole statement. A
    lookup per row and field instead ran once for every reference to the field in the
    statement's measures (nine per village row on PostgreSQL), even with no rating sent."""
    fields = ", ".join(f"rr.{f}" for f in RATED_FIELDS)
    return ("left join (select picked.unit_code, "
            + ", ".join(f"picked.{f}" for f in RATED_FIELDS)
            + f" from (select rr.unit_code, {fields}, row_number() over (partition by "
            f"rr.unit_code order by {stage_rank_sql('rr', catalog)} desc, rr.submission_id "
            f"desc, rr.row_number desc) as pick {_rated_rows('rr', None, period_param)}"
            f") picked where picked.pick = 1) {RATED_ALIAS} "
            f"on {RATED_ALIAS}.unit_code = {code_column}")


def rated_overrides() -> dict[str, str]:
    """SQL for each rated field of a unit's own return: the latest rating's value where
    the levels above rated it (``latest_ratings_join``), else the return's own."""
    return {f: f"coalesce({RATED_ALIAS}.{f}, r.{f})" for f in RATED_FIELDS}


def self_rating_sql(column: str, code_column: str, form_code: str = "village_annual",
                    period_param: str = ":period") -> str:
    """SQL: ``column`` of the self-rating in the unit's own return (``form_code``), the
    row the rollup counts (the latest accepted, checked row of the period); NULL where
    it sent none."""
    return (f"(select own.{column} from stg_{form_code} own "
            "join submission own_s on own_s.submission_id = own.submission_id "
            f"where own.unit_code = {code_column} and own_s.period = {period_param} "
            "and own_s.status = 'accepted' and own_s.rows_accepted is not null "
            "and own.row_status = 'accepted' "
            "order by own.submission_id desc, own.row_number desc limit 1)")


def rating_row_columns_sql(code_column: str) -> dict[str, str]:
    """The columns beside a rating row that its indicators read: ``township_code`` (a
    village's township, a township itself: where the row is summed up the tree) and the
    village's self-rating (``village_self_star_rating``, ``village_self_org_class``; NULL
    for a township), which ``rating_changed_villages`` compares the final rating with."""
    township = (f"coalesce((select pv.parent_code from period_village pv "
                f"where pv.period = :period and pv.unit_code = {code_column}), {code_column})")
    return {
        "township_code": township,
        **{f"village_self_{f}": self_rating_sql(f, code_column) for f in RATED_FIELDS},
    }


def counted_rows(form: Form, columns: Sequence[str], catalog: Catalog | None = None,
                 rated: bool = True) -> dict[str, Any]:
    """How the rows of ``form`` that count are picked and what stands beside them, for
    the rollup (``rollup/accepted_rows.sql``) and the explanation of a figure alike:

    * ``standards``: columns beside each row (SQL over ``r`` and its submission ``s``):
      the village's minimum standards, a weekly report's lateness; beside a rating row its township and the village's self-rating;
    * ``rank``: for the ratings, one row per unit of the highest stage (SQL over ``r``
      and over ``later``), from the submissions in ``statuses``;
    * ``overrides``: a village's return counts with its latest rating's stars and class
      (SQL per field, over ``r`` and ``joins``, the latest ratings joined beside ``r``),
      ``columns`` being its staging table's. With ``rated`` false (no rating was sent
      in the period, so every latest rating is the return's own) the rows as they are.

    Only the villages' annual return has the standards and the ratings beside it: the
    forms of villages sent for quarters and weeks (a ledger, a weekly report) rate
    nothing. A weekly report has its file's lateness beside it (``landed_late``, from
    its submission ``s``)."""
    catalog = catalog or load_catalog()
    picked: dict[str, Any] = {"standards": {}, "rank": None, "statuses": None,
                              "overrides": None, "columns": None, "joins": ""}
    if form.code == RATING_FORM:
        return picked | {"standards": rating_row_columns_sql("r.unit_code"),
                         "rank": (stage_rank_sql("r", catalog), stage_rank_sql("later", catalog)),
                         "statuses": RATING_STATUSES}
    if form.row_level_number == LEVEL_NUMBERS["village"] and form.period_type == YEAR:
        picked["standards"] = standard_columns_sql("r.unit_code")
        if rated and RATING_FORM in catalog.forms and set(RATED_FIELDS) <= set(columns):
            picked |= {"overrides": rated_overrides(), "columns": list(columns),
                       "joins": latest_ratings_join("r.unit_code", catalog=catalog)}
    if form.period_type == WEEK:
        # whether the row's file landed after its week's deadline (submission s, beside r
        # wherever rows are picked): what weekly_reports_late counts
        picked["standards"] = {**picked["standards"], "landed_late": "s.landed_late"}
    return picked
