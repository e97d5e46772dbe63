"""The stewards' review page: a FastAPI app that Airflow's API server mounts at /grassroots.

Pages (HTML, Chinese with English):

- ``GET /`` the issues, filtered by period, county, severity, state and form, paged,
  with counts per state and per severity;
- ``GET /issues/{id}`` one issue: its row in context (failing cells marked), the other
  issues of that row, its history, links to the Data Docs and the feedback workbook;
- ``POST /issues/{id}/{waive|reject|reopen}`` an action with a required reason;
- ``GET /issues/{id}/feedback`` and ``GET /data-docs/{path}``: those files, served only
  from inside the data folder.

Security. Every route depends on Airflow's ``requires_authenticated()``: the UI's JWT
cookie or a Bearer token; a browser without one is sent to Airflow's login page. Acting
also needs a steward role (``GRASSROOTS_STEWARD_ROLES``, default ``admin,op``): with the
simple auth manager a user's role is the one in ``[core] simple_auth_manager_users``;
with FAB, any of the user's roles. The actor recorded is the Airflow user name. CSRF:
actions are POST-only, Airflow's cookie is SameSite=Lax, and a POST carried by the
cookie must name this host in its ``Origin`` (or ``Referer``) header, which browsers
send and a cross-site form cannot forge.

The page only presents; the domain is ``grassroots.review``. Airflow is imported when
the app is built, not when this module is, so ``plugins/`` stays fast to import.
"""

from __future__ import annotations

import mimetypes
from datetime import UTC, datetime
from math import ceil
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from fastapi.templating import Jinja2Templates

from grassroots import review
from grassroots.catalog import load_catalog
from grassroots.config import Settings

PAGE_SIZE = 50
MAX_REASON = 2000
ACTIONS = {"waive": review.waive, "reject": review.reject, "reopen": review.reopen}
SHANGHAI = ZoneInfo("Asia/Shanghai")
TEMPLATES_DIR = Path(__file__).parent / "templates" / "review"

STATE_LABELS = {
    "open": ("待处理", "open"),
    "waived": ("已豁免", "waived"),
    "rejected": ("已退回", "rejected"),
    "resolved": ("已解决", "resolved"),
}
SEVERITY_LABELS = {"error": ("错误", "error"), "warning": ("警告", "warning")}
ACTION_LABELS = {
    "waive": ("豁免", "waive"),
    "reject": ("退回", "reject"),
    "reopen": ("重新打开", "reopen"),
    "resolve": ("解决", "resolve"),
}
DONE_LABELS = {
    "waive": ("已豁免该问题", "the issue is waived"),
    "reject": ("已退回提交单位", "the issue is sent back to the submitter"),
    "reopen": ("已重新打开该问题", "the issue is open again"),
}


