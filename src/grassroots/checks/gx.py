"""Row checks: a form's Great Expectations suite, run over a typed frame of its rows.

The suites live in ``include/expectations/<form>.json`` (generated from the form
declarations by ``grassroots suites build``). :func:`run_suite` runs one over all
rows of one form for one period and returns one :class:`RowIssue` per failing row
per rule: ``error`` issues block the row, ``warning`` issues are published with a flag.

The frame handed to :func:`run_suite` carries, besides ``row_id``, ``submission_id``
and the form's fields (unit_code/text/enum as str, integer and boolean as ``Int64``,
number as ``float64``, date as ``datetime64``), context columns computed from the register, so that rules
about the unit are plain column rules:

- ``unit_in_register``: 1 when the unit code is a unit of the form's row level valid
  in the period, else 0;
- ``unit_in_submitter_subtree``: 1 when it lies under the submitting unit, else 0;
- ``register_name``: the register's name for the unit (None when unknown).

:func:`run_suite` and :func:`run_rules` evaluate the rules with :mod:`grassroots.rules`
and never import Great Expectations; the ``*_with_result`` and :func:`gx_counts`
functions run the same suites through GX (for the Data Docs). GX is imported inside
those functions, in the calling thread: importing it takes seconds, DAG files import
this package, and an import in a background thread races other threads' imports
("partially initialized module").
"""

from __future__ import annotations

import copy
import json
import logging
import numbers
import threading
from dataclasses import dataclass
from datetime import date
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

import pandas as pd

from grassroots.catalog import Form, load_catalog
from grassroots.checks import rules
from grassroots.config import EXPECTATIONS_DIR

if TYPE_CHECKING:
    import great_expectations as gx
    from great_expectations.core.batch_definition import BatchDefinition
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
    )

CONTEXT_COLUMNS = ("unit_in_register", "unit_in_submitter_subtree", "register_name")
# Per form, what its warnings compare with (float64, NaN where nothing applies): the
# year's standards and last year's value, computed by grassroots.checks.stage; declared
# beside the rules that read them (the form's context_columns).
FORM_CONTEXT_COLUMNS = {
    code: form.context_columns for code, form in load_catalog().forms.items()
    if form.context_columns
}
SEVERITY = {"critical": "error", "warning": "warning"}  # GX severity -> issue severity
META_KEYS = ("rule", "field", "message_zh", "message_en")

# The whole suite runs for counts only: BASIC holds what the Data Docs show (counts and
# percentages) without the per-row lists, which GX otherwise builds for every rule, the
# passing ones too (a large part of the suite's time on clean rows).
_COUNTS_FORMAT = {"result_format": "BASIC"}
# Index columns GX reports for each failing row, asked for only in a second run of the
# rules that failed. ``exclude_unexpected_values`` makes GX return the failing row_ids
# as one list instead of one dict per row holding the row's values too, which is
# several times faster on large frames; we read the values from the frame ourselves.
_RESULT_FORMAT = {
    "result_format": "COMPLETE",
    "unexpected_index_column_names": ["row_id"],
    "exclude_unexpected_values": True,
    "return_unexpected_index_query": False,
}


@dataclass(frozen=True)
class RowIssue:
    """One rule that one row breaks."""

    row_id: int
    field: str
    value: str | None  # the row's value of ``field``, as text; None when empty
    rule: str
    severity: str  # "error" | "warning"
    message_zh: str
    message_en: str


class SuiteError(RuntimeError):
    """A suite that cannot run: malformed, or an expectation raised instead of answering."""


def load_suite(form_code: str) -> gx.ExpectationSuite:
    """The suite of ``form_code``, read from ``include/expectations/<form_code>.json``."""
    import great_expectations as gx

    return gx.ExpectationSuite(**_suite_json(form_code))


def _suite_json(form_code: str) -> dict[str, Any]:
    """The suite file's content, every expectation's meta and severity checked."""
    path = EXPECTATIONS_DIR / f"{form_code}.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    for i, expectation in enumerate(raw.get("expectations", [])):
        meta = expectation.get("meta") or {}
        missing = [key for key in META_KEYS if not meta.get(key)]
        if missing:
            raise SuiteError(f"{path}: expectation {i} has no meta {', '.join(missing)}")
        if expectation.get("severity") not in SEVERITY:
            raise SuiteError(
                f"{path}: expectation {i} ({meta['rule']}) has severity "
                f"{expectation.get('severity')!r}; expected one of {sorted(SEVERITY)}"
            )
    rules_named = [e["meta"]["rule"] for e in raw.get("expectations", [])]
    repeated = sorted({r for r in rules_named if rules_named.count(r) > 1})
    if repeated:
        # issues, reviews and the Data Docs cross-check find a rule by its name
        raise SuiteError(f"{path}: rules named twice: {', '.join(repeated)}")
    return raw


