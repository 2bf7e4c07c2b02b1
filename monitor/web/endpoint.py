"""What every page shares: the session, the user and their role, the CSRF check on every
POST, a store opened for the request, and rendering a template.

A view is a plain function `view(ctx) -> Response` wrapped by `@endpoint(role)`; it runs in a
worker thread (SQLite is synchronous) after the wrapper has decided the request may run. No
user has more than MAX_REQUESTS_PER_USER views running at once, and a view's reads of the
store are interrupted after Web.query_seconds, so no one can hold the server's threads.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from monitor.numbers import NotANumber, whole_number
from monitor.store import Store, open_store
from monitor.web import auth, i18n
from monitor.web.i18n import _
from monitor.web.labels import label
from monitor.web.matching import MatchWorkers
from monitor.web.throttle import LoginThrottle

WEB_DIR = Path(__file__).resolve().parent
MAX_REQUESTS_PER_USER = 8  # a page, its evidence frame and screenshot, a few tabs
QUERY_SECONDS = 10.0  # the longest a page's reads of the store may run


@dataclass
class Web:
    """The app's configuration and shared parts (app.state.web)."""

    db_path: Path
    sessions: auth.Sessions
    templates: jinja2.Environment
    evidence_dir: Path
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    matching: MatchWorkers = field(default_factory=MatchWorkers)
    query_seconds: float = QUERY_SECONDS
    in_flight: dict[str, int] = field(default_factory=dict)  # running views, per user name

    def store(self, *, write: bool = False) -> Store:
        return open_store(self.db_path, readonly=not write)