def user_roles(user: Any) -> frozenset[str]:
    """The user's role names, lower-cased: ``role`` (simple auth manager) or ``roles``
    (FAB: role objects with a ``name``)."""
    names: set[str] = set()
    if isinstance(getattr(user, "role", None), str):
        names.add(user.role)
    for role in getattr(user, "roles", None) or ():
        names.add(role if isinstance(role, str) else getattr(role, "name", ""))
    return frozenset(n.strip().lower() for n in names if n and n.strip())


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` (symlinks followed) lies within ``folder``."""
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False


def _local_time(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _same_origin(request: Request, base_url: str = "") -> bool:
    """Whether a POST comes from a page of this site (the CSRF check): its Origin (or
    Referer) names the host the request was sent to, or the host of Airflow's
    ``[api] base_url`` (for a proxy that rewrites Host)."""
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return True  # a token in a header is not ambient: no cross-site form can send it
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return False
    hosts = {(request.headers.get("host") or "").lower(), urlsplit(base_url).netloc.lower()}
    return urlsplit(source).netloc.lower() in hosts - {""}


def create_app(
    settings: Settings | None = None, steward_roles: frozenset[str] | None = None
) -> FastAPI:
    """The review app. ``settings`` default to the environment's; ``steward_roles`` to
    ``GRASSROOTS_STEWARD_ROLES``."""
    from airflow.api_fastapi.core_api.security import get_user, requires_authenticated
    from airflow.configuration import conf

    from grassroots import warehouse

    settings = settings or Settings.from_env()
    base_url = conf.get("api", "base_url", fallback="") or ""
    stewards = steward_roles if steward_roles is not None else frozenset(settings.steward_roles)
    forms = load_catalog().forms
    templates = Jinja2Templates(directory=TEMPLATES_DIR)
    templates.env.filters["local_time"] = _local_time
    templates.env.globals.update(
        STATE_LABELS=STATE_LABELS, SEVERITY_LABELS=SEVERITY_LABELS, ACTION_LABELS=ACTION_LABELS,
    )

    app = FastAPI(
        title="Grassroots review",
        dependencies=[Depends(requires_authenticated())],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    def engine():
        return warehouse.connect(settings.warehouse_url)

    def feedback_dir() -> Path:
        return settings.feedback_dir

    def can_act(user: Any) -> bool:
        return bool(user_roles(user) & stewards)

    def link(request: Request, name: str, query: dict | None = None, **params: Any) -> str:
        # (app.url_path_for, not request.url_for: the latter asks Airflow's router, which
        # cannot see inside the mounted app)
        path = request.scope.get("root_path", "") + app.url_path_for(name, **params)
        query = {k: v for k, v in (query or {}).items() if v not in (None, "")}
        return f"{path}?{urlencode(query)}" if query else path

    def field_label(form_code: str, field_code: str | None) -> tuple[str, str]:
        form = forms.get(form_code)
        for field in form.fields if form and field_code else ():
            if field.code == field_code:
                return field.label_zh, field.label_en
        return "", ""

    def render(request: Request, template: str, user: Any, status_code: int = 200, **context: Any):
        return templates.TemplateResponse(
            request,
            template,
            {
                "user_name": user.get_name() if user is not None else "",
                "user_roles": sorted(user_roles(user)) if user is not None else [],
                "can_act": can_act(user) if user is not None else False,
                "steward_roles": sorted(stewards),
                "max_reason": MAX_REASON,
                "link": lambda name, query=None, **params: link(request, name, query, **params),
                "field_label": field_label,
                "forms": forms,
                **context,
            },
            status_code=status_code,
        )

    def error_page(request: Request, user: Any, status_code: int, zh: str, en: str) -> Response:
        return render(request, "error.html", user, status_code, message_zh=zh, message_en=en)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        """A browser that is not logged in (or whose token expired) goes to the login page."""
        wants_html = "text/html" in request.headers.get("accept", "")
        if exc.status_code == 401 and request.method == "GET" and wants_html:
            try:
                from airflow.api_fastapi.app import get_auth_manager

                return RedirectResponse(
                    get_auth_manager().get_url_login(next_url=str(request.url)), status_code=303
                )
            except RuntimeError:  # no auth manager: not inside the API server
                pass
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.get("/", response_class=HTMLResponse, name="issues")
    def list_page(
        request: Request,
        user: Any = Depends(get_user),
        period: str = "",
        county: str = "",
        severity: str = "",
        state: str = "open",
        form: str = "",
        page: int = 1,
    ) -> Response:
        filters = {"period": period or None, "county_code": county or None,
                   "severity": severity or None, "form_code": form or None}
        wanted_state = None if state == "all" else state or None
        page = max(page, 1)
        db = engine()
        rows, total = review.list_issues(
            db, **filters, state=wanted_state, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
        by_state = {s: review.list_issues(db, **filters, state=s, limit=0)[1] for s in review.STATES}
        by_severity = {
            s: review.list_issues(db, **{**filters, "severity": s}, state=wanted_state, limit=0)[1]
            for s in SEVERITY_LABELS
        }
        query = {"period": period, "county": county, "severity": severity, "state": state, "form": form}
        pages = max(ceil(total / PAGE_SIZE), 1)
        return render(
            request, "issues.html", user,
            rows=rows, total=total, by_state=by_state, by_severity=by_severity,
            facets=review.facets(db), query=query, page=page, pages=pages,
            first=(page - 1) * PAGE_SIZE + 1 if rows else 0,
            last=(page - 1) * PAGE_SIZE + len(rows),
            prev_link=link(request, "issues", {**query, "page": page - 1})
            if page > 1 else None,
            next_link=link(request, "issues", {**query, "page": page + 1})
            if page < pages else None,
        )

    def _show(issue_id: int) -> dict:
        return review.show_issue(engine(), issue_id, docs_dir=settings.docs_dir,
                                 feedback_dir=feedback_dir())

    def _data_docs_link(request: Request, path: str | None) -> str | None:
        if not path or not Path(path).is_file() or not _inside(Path(path), settings.docs_dir):
            return None
        relative = Path(path).resolve().relative_to(settings.docs_dir.resolve()).as_posix()
        return link(request, "data_docs", path=relative)

    @app.get("/issues/{issue_id}", response_class=HTMLResponse, name="issue")
    def issue_page(request: Request, issue_id: int, user: Any = Depends(get_user),
                   done: str = "") -> Response:
        try:
            shown = _show(issue_id)
        except review.ReviewError as exc:
            return error_page(request, user, 404, *_split(str(exc)))
        return _issue_page(request, user, shown, done=DONE_LABELS.get(done))

    def _issue_page(request: Request, user: Any, shown: dict, status_code: int = 200,
                    done: tuple[str, str] | None = None, problem: str | None = None,
                    reason: str = "") -> Response:
        issue = shown["issue"]
        form = forms.get(issue["form_code"])
        # the cells of the row that still hold an open (or rejected) issue
        failing = {i["field"] for i in shown["row_issues"] if i["state"] in review.BLOCKING_STATES}
        fields = []
        for field in form.fields if form else ():
            if field.code not in shown["row"]:
                continue
            value = shown["row"][field.code]
            fields.append({
                "code": field.code, "label_zh": field.label_zh, "label_en": field.label_en,
                "value": value, "value_label": field.values.get(str(value), "") if value is not None else "",
                "failing": field.code in failing, "current": field.code == issue["field"],
            })
        feedback = shown["feedback_path"]
        allowed = [a for a, (sources, _) in review.TRANSITIONS.items() if issue["state"] in sources]
        return render(
            request, "issue.html", user, status_code,
            issue=issue, form=form, fields=fields, row=shown["row"],
            row_issues=[i for i in shown["row_issues"] if i["issue_id"] != issue["issue_id"]],
            history=shown["history"],
            data_docs_link=_data_docs_link(request, shown["data_docs_path"]),
            feedback_link=link(request, "feedback", issue_id=issue["issue_id"])
            if feedback and Path(feedback).is_file() and _inside(Path(feedback), settings.data_dir)
            else None,
            feedback_name=Path(feedback).name if feedback else None,
            allowed=allowed, done=done, problem=problem, reason=reason,
            waive_preview=shown.get("waive_preview") if "waive" in allowed else None,
        )

    @app.post("/issues/{issue_id}/{action}", name="act")
    def act(request: Request, issue_id: int, action: str, user: Any = Depends(get_user),
            reason: str = Form("")) -> Response:
        if action not in ACTIONS:
            return error_page(request, user, 404, "没有这个操作", f"no such action: {action}")
        if not _same_origin(request, base_url):
            return error_page(request, user, 403, "请求不是从本页面提交的(跨站请求被拒绝)",
                              "the request did not come from this site (cross-site request refused)")
        if not can_act(user):
            return error_page(
                request, user, 403,
                f"您的角色({'、'.join(sorted(user_roles(user))) or '无'})不能处理问题,需要:{'、'.join(sorted(stewards))}",
                f"your role ({', '.join(sorted(user_roles(user))) or 'none'}) may not act on issues; "
                f"one of these is needed: {', '.join(sorted(stewards))}",
            )
        try:
            shown = _show(issue_id)
        except review.ReviewError as exc:
            return error_page(request, user, 404, *_split(str(exc)))
        if not reason.strip():
            return _issue_page(request, user, shown, 400, reason=reason,
                               problem="必须填写理由 / a reason is required")
        if len(reason) > MAX_REASON:
            return _issue_page(request, user, shown, 400, reason=reason[:MAX_REASON],
                               problem=f"理由不能超过{MAX_REASON}字 / a reason is at most {MAX_REASON} characters")
        try:
            ACTIONS[action](engine(), issue_id, user.get_name(), reason)
        except review.ReviewError as exc:  # not allowed from its state (maybe changed meanwhile)
            return _issue_page(request, user, _show(issue_id), 409, problem=str(exc), reason=reason)
        return RedirectResponse(link(request, "issue", {"done": action}, issue_id=issue_id),
                                status_code=303)

    @app.get("/issues/{issue_id}/feedback", name="feedback")
    def feedback(request: Request, issue_id: int, user: Any = Depends(get_user)) -> Response:
        try:
            path = _show(issue_id)["feedback_path"]
        except review.ReviewError as exc:
            return error_page(request, user, 404, *_split(str(exc)))
        if not path or not Path(path).is_file() or not _inside(Path(path), settings.data_dir):
            return error_page(request, user, 404, "没有反馈工作簿", "no feedback workbook")
        return FileResponse(
            path, filename=Path(path).name,
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )

    @app.get("/data-docs/{path:path}", name="data_docs")
    def data_docs(request: Request, path: str, user: Any = Depends(get_user)) -> Response:
        target = settings.docs_dir / path
        if target.is_dir():
            target = target / "index.html"
        if (not target.is_file() or not _inside(target, settings.docs_dir)
                or not _inside(target, settings.data_dir)):
            return error_page(request, user, 404, "没有这个数据文档页面", "no such Data Docs page")
        return FileResponse(target, media_type=mimetypes.guess_type(target.name)[0])

    return app


def _split(message: str) -> tuple[str, str]:
    """A bilingual domain message "中文 / English" as its two halves."""
    zh, sep, en = message.partition(" / ")
    return (zh, en) if sep else (message, message)