@cache
def _suite_file(form_code: str) -> dict[str, Any]:
    # Read once per process: the suites are static files shipped with the code.
    return _suite_json(form_code)


def rule_names(suite_name: str) -> frozenset[str]:
    """The rules of a suite (its expectations' ``meta.rule``); none if there is no such
    suite file."""
    if not (EXPECTATIONS_DIR / f"{suite_name}.json").is_file():
        return frozenset()
    return frozenset(e["meta"]["rule"] for e in _suite_file(suite_name).get("expectations", []))


@cache
def _suite(form_code: str) -> gx.ExpectationSuite:
    import great_expectations as gx

    return gx.ExpectationSuite(**copy.deepcopy(_suite_file(form_code)))


@lru_cache(maxsize=64)
def _partial_suite(form_code: str, chosen_rules: frozenset[str]) -> gx.ExpectationSuite:
    """The suite's expectations of ``rules`` only: the failing rules, run again for their
    rows. Cached, as the same rules tend to fail run after run."""
    import great_expectations as gx

    raw = copy.deepcopy(_suite_file(form_code))
    chosen = [e for e in raw["expectations"] if e["meta"]["rule"] in chosen_rules]
    return gx.ExpectationSuite(**{**raw, "expectations": chosen})


@cache
def _rules_are_unique(form_code: str) -> bool:
    # the detailed run's outcomes are matched to the first run's by rule
    rules = [e["meta"]["rule"] for e in _suite_file(form_code)["expectations"]]
    return len(rules) == len(set(rules))


# One GX context per process. GX's context and execution engine are not thread-safe,
# so validations within a process take turns.
_gx_lock = threading.Lock()


@cache
def _batch_definition() -> BatchDefinition:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    # GX forces this module's logger to INFO on import; it would announce every
    # ephemeral docs folder in the CLI's output and the task logs.
    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    # TQDM_DISABLE is ignored by GX; progress bars would flood the Airflow task logs
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("grassroots").add_dataframe_asset("form_rows")
    return asset.add_batch_definition_whole_dataframe("all_rows")


def run_suite(form: Form, frame: pd.DataFrame) -> list[RowIssue]:
    """Run the form's suite over ``frame``; one issue per failing row per rule.

    Issues come ordered by row_id, then in suite order. Raises ``ValueError`` when the
    frame lacks a column or types one wrongly (a bug upstream, not a submitter's
    mistake) and :class:`SuiteError` when an expectation cannot be evaluated.

    The rules are evaluated by :mod:`grassroots.rules` (GX's semantics, without GX's
    per-run cost); :func:`run_suite_with_result` runs the same suite through GX.
    """
    _check_frame(form, frame)
    return run_rules(form.code, frame)


def run_suite_with_result(
    form: Form, frame: pd.DataFrame
) -> tuple[list[RowIssue], ExpectationSuiteValidationResult]:
    """:func:`run_suite` through GX, and GX's result of the run too (for Data Docs)."""
    _check_frame(form, frame)
    return run_rules_with_result(form.code, frame)


def run_rules(suite_name: str, frame: pd.DataFrame) -> list[RowIssue]:
    """Run the suite ``include/expectations/<suite_name>.json`` over ``frame`` (which has a
    unique ``row_id`` column); one issue per failing row per rule, ordered by row_id, then
    in suite order."""
    if frame.index.names != [None]:
        frame = frame.reset_index(drop=True)
    row_ids = frame["row_id"].to_numpy()
    failing: dict[str, list[int]] = {}
    for outcome in rule_outcomes(suite_name, frame):
        if not outcome.success:
            failing[outcome.rule] = [int(row_ids[i]) for i in outcome.unexpected]
    return _row_issues(suite_name, frame, failing)


def rule_outcomes(suite_name: str, frame: pd.DataFrame) -> list[rules.RuleOutcome]:
    """Every rule of the suite over ``frame``, in suite order (see :mod:`grassroots.rules`)."""
    if frame.index.names != [None]:
        frame = frame.reset_index(drop=True)
    expectations = _suite_file(suite_name)["expectations"]
    try:
        return rules.evaluate(expectations, _for_gx(frame))
    except rules.UnsupportedRule as exc:
        raise SuiteError(f"{suite_name}: cannot evaluate {exc}") from exc
    except KeyError as exc:
        raise SuiteError(f"{suite_name}: the frame has no column {exc}") from exc


