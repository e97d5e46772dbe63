"""GX Data Docs: a static HTML site with one page per validation run (suite and period).

Layout under ``docs_dir`` (``data/docs``), as Great Expectations writes it::

    index.html                                       every run, newest first
    validations/<suite>/<period>/<run time>/<form>__<period>.html
    expectations/<suite>.html                        the suite's rules, with their messages
    static/styles/grassroots_data_docs.css           the only stylesheet (nothing else in static/)
    _gx/validations/, _gx/expectations/              the JSON the pages are rendered from

GX builds the index from its validation results store and deletes every page whose result
is not in that store, so the results live on disk (``_gx/``) rather than in an ephemeral
store: a run in another process keeps the pages of earlier runs. Each suite keeps only its
latest run over a form's rows of a period; rerunning the period replaces the page.

Results are cut down to SUMMARY before they are stored: the COMPLETE lists of failing row
ids that :mod:`grassroots.checks` asks for would make pages and the index slow and large,
and the rows are in ``validation_issue`` anyway.

The site is self-contained: GX's page templates (which load Bootstrap, jQuery, vega and
Font Awesome from public CDNs, show a logo from S3 with the data context's id in its URL,
and a newsletter banner) are replaced by ours (:mod:`grassroots.checks.datadocs_view`): one local
stylesheet, tables written out in HTML, no script and no network reference. After each
build ``static/`` holds that stylesheet only (GX copies its own images, fonts and styles,
one of which points at S3, at every build).

No submitted value reaches a page as markup. GX writes a sample of the failing values
into the page's HTML unescaped (a village named ``<script>…`` ran as script), so every
value in a result is HTML-escaped before GX sees it (:func:`_inert`); GX escapes the
rest (rules and messages are ours, not submitted).

Great Expectations is imported inside functions: importing it takes seconds and DAG
files import this package.
"""

from __future__ import annotations

import fcntl
import html
import logging
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from grassroots.checks.gx import load_suite, rule_names
from grassroots.config import EXPECTATIONS_DIR

if TYPE_CHECKING:
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
    )
    from great_expectations.data_context import AbstractDataContext

log = logging.getLogger(__name__)

SITE_NAME = "grassroots"
STORE_DIR = "_gx"
STATIC_DIR = "static"
_VIEWS = "grassroots.checks.datadocs_view"

# Result keys whose size grows with the failing rows; the rest (counts, percentages and
# GX's sample of at most 20 unexpected values) is what a SUMMARY result holds.
_UNBOUNDED_KEYS = (
    "unexpected_list",
    "unexpected_index_list",
    "partial_unexpected_index_list",
    "unexpected_index_query",
    "unexpected_index_column_names",
)
_SEVERITY_ZH = {"critical": "错误 error", "warning": "警告 warning", "info": "提示 info"}


def build_data_docs(
    result: ExpectationSuiteValidationResult, form_code: str, period: str, docs_dir: Path
) -> Path:
    """Store ``result`` (one suite run over one form's rows of one period), render its page
    and the index; return the page's path.

    ``result`` is what GX's ``batch.validate(suite, ...)`` returns, in any result format.
    A previous run of the same suite and period is replaced.
    """
    return build_data_docs_for_runs([(form_code, result)], period, docs_dir)[0]


def build_data_docs_for_runs(
    runs: list[tuple[str, ExpectationSuiteValidationResult]], period: str, docs_dir: Path
) -> list[Path]:
    """:func:`build_data_docs` for several ``(form_code, result)`` runs of one period at
    once: one site build instead of one per run (GX compiles its page templates and
    rebuilds the index at every build)."""
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    docs_dir = Path(docs_dir)
    # run_time given: GX would otherwise parse a run name like "2014" as a date
    run_id = RunIdentifier(run_name=period, run_time=datetime.now(UTC))
    keys = [
        ValidationResultIdentifier(
            ExpectationSuiteIdentifier(name=result.suite_name), run_id, f"{form_code}__{period}"
        )
        for form_code, result in runs
    ]
    replaced = {(key.expectation_suite_identifier, key.batch_identifier) for key in keys}
    with _site_lock(docs_dir):
        context = _context(docs_dir)
        store = context.validation_results_store
        for old in store.list_keys():
            if (old.expectation_suite_identifier, old.batch_identifier) in replaced:
                # the index drops the page of a result that is no longer stored
                store.remove_key(old)
        rendered: list[Any] = []
        for key, (form_code, result) in zip(keys, runs, strict=True):
            store.set(key, _summary(result, form_code, period, run_id))
            rendered.append(key)
            if _suite_page_is_stale(docs_dir, result.suite_name):
                _store_suite(context, result.suite_name)
                rendered.append(key.expectation_suite_identifier)
        context.build_data_docs(site_names=[SITE_NAME], resource_identifiers=rendered)
        _replace_static(docs_dir)
        pages = [_page(context, key) for key in keys]
    log.info("data docs for %s: %s", period, ", ".join(str(page) for page in pages))
    return pages


