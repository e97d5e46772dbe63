"""The stewards' review page: a FastAPI app that Airflow's API server mounts at /grassroots.

Pages (HTML, Chinese with English):

- ``GET /`` the issues, filtered by period, county, severity, state, form and rule,
  paged, with counts per state and per severity, and a summary of the issues matching
  the filters by county × rule (the rules with most issues as columns), by form and by
  severity, each count linking to its list;
- ``GET /issues/{id}`` one issue: its row in context (failing cells marked), the other
  issues of that row, its history, links to the Data Docs and the feedback workbook;
- ``POST /issues/{id}/{waive|reject|reopen}`` an action with a required reason;
- ``POST /bulk`` the same action on every issue matching the list's filters (a period
  chosen) inside the steward's scope: first the count to confirm, then, with the count
  confirmed (``expected_count``), the action, refused if the count changed meanwhile;
- ``GET /issues/{id}/feedback`` and ``GET /data-docs/{path}``: those files, served only
  from inside the data folder;
- ``GET /files`` the files refused whole, with their reasons, filtered by period and
  county, paged; and each county's intake of the period (``grassroots intake status``'s
  expected / received / accepted units and files by status).

Security. Every route depends on Airflow's ``requires_authenticated()``: the UI's JWT
cookie or a Bearer token; a browser without one is sent to Airflow's login page. Acting
also needs a steward role (``GRASSROOTS_STEWARD_ROLES``, default ``admin,op``): with the
simple auth manager a user's role is the one in ``[core] simple_auth_manager_users``;
with FAB, any of the user's roles. The actor recorded is the Airflow user name. CSRF:
actions are POST-only, Airflow's cookie is SameSite=Lax, and a POST carried by the
cookie must come from a page of this site: ``Sec-Fetch-Site: same-origin``, or an
``Origin`` (or ``Referer``) naming the configured address (``GRASSROOTS_BASE_URL``, else
Airflow's ``[api] base_url``); browsers send these and a cross-site form cannot forge
them. The Host header is never trusted: a request names whatever host it likes. An
expired or refused login cookie sends a browser to the login page, with a ``next=`` built
from the request's path (and the configured address), not from its Host.

Every response (pages, errors, redirects, the Data Docs and the workbook) carries
:data:`SECURITY_HEADERS`: a Content-Security-Policy that allows no script at all and
nothing from another origin, ``nosniff``, and framing by Airflow's own UI only (same
origin). Nothing submitted reaches a page as markup: these templates autoescape, and
the Data Docs escape the values GX shows (:mod:`grassroots.checks.datadocs`).

The page only presents; the domain is ``grassroots.review``. Airflow is imported when
the app is built, not when this module is, so ``plugins/`` stays fast to import.
"""

from __future__ import annotations

import logging
import mimetypes
import tempfile
from collections.abc import Callable
from datetime import UTC, date, datetime
from math import ceil
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit
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

from grassroots import warehouse
from grassroots.catalog import labels, load_catalog
from grassroots.config import Settings
from grassroots.core.issues import (
    BLOCKING_STATES,
    SEVERITY_LABELS,
    STATE_LABELS,
    STATES,
    STEWARD_ACTION_LABELS,
    TRANSITIONS,
)
from grassroots.core.numbers import amount
from grassroots.hierarchy import scopes
from grassroots.hierarchy.registers import official_by_code
from grassroots.intake import status as intake
from grassroots.reports import ledger
from grassroots.review import actions as review
from grassroots.signoff import actions as signoff

log = logging.getLogger(__name__)

PAGE_SIZE = 50
# The summary's county × rule table: the rules with most issues as its columns (the rest
# summed in one), the counties with most issues as its rows unless all are asked for
SUMMARY_RULES = 8
SUMMARY_COUNTIES = 30
BULK_ACTIONS = STEWARD_ACTION_LABELS
BULK_DONE = {a: (f"已{zh}", review.PAST[a]) for a, (zh, _) in STEWARD_ACTION_LABELS.items()}
MAX_REASON = 2000
ACTIONS = {"waive": review.waive, "reject": review.reject, "reopen": review.reopen}
SHANGHAI = ZoneInfo("Asia/Shanghai")
TEMPLATES_DIR = Path(__file__).parent / "templates"
# No script runs on any page (the review pages have none, the Data Docs' templates are
# ours and have none); nothing loads from another origin. Styles may be inline: GX's pages
# carry style attributes, and a style cannot run script. Airflow's UI (same origin)
# shows the page in a frame.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'none'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self'",
    "font-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'self'",
    "base-uri 'none'",
])
DATA_DOCS_SUFFIXES = (".html", ".css")
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "SAMEORIGIN",
    # same-origin, not no-referrer: a browser then sends "Origin: null" on our own POSTs
    "referrer-policy": "same-origin",
}

