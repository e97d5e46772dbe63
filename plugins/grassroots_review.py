"""The stewards' review, sign-off and overdue-plans pages in Airflow: ``/grassroots/``,
``/grassroots/signoff`` and ``/grassroots/overdue`` in the API server, and menu entries
"数据审核 / Review", "逐级审核 / Sign-off" and "逾期未转化 / Overdue plans" under Browse.

Thin on purpose: the app is ``grassroots.web.app`` (tested without Airflow's plugin
manager). Every Airflow process imports this file, so it imports nothing heavy and
touches no database: the FastAPI app is built on the first request the API server
hands it.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/grassroots"


class LazyReviewApp:
    """An ASGI app that builds ``grassroots.web.app.create_app()`` when first called."""

    def __init__(self) -> None:
        self._app = None

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001 (ASGI)
        if self._app is None:
            from grassroots.web.app import create_app

            self._app = create_app()
        await self._app(scope, receive, send)

    def __repr__(self) -> str:
        return "grassroots.web.app:create_app()"


class GrassrootsReviewPlugin(AirflowPlugin):
    name = "grassroots_review"
    fastapi_apps = [
        {"app": LazyReviewApp(), "url_prefix": URL_PREFIX, "name": "Grassroots review"},
    ]
    external_views = [
        {
            "name": "数据审核 / Review",
            "href": f"{URL_PREFIX}/",
            "destination": "nav",
            "category": "browse",
            "url_route": "grassroots-review",
        },
        {
            "name": "逐级审核 / Sign-off",
            "href": f"{URL_PREFIX}/signoff",
            "destination": "nav",
            "category": "browse",
            "url_route": "grassroots-signoff",
        },
        {
            "name": "逾期未转化 / Overdue plans",
            "href": f"{URL_PREFIX}/overdue",
            "destination": "nav",
            "category": "browse",
            "url_route": "grassroots-overdue",
        },
    ]
