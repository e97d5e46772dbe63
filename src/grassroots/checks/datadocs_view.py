"""GX's Data Docs page views, with the project's own templates in front of GX's.

GX's templates load Bootstrap, jQuery, bootstrap-table, vega and Font Awesome from public
CDNs, put a logo from S3 with the data context's id in its URL on every page (a beacon)
and a newsletter banner under it, and draw the index's tables with a script. The
templates in ``checks/templates/datadocs/`` replace those: one local stylesheet
(:data:`STYLESHEET`), no script, no network reference, and tables written out in HTML.
The pages then read the same offline and under the review app's Content-Security-Policy
(no script at all).

Imported by GX (the site's ``view`` settings in :func:`grassroots.checks.datadocs._context`),
never by DAG files: it imports GX.
"""

from __future__ import annotations

from pathlib import Path

from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2 import ChoiceLoader, FileSystemLoader

TEMPLATES_DIR = Path(__file__).parent / "templates" / "datadocs"
# copied to static/styles/ of the site at every build
STYLESHEET = TEMPLATES_DIR / "grassroots_data_docs.css"


class _OfflineTemplates:
    """GX's Jinja environment with our templates looked up first (GX's own custom views
    folder is searched last, so it can only add templates, not replace them)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.env.loader = ChoiceLoader([FileSystemLoader(TEMPLATES_DIR), self.env.loader])


class OfflinePageView(_OfflineTemplates, DefaultJinjaPageView):
    """The pages of validation results and of expectation suites."""


class OfflineIndexPageView(_OfflineTemplates, DefaultJinjaIndexPageView):
    """The site's index."""