def _row_issues(suite_name: str, frame: pd.DataFrame,
                failing: dict[str, list[int]]) -> list[RowIssue]:
    """One issue per row_id of each failing rule, ordered by row_id, then in suite order;
    the value shown is the row's own value of the rule's field in ``frame``."""
    by_row_id: pd.DataFrame | None = None
    issues: list[tuple[int, int, RowIssue]] = []
    for order, expectation in enumerate(_suite_file(suite_name)["expectations"]):
        meta = expectation["meta"]
        row_ids = failing.get(meta["rule"])
        if not row_ids:
            continue
        if by_row_id is None:
            by_row_id = frame.set_index("row_id")
        values = by_row_id.loc[row_ids, meta["field"]].tolist()
        severity = SEVERITY[expectation["severity"]]
        for row_id, value in zip(row_ids, values, strict=True):
            issues.append((row_id, order, RowIssue(
                row_id=row_id, field=meta["field"], value=_as_text(value), rule=meta["rule"],
                severity=severity, message_zh=meta["message_zh"], message_en=meta["message_en"],
            )))
    issues.sort(key=lambda item: item[:2])
    return [issue for _, _, issue in issues]


def run_rules_with_result(
    suite_name: str, frame: pd.DataFrame
) -> tuple[list[RowIssue], ExpectationSuiteValidationResult]:
    """:func:`run_rules` through GX, and GX's result of the run too (for Data Docs)."""
    suite = _suite(suite_name)
    if frame.index.names != [None]:
        # a named index would make GX report index values instead of our row_id column
        frame = frame.reset_index(drop=True)
    with _gx_lock:
        batch = _batch_definition().get_batch(batch_parameters={"dataframe": _for_gx(frame)})
        if not _rules_are_unique(suite_name):
            result = batch.validate(suite, result_format=_RESULT_FORMAT)
        else:
            result = batch.validate(suite, result_format=_COUNTS_FORMAT)
            # GX orders its outcomes its own way, not as the suite lists them: by rule
            failing = frozenset(
                outcome.expectation_config.meta["rule"] for outcome in result.results
                if not outcome.success and _raised_exception(outcome.exception_info) is None
            )
            detail = batch.validate(_partial_suite(suite_name, failing),
                                    result_format=_RESULT_FORMAT) if failing else None
            result = _with_detail(result, {
                outcome.expectation_config.meta["rule"]: outcome
                for outcome in (detail.results if detail is not None else [])
            })

    failing: dict[str, list[int]] = {}
    for outcome in result.results:
        meta = outcome.expectation_config.meta
        error = _raised_exception(outcome.exception_info)
        if error is not None:
            raise SuiteError(
                f"{suite_name}: rule {meta.get('rule')} could not be evaluated: {error}"
            )
        if not outcome.success:
            failing[meta["rule"]] = _failing_row_ids(outcome.result, meta["rule"])
    return _row_issues(suite_name, frame, failing), result


def gx_counts(suite_name: str, frame: pd.DataFrame) -> ExpectationSuiteValidationResult:
    """GX's run of the suite over ``frame``, counts only (BASIC): what the Data Docs show."""
    suite = _suite(suite_name)
    if frame.index.names != [None]:
        frame = frame.reset_index(drop=True)
    with _gx_lock:
        batch = _batch_definition().get_batch(batch_parameters={"dataframe": _for_gx(frame)})
        result = batch.validate(suite, result_format=_COUNTS_FORMAT)
    for outcome in result.results:
        error = _raised_exception(outcome.exception_info)
        if error is not None:
            raise SuiteError(f"{suite_name}: rule {outcome.expectation_config.meta.get('rule')} "
                             f"could not be evaluated: {error}")
    return result


