"""The expectation suites evaluated over a frame, one vectorised pandas mask per rule.

The suites in ``include/expectations/`` declare every row rule, and Great Expectations
renders them (and their runs) as Data Docs. Running a suite through GX costs seconds to
import GX and GX's own bookkeeping for every expectation, whatever the row count:
more than everything else in a county's rerun together. So the gate evaluates each
expectation here, the way GX 1.x's pandas engine does (same row condition filter, same
dropping of missing values, same comparison), and GX runs the same suites over the same
frames for the Data Docs, where :func:`grassroots.checks.stage.build_docs` compares GX's
count of failing rows with this module's for every rule and fails loudly on any
difference. ``tests/unit/test_checks_rules.py`` compares the two on generated frames.

An expectation type or argument this module does not know is refused
(:class:`UnsupportedRule`) rather than guessed at: a new kind of rule in a suite needs its
evaluation here, with its test against GX.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

# Arguments every expectation may carry that do not change which rows fail.
_NEUTRAL = {"row_condition", "condition_parser", "catch_exceptions", "result_format",
            "include_config", "meta", "mostly"}


class UnsupportedRule(ValueError):
    """An expectation this module cannot evaluate as GX would."""


@dataclass(frozen=True)
class RuleOutcome:
    """One expectation over one frame."""

    config: dict[str, Any]  # the expectation as the suite file declares it
    element_count: int  # rows in the rule's domain (after its row condition)
    missing_count: int  # of those, rows the rule skips as missing
    unexpected: np.ndarray  # positions (0-based, in the frame) of the failing rows

    @property
    def rule(self) -> str:
        return self.config["meta"]["rule"]

    @property
    def success(self) -> bool:
        return len(self.unexpected) == 0


def evaluate(expectations: Iterable[dict[str, Any]], frame: pd.DataFrame) -> list[RuleOutcome]:
    """Each expectation (a suite file's entry) over ``frame``, in the order given.

    ``frame`` is typed as GX is handed it (:func:`grassroots.checks._for_gx`): numbers as
    float64 with NaN, text as object with None. Raises :class:`UnsupportedRule` for an
    expectation it cannot evaluate and ``KeyError`` for a column the frame lacks.
    """
    outcomes = []
    everything = np.ones(len(frame), dtype=bool)
    for config in expectations:
        kwargs = config.get("kwargs", {})
        check = _CHECKS.get(config.get("type"))
        if check is None:
            raise UnsupportedRule(f"{_name(config)}: expectation type {config.get('type')!r}")
        allowed, evaluate_rule = check
        unknown = set(kwargs) - allowed - _NEUTRAL
        if unknown:
            raise UnsupportedRule(f"{_name(config)}: arguments {sorted(unknown)}")
        if kwargs.get("mostly", 1) != 1:
            raise UnsupportedRule(f"{_name(config)}: mostly={kwargs['mostly']} (rows fail singly)")
        condition = kwargs.get("row_condition")
        domain = everything if not condition else _condition(frame, condition, config)
        missing, failing = evaluate_rule(frame, kwargs, domain)
        outcomes.append(RuleOutcome(
            config=config, element_count=int(domain.sum()), missing_count=int(missing.sum()),
            unexpected=np.flatnonzero(failing),
        ))
    return outcomes


def _name(config: dict[str, Any]) -> str:
    return (config.get("meta") or {}).get("rule") or str(config.get("type"))


# ----------------------------------------------------------------------------- row conditions


def _condition(frame: pd.DataFrame, condition: Any, config: dict[str, Any]) -> np.ndarray:
    """The rows a structured row condition keeps, as GX's ``DataFrame.query`` does."""
    if not isinstance(condition, dict):
        raise UnsupportedRule(f"{_name(config)}: row condition {condition!r} is not structured")
    kind = condition.get("type")
    if kind in ("and", "or"):
        parts = [_condition(frame, c, config) for c in condition["conditions"]]
        combine = np.logical_and if kind == "and" else np.logical_or
        return combine.reduce(parts) if parts else np.ones(len(frame), dtype=bool)
    column = frame[condition["column"]["name"]]
    if kind == "nullity":
        null = column.isna().to_numpy()
        return null if condition["is_null"] else ~null
    if kind != "comparison":
        raise UnsupportedRule(f"{_name(config)}: row condition type {kind!r}")
    operator, parameter = condition["operator"], condition["parameter"]
    if operator in ("IN", "NOT_IN"):
        inside = column.isin(list(parameter)).to_numpy()
        return inside if operator == "IN" else ~inside
    compare = _COMPARISONS.get(operator)
    if compare is None:
        raise UnsupportedRule(f"{_name(config)}: row condition operator {operator!r}")
    # NaN and None compare false, as in DataFrame.query
    return np.asarray(compare(column, parameter), dtype=bool)


_COMPARISONS: dict[str, Callable[[pd.Series, Any], Any]] = {
    "==": lambda c, p: c == p, "!=": lambda c, p: c != p, "<": lambda c, p: c < p,
    "<=": lambda c, p: c <= p, ">": lambda c, p: c > p, ">=": lambda c, p: c >= p,
}


# ----------------------------------------------------------------------------- the rules
# Each returns (missing, failing) as boolean arrays over the frame's rows, both within the
# rule's domain: missing rows are skipped by the rule, failing rows break it.


def _not_null(frame: pd.DataFrame, kwargs: dict, domain: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    null = frame[kwargs["column"]].isna().to_numpy()
    return np.zeros_like(domain), domain & null


def _null(frame: pd.DataFrame, kwargs: dict, domain: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    null = frame[kwargs["column"]].isna().to_numpy()
    return np.zeros_like(domain), domain & ~null


def _column_rule(test: Callable[[pd.Series, dict], np.ndarray]) -> Callable:
    """A rule on one column's present values: missing values are skipped, as GX does."""

    def rule(frame: pd.DataFrame, kwargs: dict, domain: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        column = frame[kwargs["column"]]
        missing = domain & column.isna().to_numpy()
        present = domain & ~missing
        failing = np.zeros_like(domain)
        if present.any():
            failing[present] = ~np.asarray(test(column[present], kwargs), dtype=bool)
        return missing, failing

    return rule


def _between(values: pd.Series, kwargs: dict) -> np.ndarray:
    if not pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        raise UnsupportedRule(f"between on {values.name} of type {values.dtype}")
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    if low is None and high is None:
        raise UnsupportedRule("between with neither min_value nor max_value")
    inside = np.ones(len(values), dtype=bool)
    numbers = values.to_numpy()
    if low is not None:
        inside &= (numbers > low) if kwargs.get("strict_min") else (numbers >= low)
    if high is not None:
        inside &= (numbers < high) if kwargs.get("strict_max") else (numbers <= high)
    return inside


def _in_set(values: pd.Series, kwargs: dict) -> np.ndarray:
    if kwargs.get("value_set") is None:
        return np.ones(len(values), dtype=bool)
    return values.isin(list(kwargs["value_set"])).to_numpy()


def _match_regex(values: pd.Series, kwargs: dict) -> np.ndarray:
    pattern = re.compile(kwargs["regex"])
    return np.fromiter((pattern.search(str(v)) is not None for v in values), dtype=bool,
                       count=len(values))


def _pair_rule(compare: Callable[[pd.Series, pd.Series, dict], Any]) -> Callable:
    """A rule on two columns; which rows are skipped as missing follows ``ignore_row_if``."""

    def rule(frame: pd.DataFrame, kwargs: dict, domain: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a, b = frame[kwargs["column_A"]], frame[kwargs["column_B"]]
        missing = _skipped(np.column_stack([a.isna().to_numpy(), b.isna().to_numpy()]),
                           kwargs.get("ignore_row_if", "both_values_are_missing"),
                           {"both_values_are_missing": "all", "either_value_is_missing": "any",
                            "neither": None}) & domain
        kept = domain & ~missing
        failing = kept & ~np.asarray(compare(a, b, kwargs), dtype=bool)
        return missing, failing

    return rule


def _skipped(nulls: np.ndarray, ignore_row_if: str, how: dict[str, str | None]) -> np.ndarray:
    if ignore_row_if not in how:
        raise UnsupportedRule(f"ignore_row_if={ignore_row_if!r}")
    mode = how[ignore_row_if]
    if mode is None:
        return np.zeros(len(nulls), dtype=bool)
    return nulls.all(axis=1) if mode == "all" else nulls.any(axis=1)


def _compound_unique(frame: pd.DataFrame, kwargs: dict, domain: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    columns = list(kwargs["column_list"])
    missing = _skipped(frame[columns].isna().to_numpy(), kwargs.get("ignore_row_if", "all_values_are_missing"),
                       {"all_values_are_missing": "all", "any_value_is_missing": "any",
                        "never": None}) & domain
    kept = domain & ~missing
    failing = np.zeros_like(domain)
    if kept.any():
        failing[kept] = frame.loc[kept, columns].duplicated(keep=False).to_numpy()
    return missing, failing


_CHECKS: dict[str, tuple[set[str], Callable]] = {
    "expect_column_values_to_not_be_null": ({"column"}, _not_null),
    "expect_column_values_to_be_null": ({"column"}, _null),
    "expect_column_values_to_be_between": (
        {"column", "min_value", "max_value", "strict_min", "strict_max"}, _column_rule(_between)),
    "expect_column_values_to_be_in_set": ({"column", "value_set"}, _column_rule(_in_set)),
    "expect_column_values_to_match_regex": ({"column", "regex"}, _column_rule(_match_regex)),
    "expect_column_pair_values_to_be_equal": (
        {"column_A", "column_B", "ignore_row_if"},
        _pair_rule(lambda a, b, kw: (a == b).to_numpy())),
    "expect_column_pair_values_a_to_be_greater_than_b": (
        {"column_A", "column_B", "ignore_row_if", "or_equal"},
        _pair_rule(lambda a, b, kw: ((a >= b) if kw.get("or_equal") else (a > b)).to_numpy())),
    "expect_compound_columns_to_be_unique": ({"column_list", "ignore_row_if"}, _compound_unique),
}