@dataclass
class Context:
    """One request as a view sees it."""

    request: Request
    web: Web
    session: auth.Session
    user: dict[str, Any] | None
    form: FormData | None
    session_changed: bool = False
    locale: i18n.PageLocale = field(default_factory=i18n.current)

    @property
    def actor(self) -> str:
        return self.user["name"] if self.user else "anonymous"

    @property
    def shown_name(self) -> str:
        """The user's display name (王芳), else their log-in name."""
        if not self.user:
            return ""
        return self.user.get("display_name") or self.user["name"]

    @property
    def role(self) -> str | None:
        return self.user["role"] if self.user else None

    def can(self, needed: str) -> bool:
        return auth.allowed(self.role, needed)

    @contextmanager
    def store(self, *, write: bool = False) -> Iterator[Store]:
        store = self.web.store(write=write)
        if not write:  # a search over a large store is stopped, not waited for
            store.limit_time(self.web.query_seconds)
        try:
            yield store
        finally:
            store.close()

    def field(self, name: str, default: str = "") -> str:
        value = self.form.get(name) if self.form is not None else None
        return value.strip() if isinstance(value, str) else default

    def fields(self, name: str) -> list[str]:
        if self.form is None:
            return []
        return [v for v in self.form.getlist(name) if isinstance(v, str)]

    def param(self, name: str, default: str = "") -> str:
        return (self.request.query_params.get(name) or default).strip()

    @property
    def client_address(self) -> str:
        """The address the connection came from: X-Forwarded-For only counts when `heishi
        serve --behind-proxy` told the server to believe the proxy in front of it."""
        client = self.request.client
        return client.host if client else "unknown"

    def login(self, user: str, generation: int) -> None:
        """A new session (and so a new CSRF token) for `user`: no fixation."""
        self.session = self.web.sessions.new(user, generation)
        self.session_changed = True

    def logout(self) -> None:
        self.session = self.web.sessions.new(None)
        self.session_changed = True

    def url_with(self, **changes: Any) -> str:
        """This page's URL with some query parameters changed (None removes one)."""
        params = dict(self.request.query_params)
        for key, value in changes.items():
            if value is None or value == "":
                params.pop(key, None)
            else:
                params[key] = str(value)
        query = urlencode(params)
        return self.request.url.path + (f"?{query}" if query else "")

    def render(self, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        i18n.use(self.locale)
        page = self.web.templates.get_template(template).render(
            ctx=self,
            user=self.user,
            csrf=self.web.sessions.csrf_token(self.session),
            path=self.request.url.path,
            **values,
        )
        return HTMLResponse(page, status_code=status)

    def redirect(self, url: str) -> RedirectResponse:
        return RedirectResponse(url, status_code=303)

    def refuse(self, status: int, message: str) -> HTMLResponse:
        return self.render("error.html", status=status, status_code=status, message=message)


View = Callable[[Context], Response]


def endpoint(role: str | None = "viewer") -> Callable[[View], Callable]:
    """Wrap a view: sessions, CSRF on every POST, log-in and `role` enforced here."""

    def wrap(view: View) -> Callable[..., Any]:
        async def handler(request: Request) -> Response:
            web: Web = request.app.state.web
            session = web.sessions.load(request.cookies.get(auth.SESSION_COOKIE))
            fresh = session is None
            if session is None:
                session = web.sessions.new()
            form = None
            user = None
            if session.user:
                user = await run_in_threadpool(_active_user, web, session)
            locale = i18n.page_locale(
                request.headers.get("accept-language"),
                user.get("language") if user else None,
                user.get("time_zone") if user else None,
            )
            i18n.use(locale)  # messages made before the page renders are in its language too
            ctx = Context(request, web, session, user, None, session_changed=fresh, locale=locale)
            if request.method == "POST":
                if not _same_origin(request):
                    return _with_cookie(
                        ctx, ctx.refuse(403, _("Refused: the form came from another site."))
                    )
                form = await request.form()
                ctx.form = form
                token = form.get("csrf")
                if fresh or not web.sessions.csrf_ok(
                    session, token if isinstance(token, str) else None
                ):
                    return _with_cookie(
                        ctx,
                        ctx.refuse(
                            403,
                            _(
                                "Refused: the form's security token is missing or out of "
                                "date. Reload the page and try again."
                            ),
                        ),
                    )
            if role is not None:
                if user is None:
                    target = request.url.path
                    if request.url.query and request.method == "GET":
                        target += "?" + request.url.query
                    return _with_cookie(ctx, ctx.redirect(f"/login?next={quote(target)}"))
                if not auth.allowed(user["role"], role):
                    return ctx.refuse(
                        403,
                        _("Your role (%(role)s) may not do this; it needs %(needed)s.")
                        % {"role": label(user["role"]), "needed": label(role)},
                    )
            if user is None:
                return _with_cookie(ctx, await _run(view, ctx))
            name = user["name"]
            if web.in_flight.get(name, 0) >= MAX_REQUESTS_PER_USER:
                return ctx.refuse(429, _("Too many requests at once: wait for the others."))
            web.in_flight[name] = web.in_flight.get(name, 0) + 1
            try:
                return _with_cookie(ctx, await _run(view, ctx))
            finally:
                web.in_flight[name] -= 1
                if not web.in_flight[name]:
                    del web.in_flight[name]

        handler.__name__ = view.__name__
        handler.__doc__ = view.__doc__
        return handler

    return wrap


async def _run(view: View, ctx: Context) -> Response:
    """The view in a worker thread; a read the store interrupted is a 503 that says so."""
    try:
        return await run_in_threadpool(view, ctx)
    except sqlite3.OperationalError as exc:
        if "interrupted" not in str(exc):
            raise
        return ctx.refuse(
            503, _("Looking that up took too long: narrow the filters and try again.")
        )


def _active_user(web: Web, session: auth.Session) -> dict[str, Any] | None:
    """The session's user as the store has it now: a disabled or deleted user, or a session
    their log-out, new password or disabling ended, is logged out."""
    with web.store() as store:
        found = store.review.user(session.user) if session.user else None
    if not found or found.get("disabled"):
        return None
    if found.get("session_generation") != session.generation:
        return None
    return {
        "name": found["name"],
        "role": found["role"],
        "display_name": found.get("display_name"),
        "language": found.get("language"),
        "time_zone": found.get("time_zone"),
    }


def _same_origin(request: Request) -> bool:
    """A browser sends Origin with a POST (Referrer-Policy same-origin keeps it real, not
    "null"); when there is one, it must be this server."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


def _with_cookie(ctx: Context, response: Response) -> Response:
    if ctx.session_changed:
        response.set_cookie(
            auth.SESSION_COOKIE,
            ctx.web.sessions.dump(ctx.session),
            max_age=auth.SESSION_MAX_AGE,
            path="/",
            httponly=True,
            samesite="lax",
            secure=ctx.request.url.scheme == "https",
        )
    return response


def path_id(ctx: Context, name: str) -> int:
    """An id from the URL's path; a path whose id is not one (`²`, too large for SQLite) is
    a page that does not exist."""
    try:
        return whole_number(ctx.request.path_params.get(name))
    except NotANumber:
        raise HTTPException(404) from None


def safe_next(target: str | None) -> str:
    """Where to go after log-in: only a path on this server."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def static_version() -> str:
    """A short hash of the static files, so browsers fetch them again after a change."""
    digest = hashlib.sha256()
    for path in sorted((WEB_DIR / "static").glob("*")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]