def _with_detail(
    result: ExpectationSuiteValidationResult, detail: dict[str, Any]
) -> ExpectationSuiteValidationResult:
    """``result`` with the outcomes of ``detail``'s rules carrying the second run's result
    (the failing rows' ids), as one run in the detailed format would have returned it; the
    passing outcomes lose BASIC's always empty sample of unexpected values, which the
    detailed format does not have either."""
    from great_expectations.core.expectation_validation_result import (
        ExpectationValidationResult,
    )

    outcomes = []
    for outcome in result.results:
        rule = outcome.expectation_config.meta["rule"]
        again = detail.get(rule)
        if again is not None and again.success != outcome.success:
            # the same rule over the same rows: GX must judge it the same way twice
            raise SuiteError(f"rule {rule}: the detailed run disagrees with the first")
        body = dict(again.result) if again is not None else {
            k: v for k, v in (outcome.result or {}).items() if k != "partial_unexpected_list"
        }
        outcomes.append(ExpectationValidationResult(
            success=outcome.success, expectation_config=outcome.expectation_config, result=body,
            meta=outcome.meta, exception_info=outcome.exception_info,
        ))
    result.results = outcomes
    return result


def _for_gx(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as GX evaluates it fastest: nullable integers as float64.

    GX 1.24 vectorises range checks only for numpy int/float columns and falls back to
    one Python call per value for pandas' nullable Int64 (a large part of a suite's
    time on the villages' rows). Counts are far below 2**53, so float64 holds them
    exactly; issue values are still read from the caller's frame.
    """
    nullable = [c for c, dtype in frame.dtypes.items() if isinstance(dtype, pd.Int64Dtype)]
    return frame.astype(dict.fromkeys(nullable, "float64")) if nullable else frame


def _failing_row_ids(result: dict[str, Any], rule: str) -> list[int]:
    """The row_ids GX reports as unexpected, whichever shape the list comes in."""
    index_list = result.get("unexpected_index_list")
    if index_list is None:
        # a failing expectation that is not row-level (e.g. about the whole table)
        raise SuiteError(f"rule {rule} failed without naming rows; only row rules belong here")
    row_ids: list[int] = []
    for entry in index_list:
        ids = entry["row_id"]
        # with exclude_unexpected_values: one dict holding every id; without: one per row
        if isinstance(ids, list):
            row_ids.extend(int(i) for i in ids)
        else:
            row_ids.append(int(ids))
    if len(row_ids) != result.get("unexpected_count", len(row_ids)):
        raise SuiteError(f"rule {rule}: GX reported fewer rows than failed")
    return row_ids


def _raised_exception(info: dict[str, Any] | None) -> str | None:
    """The message of an exception GX caught while evaluating an expectation, if any.

    GX reports either one ``{"raised_exception": ...}`` dict or, when a metric failed,
    one such dict per metric keyed by the metric's id.
    """
    if not info:
        return None
    reports = [info] if "raised_exception" in info else list(info.values())
    for report in reports:
        if isinstance(report, dict) and (
            report.get("raised_exception") or report.get("exception_message")
        ):
            return str(report.get("exception_message") or "unknown error")
    return None


def _as_text(value: Any) -> str | None:
    if value is None or value is pd.NA or value is pd.NaT or (
            isinstance(value, float) and value != value):
        return None
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, float):
        return format(value, ".15g")  # 200.0 -> "200", 12.5 -> "12.5"
    if isinstance(value, date):  # a pd.Timestamp is a datetime, so a date, too
        return value.strftime("%Y-%m-%d")
    return str(value)


_TEXT_TYPES = ("unit_code", "text", "enum")


def _check_frame(form: Form, frame: pd.DataFrame) -> None:
    """Refuse frames the suites would misread: missing columns, wrong types, null context.

    A wrongly typed column does not always make GX fail loudly (a null context value
    passes an in-set rule), so the frame contract is checked here.
    """
    expected = [
        "row_id", "submission_id", *form.field_codes, *CONTEXT_COLUMNS,
        *FORM_CONTEXT_COLUMNS.get(form.code, ()),
    ]
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise ValueError(f"{form.code} frame lacks columns: {', '.join(missing)}")
    if not frame["row_id"].is_unique:
        raise ValueError(f"{form.code} frame: row_id is not unique")
    wrong = []
    for field in form.fields:
        dtype = frame[field.code].dtype
        if field.type in ("integer", "boolean"):
            ok = pd.api.types.is_integer_dtype(dtype)
        elif field.type == "number":
            ok = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        elif field.type == "date":
            ok = pd.api.types.is_datetime64_dtype(dtype)
        else:
            ok = pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype)
        if not ok:
            wrong.append(f"{field.code} ({field.type}) is {dtype}")
    for column in ("unit_in_register", "unit_in_submitter_subtree"):
        if not pd.api.types.is_integer_dtype(frame[column].dtype) or frame[column].isna().any():
            wrong.append(f"{column} must be integer 1/0 with no nulls")
    if wrong:
        raise ValueError(f"{form.code} frame is mistyped: {'; '.join(wrong)}")