def data_docs_index(docs_dir: Path) -> Path:
    """The site's ``index.html``; an empty site is built first if there is none yet."""
    docs_dir = Path(docs_dir)
    index = docs_dir / "index.html"
    if not index.exists():
        with _site_lock(docs_dir):
            if not index.exists():
                _context(docs_dir).build_data_docs(site_names=[SITE_NAME])
                _replace_static(docs_dir)
    return index


def data_docs_pages(docs_dir: Path, form_code: str, period: str) -> list[Path]:
    """The pages of the latest runs over a form's rows of a period (the form's own suite,
    and its reconciliation suite if it has one); empty when nothing was validated."""
    pattern = f"validations/*/{period}/*/{form_code}__{period}.html"
    return sorted(Path(docs_dir).glob(pattern))


def data_docs_page(docs_dir: Path, form_code: str, period: str, rule: str) -> Path | None:
    """The page of the latest run of the suite that holds ``rule`` over a form's rows of a
    period (the form's own suite or its reconciliation suite). An issue that no suite rule
    raised (a missing return, a cell intake could not read) gets the form's own run of the
    period. None when that page was not rendered."""
    suites = (form_code, f"{form_code}_reconciliation")
    suite = next((s for s in suites if rule in rule_names(s)), form_code)
    pages = sorted(Path(docs_dir).glob(f"validations/{suite}/{period}/*/{form_code}__{period}.html"))
    return pages[-1] if pages else None


def issue_page(docs_dir: Path, issue: dict) -> str | None:
    """The Data Docs page of a validation issue (``review.show_issue``'s ``issue``), as a
    path; None when it was not rendered."""
    page = data_docs_page(docs_dir, issue["form_code"], issue["period"], issue["rule"])
    return str(page) if page is not None else None


def _summary(
    result: ExpectationSuiteValidationResult, form_code: str, period: str, run_id: Any
) -> ExpectationSuiteValidationResult:
    """A copy of ``result`` with SUMMARY-sized outcomes and the meta the pages show."""
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )

    outcomes = [
        ExpectationValidationResult(
            success=outcome.success,
            expectation_config=outcome.expectation_config,
            result={k: _inert(v) for k, v in (outcome.result or {}).items()
                    if k not in _UNBOUNDED_KEYS},
            meta=outcome.meta,
            exception_info=_inert(outcome.exception_info),
        )
        for outcome in result.results
    ]
    meta = dict(result.meta or {})
    meta["run_id"] = run_id
    meta["validation_time"] = run_id.run_time.strftime("%Y%m%dT%H%M%S.%fZ")
    # the pages name the data asset from the batch spec; GX's own says only "PandasDataFrame"
    meta["batch_spec"] = {"data_asset_name": f"stg_{form_code} {period}"}
    return ExpectationSuiteValidationResult(
        success=result.success,
        results=outcomes,
        suite_name=result.suite_name,
        suite_parameters=result.suite_parameters,
        statistics=result.statistics,
        meta=meta,
        batch_id=result.batch_id,
    )