ACTION_LABELS = {
    **STEWARD_ACTION_LABELS,
    "resolve": ("解决", "resolve"),
    "update": ("更新", "restated"),  # a completeness warning's count, by the checks
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


def _local_time(value: datetime | str | None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):  # SQLite's text, through a text query
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _origin(url: str) -> tuple[str, str, int | None] | None:
    """``url``'s origin: scheme, host and port (the scheme's default filled in)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or {"http": 80, "https": 443}[scheme]


def _same_origin(request: Request, base_url: str = "") -> bool:
    """Whether a POST comes from a page of this site (the CSRF check). A browser's
    ``Sec-Fetch-Site`` says so directly; without it (plain HTTP on an intranet address)
    the ``Origin`` (or ``Referer``) must be ``base_url``'s origin. Never the Host header:
    the request names that itself."""
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return True  # a token in a header is not ambient: no cross-site form can send it
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site.strip().lower() == "same-origin"
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null" or not base_url:
        return False
    ours = _origin(base_url)
    return ours is not None and _origin(source) == ours


def _login_next(request: Request, base_url: str = "") -> str:
    """Where the login page sends the browser back: this request's path and query,
    under ``base_url`` when there is one; never the Host the request named."""
    path = request.url.path
    if request.url.query:
        path += "?" + request.url.query
    return urljoin(base_url, path) if _origin(base_url) else path


class _SecurityHeaders:
    """ASGI middleware: :data:`SECURITY_HEADERS` on every response, errors included."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                ours = {name.encode("latin-1") for name in SECURITY_HEADERS}
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in ours]
                headers += [(k.encode("latin-1"), v.encode("latin-1"))
                            for k, v in SECURITY_HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _ReviewApp(FastAPI):
    """FastAPI with :class:`_SecurityHeaders` outside its whole middleware stack, so that
    the responses of its server-error handler get the headers too."""

    def build_middleware_stack(self) -> Any:
        return _SecurityHeaders(super().build_middleware_stack())


def create_app(
    settings: Settings | None = None, steward_roles: frozenset[str] | None = None
) -> FastAPI:
    """The review app. ``settings`` default to the environment's; ``steward_roles`` to
    ``GRASSROOTS_STEWARD_ROLES``."""
    from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
    from airflow.api_fastapi.core_api.security import get_user, requires_authenticated
    from airflow.configuration import conf

    settings = settings or Settings.from_env()
    base_url = settings.base_url or conf.get("api", "base_url", fallback="") or ""
    stewards = steward_roles if steward_roles is not None else frozenset(settings.steward_roles)
    forms = load_catalog().forms
    templates = Jinja2Templates(directory=TEMPLATES_DIR)
    templates.env.filters["local_time"] = _local_time
    templates.env.filters["amount"] = amount
    templates.env.globals.update(
        STATE_LABELS=STATE_LABELS, SEVERITY_LABELS=SEVERITY_LABELS, ACTION_LABELS=ACTION_LABELS,
        indicator_names={i.code: i.name_zh for i in load_catalog().indicators},
    )

    app = _ReviewApp(
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

    def issue_field(issue: Any) -> tuple[str, str, str]:
        """An issue's field and value as a person reads them (三类, not 3)."""
        return labels.issue_field(forms.get(issue["form_code"]), issue["field"], issue["value"],
                                  issue["rule"])

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
                "issue_field": issue_field,
                "forms": forms,
                **context,
            },
            status_code=status_code,
        )

    def error_page(request: Request, user: Any, status_code: int, zh: str, en: str) -> Response:
        return render(request, "error.html", user, status_code, message_zh=zh, message_en=en)

    @app.exception_handler(warehouse.WarehouseRevisionError)
    async def _warehouse_not_at_head(request: Request, exc: Exception) -> Response:
        """A warehouse at another schema revision: said to the steward, what to run said
        to the operator in the log."""
        log.error("review page: %s", exc)
        return error_page(
            request, None, 503,
            "数据仓库的结构版本与本程序不一致，暂不能使用。请管理员备份后运行 grassroots db upgrade。",
            "The warehouse's schema is at another revision than this version's, so it cannot "
            "be read. An operator must back it up and run `grassroots db upgrade`.")

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        """A browser that is not logged in, or whose login cookie expired or was refused,
        goes to the login page."""
        wants_html = "text/html" in request.headers.get("accept", "")
        # requires_authenticated answers 401 (no token, or expired) or 403 (a token it
        # refuses); this app raises no 403 of its own (error_page answers those)
        refused_cookie = exc.status_code == 403 and COOKIE_NAME_JWT_TOKEN in request.cookies
        if (exc.status_code == 401 or refused_cookie) and request.method == "GET" and wants_html:
            try:
                from airflow.api_fastapi.app import get_auth_manager

                login = get_auth_manager().get_url_login(next_url=_login_next(request, base_url))
            except RuntimeError:  # no auth manager: not inside the API server
                pass
            else:
                # (Airflow's JWTRefreshMiddleware clears the stale cookie on this response)
                return RedirectResponse(login, status_code=303)
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
        rule: str = "",
        page: int = 1,
        counties: str = "",
        done: str = "",
        acted: int = 0,
    ) -> Response:
        filters = {"period": period or None, "county_code": county or None,
                   "severity": severity or None, "form_code": form or None,
                   "rule": rule or None}
        wanted_state = None if state == "all" else state or None
        page = max(page, 1)
        db = engine()
        rows, total = review.list_issues(
            db, **filters, state=wanted_state, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
        by_state = {s: review.list_issues(db, **filters, state=s, limit=0)[1] for s in STATES}
        by_severity = {
            s: review.list_issues(db, **{**filters, "severity": s}, state=wanted_state, limit=0)[1]
            for s in SEVERITY_LABELS
        }
        query = {"period": period, "county": county, "severity": severity, "state": state,
                 "form": form, "rule": rule}
        pages = max(ceil(total / PAGE_SIZE), 1)
        summary = review.summary(db, {**filters, "state": wanted_state})
        shown_counties = summary["counties"] if counties == "all" else summary["counties"][:SUMMARY_COUNTIES]
        return render(
            request, "issues.html", user,
            rows=rows, total=total, by_state=by_state, by_severity=by_severity,
            summary=summary, summary_rules=summary["rules"][:SUMMARY_RULES],
            other_rules=len(summary["rules"]) > SUMMARY_RULES, summary_counties=shown_counties,
            rule_label=review.rule_label(rule) if rule else None,
            done=(BULK_DONE[done], acted) if done in BULK_DONE else None,
            bulk_actions=BULK_ACTIONS,
            facets=review.facets(db), query=query, page=page, pages=pages,
            first=(page - 1) * PAGE_SIZE + 1 if rows else 0,
            last=(page - 1) * PAGE_SIZE + len(rows),
            prev_link=link(request, "issues", {**query, "page": page - 1})
            if page > 1 else None,
            next_link=link(request, "issues", {**query, "page": page + 1})
            if page < pages else None,
        )

    def _show(issue_id: int) -> dict:
        from grassroots.checks.datadocs import issue_page  # imports GX: only when shown

        shown = review.show_issue(engine(), issue_id, feedback_dir=feedback_dir())
        shown["data_docs_path"] = issue_page(settings.docs_dir, shown["issue"])
        return shown

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
        failing = {i["field"] for i in shown["row_issues"] if i["state"] in BLOCKING_STATES}
        fields = []
        for field in form.fields if form else ():
            if field.code not in shown["row"]:
                continue
            value = shown["row"][field.code]
            if isinstance(value, date):  # a date field: YYYY-MM-DD, as the template asks
                value = value.strftime("%Y-%m-%d")
            fields.append({
                "code": field.code, "label_zh": field.label_zh, "label_en": field.label_en,
                "value": labels.shown_value(field, value),
                "failing": field.code in failing, "current": field.code == issue["field"],
            })
        feedback = shown["feedback_path"]
        allowed = [a for a, (sources, _) in TRANSITIONS.items() if issue["state"] in sources]
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

    def _refuse_action(request: Request, user: Any, doing_zh: str = "处理问题",
                       doing_en: str = "act on issues",
                       error: Callable[..., Response] | None = None) -> Response | None:
        """None when ``user`` may act (a POST from this site, a steward's role), else the
        error page saying why (``doing_*`` names what the role may not do)."""
        error = error or error_page
        if not _same_origin(request, base_url):
            return error(request, user, 403, "请求不是从本页面提交的(跨站请求被拒绝)",
                         "the request did not come from this site (cross-site request refused)")
        if not can_act(user):
            return error(
                request, user, 403,
                f"您的角色({'、'.join(sorted(user_roles(user))) or '无'})不能{doing_zh},需要:{'、'.join(sorted(stewards))}",
                f"your role ({', '.join(sorted(user_roles(user))) or 'none'}) may not {doing_en}; "
                f"one of these is needed: {', '.join(sorted(stewards))}",
            )
        return None

    @app.post("/issues/{issue_id}/{action}", name="act")
    def act(request: Request, issue_id: int, action: str, user: Any = Depends(get_user),
            reason: str = Form("")) -> Response:
        if action not in ACTIONS:
            return error_page(request, user, 404, "没有这个操作", f"no such action: {action}")
        refused = _refuse_action(request, user)
        if refused is not None:
            return refused
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
        except scopes.ScopeError as exc:
            return error_page(request, user, 403, *_split(str(exc)))
        except review.ReviewError as exc:  # not allowed from its state (maybe changed meanwhile)
            return _issue_page(request, user, _show(issue_id), 409, problem=str(exc), reason=reason)
        return RedirectResponse(link(request, "issue", {"done": action}, issue_id=issue_id),
                                status_code=303)

    @app.post("/bulk", name="bulk")
    def bulk(request: Request, user: Any = Depends(get_user), action: str = Form(""),
             reason: str = Form(""), period: str = Form(""), county: str = Form(""),
             severity: str = Form(""), state: str = Form(""), form: str = Form(""),
             rule: str = Form(""), expected_count: str = Form("")) -> Response:
        """Every issue matching the list's filters: first the count to confirm (no
        ``expected_count``), then the action with the count confirmed."""
        if action not in BULK_ACTIONS:
            return error_page(request, user, 404, "没有这个操作", f"no such action: {action}")
        refused = _refuse_action(request, user)
        if refused is not None:
            return refused
        query = {"period": period, "county": county, "severity": severity, "state": state,
                 "form": form, "rule": rule}
        filters = {"period": period or None, "county_code": county or None,
                   "severity": severity or None, "form_code": form or None,
                   "rule": rule or None, "state": None if state == "all" else state or None}
        filters = {k: v for k, v in filters.items() if v}
        db = engine()

        def confirm_page(status_code: int = 200, problem: str | None = None) -> Response:
            try:
                preview = review.preview_matching(db, action, filters, user.get_name())
            except review.ReviewError as exc:
                return error_page(request, user, 400, *_split(str(exc)))
            if not preview["count"] and preview["outside_scope"]:
                return error_page(
                    request, user, 403,
                    f"这{preview['outside_scope']:,}条问题均不在您的负责范围内",
                    f"all {preview['outside_scope']:,} of these issues are outside your scope")
            return render(request, "bulk.html", user, status_code, action=action,
                          action_label=BULK_ACTIONS[action], preview=preview, query=query,
                          reason=reason[:MAX_REASON], problem=problem,
                          rule_label=review.rule_label(rule) if rule else None,
                          county_name=getattr(official_by_code().get(county), "name", None))

        if not reason.strip():
            return confirm_page(400, "必须填写理由 / a reason is required")
        if len(reason) > MAX_REASON:
            return confirm_page(400, f"理由不能超过{MAX_REASON}字 / a reason is at most {MAX_REASON} characters")
        if not expected_count:
            return confirm_page()
        try:
            expected = int(expected_count)
        except ValueError:
            return confirm_page(400, "确认的数目无效 / the count confirmed is not a number")
        try:
            done = review.act_on_matching(db, action, filters, user.get_name(), reason,
                                          expected_count=expected)
        except scopes.ScopeError as exc:
            return error_page(request, user, 403, *_split(str(exc)))
        except review.ReviewError as exc:  # the count changed meanwhile: confirm again
            return confirm_page(409, str(exc))
        # the list of the same filters, in the state the issues are now in
        shown_state = TRANSITIONS[action][1]
        return RedirectResponse(
            link(request, "issues", {**query, "state": shown_state, "done": action,
                                     "acted": done["count"]}), status_code=303)

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
        relative = Path(path).parts
        # the pages and their stylesheet; not GX's stores (_gx/) nor the lock file
        if (target.suffix not in DATA_DOCS_SUFFIXES or any(p.startswith((".", "_")) for p in relative)
                or not target.is_file() or not _inside(target, settings.docs_dir)
                or not _inside(target, settings.data_dir)):
            return error_page(request, user, 404, "没有这个数据文档页面", "no such Data Docs page")
        return FileResponse(target, media_type=mimetypes.guess_type(target.name)[0])

    register(app, render, link, engine)

    def may_act(user: Any, error: Callable[..., Response], request: Request) -> Response | None:
        """The sign-off pages' refusal: as an issue action's, naming sign-off."""
        return _refuse_action(request, user, "审核", "sign off", error)

    register_signoff(app, render, link, engine, error_page, may_act)
    register_overdue(app, render, link, engine)
    return app


FORM_REGISTER = ("村名册", "village register")


def register(app: FastAPI, render: Any, link: Any, engine: Any) -> None:
    """The files page (``GET /files``): refused files and the counties' intake."""
    from airflow.api_fastapi.core_api.security import get_user

    @app.get("/files", response_class=HTMLResponse, name="files")
    def files_page(request: Request, user: Any = Depends(get_user), period: str = "",
                   county: str = "", page: int = 1) -> Response:
        db = engine()
        page = max(page, 1)
        periods = intake.file_periods(db)
        # the intake picture is of one period: the one chosen, else the newest
        shown_period = period if period and period != intake.UNKNOWN else (
            periods[0] if periods else None)
        picture = (intake.intake_picture(
            db, shown_period, county if county and county != intake.UNKNOWN else None)
            if shown_period else None)
        rows, total = intake.refused_files(
            db, period=period or None, county_code=county or None, limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE)
        by_code = {c["county_code"]: c["name"] for c in picture["counties"]} if picture else {}
        official = official_by_code()
        counties = sorted(set(by_code) | set(intake.refused_counties(db, period or None)))
        query = {"period": period, "county": county}
        pages = max(ceil(total / PAGE_SIZE), 1)
        return render(
            request, "files.html", user,
            rows=rows, total=total, picture=picture, query=query, page=page, pages=pages,
            periods=periods, unknown=intake.UNKNOWN, form_register=FORM_REGISTER,
            counties=[(c, by_code.get(c) or (official[c].name if c in official else ""))
                      for c in counties],
            first=(page - 1) * PAGE_SIZE + 1 if rows else 0,
            last=(page - 1) * PAGE_SIZE + len(rows),
            prev_link=link(request, "files", {**query, "page": page - 1}) if page > 1 else None,
            next_link=link(request, "files", {**query, "page": page + 1}) if page < pages else None,
        )


SIGNOFF_DONE = {
    "approve": ("已审核", "approved"),
    "unapprove": ("已撤销审核(及其上级的审核)", "the approval (and those above it) is undone"),
}


def register_signoff(app: FastAPI, render: Any, link: Any, engine: Any, error_page: Any,
                     may_act: Any) -> None:
    """The sign-off page (``GET /signoff``): the units of the steward's scope with their
    state; a unit's open findings (outliers first), missing returns, changes since it was
    approved and the units below it; ``POST /signoff/{approve|unapprove}`` with a reason."""
    from airflow.api_fastapi.core_api.security import get_user

    def _page(request: Request, user: Any, period: str, unit: str, status_code: int = 200,
              problem: str | None = None, refusal: list[str] | None = None, reason: str = "",
              done: tuple[str, str] | None = None) -> Response:
        db = engine()
        periods = signoff.signed_periods(db)
        period = period if period in periods else (periods[0] if periods else "")
        roots = scopes.scope_roots(db, user.get_name())
        context: dict[str, Any] = {"periods": periods, "period": period, "unit": None,
                                   "roots": [], "scoped": roots is not None}
        if period:
            context["roots"] = signoff.top_units(db, period, roots)
        if period and unit:
            with db.connect() as conn:
                allowed = scopes.covers(conn, user.get_name(), period, unit)
            if not allowed:
                return error_page(request, user, 403,
                                  f"{unit} 不在您的负责范围内", f"{unit} is outside your scope")
            try:
                context["unit"] = signoff.unit_review(db, period, unit)
            except signoff.SignoffError as exc:
                return error_page(request, user, 404, *_split(str(exc)))
        return render(request, "signoff.html", user, status_code, problem=problem,
                      refusal=refusal, reason=reason, done=done, **context)

    @app.get("/signoff", response_class=HTMLResponse, name="signoff")
    def signoff_page(request: Request, user: Any = Depends(get_user), period: str = "",
                     unit: str = "", done: str = "") -> Response:
        return _page(request, user, period, unit, done=SIGNOFF_DONE.get(done))

    @app.post("/signoff/{action}", name="signoff_act")
    def signoff_act(request: Request, action: str, user: Any = Depends(get_user),
                    period: str = Form(""), unit: str = Form(""),
                    reason: str = Form("")) -> Response:
        if action not in SIGNOFF_DONE:
            return error_page(request, user, 404, "没有这个操作", f"no such action: {action}")
        refused = may_act(user, error_page, request)
        if refused is not None:
            return refused
        if len(reason) > MAX_REASON:
            return _page(request, user, period, unit, 400, reason=reason[:MAX_REASON],
                         problem=f"理由不能超过{MAX_REASON}字 / a reason is at most {MAX_REASON} characters")
        try:
            if action == "approve":
                signoff.approve(engine(), period, unit, user.get_name(), reason or None)
            else:
                signoff.unapprove(engine(), period, unit, user.get_name(), reason)
        except scopes.ScopeError as exc:
            return error_page(request, user, 403, *_split(str(exc)))
        except signoff.ApprovalRefused as exc:
            return _page(request, user, period, unit, 409, refusal=exc.reasons, reason=reason,
                         problem="不能审核 / the approval is refused")
        except signoff.SignoffError as exc:
            return _page(request, user, period, unit, 409, problem=str(exc), reason=reason)
        return RedirectResponse(link(request, "signoff", {"period": period, "unit": unit,
                                                          "done": action}), status_code=303)


def register_overdue(app: FastAPI, render: Any, link: Any, engine: Any) -> None:
    """The overdue plans page (``GET /overdue``): the rectification plans past their
    deadline and not converted (``grassroots ledger overdue``), per township, of the
    steward's scope; ``GET /overdue.xlsx`` the same as the printable list."""
    from airflow.api_fastapi.core_api.security import get_user

    def _plans(period: str, user: Any) -> tuple[list[ledger.OverduePlan], date, bool]:
        db = engine()
        today = datetime.now(SHANGHAI).date()
        roots = scopes.scope_roots(db, user.get_name())
        if roots is None:
            plans = ledger.overdue_plans(db, period, None, today)
        else:  # each assigned subtree's, every plan once
            found = {p.unit_code: p for root in roots
                     for p in ledger.overdue_plans(db, period, root, today)}
            plans = sorted(found.values(),
                           key=lambda x: (x.township_code, -x.days_overdue, x.unit_code))
        return plans, ledger.overdue_cutoff(period, today), roots is not None

    def _period(period: str) -> tuple[list[str], str]:
        periods = ledger.ledger_periods(engine())
        return periods, period if period in periods else (periods[0] if periods else "")

    @app.get("/overdue", response_class=HTMLResponse, name="overdue")
    def overdue_page(request: Request, user: Any = Depends(get_user), period: str = "") -> Response:
        periods, period = _period(period)
        plans, cutoff, scoped = _plans(period, user) if period else ([], None, False)
        townships: dict[str, list[tuple]] = {}
        for plan in plans:
            townships.setdefault(f"{plan.township_name} {plan.township_code}".strip(), []).append(
                ledger.overdue_row(plan)[1:])
        return render(request, "overdue.html", user, periods=periods, period=period,
                      cutoff=cutoff, scoped=scoped, count=len(plans), townships=townships,
                      headings=[h for h, _ in ledger.OVERDUE_COLUMNS[1:]])

    @app.get("/overdue.xlsx", name="overdue_workbook")
    def overdue_workbook(request: Request, user: Any = Depends(get_user),
                         period: str = "") -> Response:
        periods, period = _period(period)
        if not period:
            raise HTTPException(404, "no ledger has been sent / 尚无整顿台账")
        plans, cutoff, _ = _plans(period, user)
        with tempfile.TemporaryDirectory() as folder:
            path = ledger.write_overdue(plans, period, "", cutoff, Path(folder) / "overdue.xlsx")
            content = path.read_bytes()
        return Response(content, media_type=XLSX, headers={
            "content-disposition": f'attachment; filename="overdue_{period}.xlsx"'})


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _split(message: str) -> tuple[str, str]:
    """A bilingual domain message "中文 / English" as its two halves."""
    zh, sep, en = message.partition(" / ")
    return (zh, en) if sep else (message, message)
