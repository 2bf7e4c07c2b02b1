"""The review web app: a small Starlette app with server-rendered Jinja2 pages.

`create_app(db_path)` builds it; `heishi serve` runs it with uvicorn. Every response carries
security headers with a strict Content-Security-Policy (scripts and styles only from this
server, nothing inline); the raw evidence page sets its own, stricter one. A request body is
read whole, up to a cap, before any view sees it (413 past the cap).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitor.store import open_store
from monitor.web import (
    actor,
    admin,
    alert,
    api_routes,
    auth,
    case,
    evidence,
    i18n,
    lookup_page,
    queue,
    stats_page,
    triage,
)
from monitor.web.endpoint import QUERY_SECONDS, WEB_DIR, Web, static_version
from monitor.web.i18n import _
from monitor.web.labels import label
from monitor.web.throttle import LoginThrottle

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "font-src 'self'; connect-src 'self'; frame-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every response that does not set its own; pages are not
    cached (they show sensitive listings), static files are."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.decode("latin-1").lower() for name, _ in headers}
                extra = dict(SECURITY_HEADERS)
                extra["Cache-Control"] = "max-age=3600" if static else "no-store"
                for name, value in extra.items():
                    if name.lower() not in present:
                        headers.append((name.encode("latin-1"), value.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


# The largest body a form may send: the keywords page takes a listing's text (20,000
# characters, up to 9 bytes each once form-encoded), the look-up page a customer list;
# every other form is small.
MAX_BODY_BYTES = 64 * 1024
MAX_BODY_BYTES_BY_PATH = {"/keywords": 256 * 1024, "/lookup": 1024 * 1024}
# A body past its cap is still read (and dropped) up to this, so the client reads the 413
# instead of a reset connection; past this the connection is closed at once.
DRAIN_BYTES = 1024 * 1024


class BodyLimit:
    """Reads a request's body before the app does and answers 413 past the cap, so no form
    (a log-in with a 900 KB name, say) is parsed, kept or counted."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = MAX_BODY_BYTES_BY_PATH.get(scope["path"], MAX_BODY_BYTES)
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared[:20]) > DRAIN_BYTES:
            await _too_large(send, limit)
            return
        chunks: list[bytes] = []
        size = 0
        while size <= DRAIN_BYTES:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size <= limit:
                chunks.append(chunk)
            else:  # a body longer than the cap (chunked, or longer than it said): dropped
                chunks.clear()
            if not message.get("more_body"):
                break
        if size > limit:
            await _too_large(send, limit)
            return
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _too_large(send: Send, limit: int) -> None:
    text = f"Refused: the form is larger than {limit // 1024} KB.".encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(text)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": text})


def evidence_dir(db_path: Path) -> Path:
    """Where evidence files live: monitor.running.evidence decides; beside the store otherwise."""
    try:
        from monitor.running.evidence import evidence_dir as decided
    except ImportError:
        return db_path.parent / f"{db_path.stem}-evidence"
    return Path(decided(db_path))


def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(WEB_DIR / "templates"),
        autoescape=True,  # every template, whatever its name
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    i18n.install(env)
    # Per request, never folded into the compiled template: `'all'|label` on a literal would
    # otherwise keep the language of the first page that compiled it.
    env.filters["label"] = jinja2.pass_context(lambda _context, value: label(value))
    env.filters["number"] = _number
    env.filters["json_list"] = _json_list
    env.globals["static_version"] = static_version()
    return env


def _number(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}" if isinstance(value, int | float) else str(value)


def _json_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    try:
        found = json.loads(value) if value else []
    except (TypeError, ValueError):
        return []
    return found if isinstance(found, list) else []


def create_app(
    db_path: str | Path,
    *,
    throttle: LoginThrottle | None = None,
    query_seconds: float = QUERY_SECONDS,
) -> ASGIApp:
    """The web app over the store at `db_path` (created and migrated if needed)."""
    db_path = Path(db_path)
    open_store(db_path).close()  # create or upgrade once, before any read-only request
    web = Web(
        db_path=db_path,
        sessions=auth.Sessions(auth.web_secret(db_path)),
        templates=templates(),
        evidence_dir=evidence_dir(db_path),
        throttle=throttle or LoginThrottle(),
        query_seconds=query_seconds,
    )
    routes = [
        Route("/", queue.queue_page),
        Route("/login", admin.login, methods=["GET", "POST"]),
        Route("/logout", admin.logout, methods=["POST"]),
        Route("/alerts/bulk", queue.bulk_triage, methods=["POST"]),
        Route("/alerts/{alert_id}", alert.alert_page),
        Route("/alerts/{alert_id}/triage", triage.triage, methods=["POST"]),
        Route("/alerts/{alert_id}/assign", triage.assign, methods=["POST"]),
        Route("/alerts/{alert_id}/note", triage.add_note, methods=["POST"]),
        Route("/alerts/{alert_id}/case.json", case.case_json),
        Route("/alerts/{alert_id}/case", case.case_page),
        Route("/evidence/{version_id}/page", evidence.evidence_page),
        Route("/evidence/{version_id}/screenshot", evidence.evidence_screenshot),
        Route("/actors", actor.actors_page),
        Route("/actors/{actor_id}", actor.actor_page),
        Route("/actors/{actor_id}/watch", actor.watch_actor, methods=["POST"]),
        Route(
            "/actors/{actor_id}/contacts/{contact_id}/watch",
            actor.watch_contact,
            methods=["POST"],
        ),
        Route("/actors/{actor_id}/watches/{watch_id}/end", actor.end_watch, methods=["POST"]),
        Route("/sources", admin.sources_page),
        Route("/keywords", admin.keywords_page, methods=["GET", "POST"]),
        Route("/users", admin.users_page, methods=["GET", "POST"]),
        Route("/preferences", admin.preferences_page, methods=["GET", "POST"]),
        Route("/lookup", lookup_page.lookup_page, methods=["GET", "POST"]),
        Route("/stats", stats_page.stats_page),
        *api_routes.ROUTES,
        Mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        web.matching.close()  # the keywords page's matcher processes end with the server

    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.web = web
    return SecurityHeaders(BodyLimit(app))


async def _http_error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500)
    if request.url.path.startswith("/api/"):  # programs read JSON, not a page
        message = {404: "there is no such call", 405: "not allowed here"}.get(status, "error")
        return JSONResponse({"error": message}, status_code=status)
    i18n.use(i18n.page_locale(request.headers.get("accept-language")))
    messages = {404: _("There is no such page."), 405: _("Not allowed here.")}
    page = request.app.state.web.templates.get_template("error.html").render(
        ctx=None,
        user=None,
        csrf="",
        path=request.url.path,
        status_code=status,
        message=messages.get(status, _("Error.")),
    )
    return HTMLResponse(page, status_code=status)