def _inert(value: Any) -> Any:
    """``value`` with every string in it HTML-escaped, numbers and the rest as they are.

    GX writes the failing values it samples (``partial_unexpected_list``, the pairs of a
    column-pair rule, ``partial_unexpected_counts``) into its pages as raw HTML; they are
    what villages submitted. Escaped here, a page shows ``<script>`` as text."""
    if isinstance(value, str):
        return html.escape(value, quote=True)
    if isinstance(value, dict):
        return {_inert(k): _inert(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_inert(v) for v in value]
    return value


def _suite_page_is_stale(docs_dir: Path, suite_name: str) -> bool:
    # the suite's page costs as much as the run's page; it changes only with its file
    page = docs_dir / "expectations" / f"{suite_name}.html"
    source = EXPECTATIONS_DIR / f"{suite_name}.json"
    return not page.exists() or page.stat().st_mtime < source.stat().st_mtime


def _store_suite(context: AbstractDataContext, suite_name: str) -> None:
    # delete and add: GX's add_or_update matches expectations pairwise, slow for a suite
    # of dozens
    if suite_name in {suite.name for suite in context.suites.all()}:
        context.suites.delete(suite_name)
    context.suites.add(_documented_suite(suite_name))


def _documented_suite(suite_name: str) -> Any:
    """The suite with each rule's severity and messages as notes, shown on its page."""
    suite = load_suite(suite_name)  # a fresh copy: checks' cached suite stays unbound
    for expectation in suite.expectations:
        meta = expectation.meta or {}
        severity = getattr(expectation.severity, "value", expectation.severity)
        expectation.notes = [
            f"**{meta.get('rule', '')}** ({_SEVERITY_ZH.get(severity, severity)})",
            f"{meta.get('message_zh', '')} / {meta.get('message_en', '')}",
        ]
    return suite


def _context(docs_dir: Path) -> AbstractDataContext:
    """An ephemeral GX context whose results and suites stores and docs site are files
    under ``docs_dir``; cheap (a few ms), so one per build."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    # GX forces this module's logger to INFO on import (see checks._batch_definition)
    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
    defaults = InMemoryStoreBackendDefaults()
    config = DataContextConfig(store_backend_defaults=defaults)
    for store_name, folder in (
        (defaults.validation_results_store_name, "validations"),
        (defaults.expectations_store_name, "expectations"),
    ):
        config.stores[store_name]["store_backend"] = {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(docs_dir / STORE_DIR / folder),
        }
    # This becomes GX's current context; checks' validations are unaffected, as GX 1.24
    # resolves a batch definition through the context that owns it.
    context = gx.get_context(project_config=config, mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.add_data_docs_site(
        SITE_NAME,
        {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,  # tutorial links for GX users, not for stewards
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(docs_dir),
            },
            # our templates: no CDN, no beacon, no banner, no script (datadocs_view)
            "site_index_builder": {
                "class_name": "DefaultSiteIndexBuilder",
                "view": {"module_name": _VIEWS, "class_name": "OfflineIndexPageView"},
            },
            "site_section_builders": {
                "profiling": "None",
                "validations": {"view": {"module_name": _VIEWS, "class_name": "OfflinePageView"}},
                "expectations": {"view": {"module_name": _VIEWS, "class_name": "OfflinePageView"}},
            },
        },
    )
    return context


@contextmanager
def _site_lock(docs_dir: Path) -> Iterator[None]:
    """One build of the site at a time, across threads and processes (Airflow tasks of
    different periods may validate at once): the index is rebuilt from the whole store and
    drops pages whose result it did not see."""
    docs_dir.mkdir(parents=True, exist_ok=True)
    with (docs_dir / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _replace_static(docs_dir: Path) -> None:
    """``static/`` as the pages use it: our stylesheet and nothing else. GX copies its
    own assets at every build; none is used, and its stylesheet points at S3."""
    from grassroots.checks.datadocs_view import STYLESHEET  # GX's renderer: at a build only

    static = docs_dir / STATIC_DIR
    shutil.rmtree(static, ignore_errors=True)
    (static / "styles").mkdir(parents=True)
    shutil.copyfile(STYLESHEET, static / "styles" / STYLESHEET.name)


def _page(context: AbstractDataContext, key: Any) -> Path:
    urls = context.get_docs_sites_urls(resource_identifier=key, site_name=SITE_NAME)
    url = urls[0].get("site_url") if urls else None
    page = Path(unquote(urlparse(url).path)) if url else None
    if page is None or not page.exists():
        # GX logs rendering failures instead of raising them
        raise RuntimeError(f"GX did not render the Data Docs page of {key.to_tuple()}")
    return page
