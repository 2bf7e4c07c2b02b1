"""The review web app: a small Starlette app with server-rendered Jinja2 pages.

`create_app(db_path)` builds it; `heishi serve` runs it with uvicorn. Every response carries
security headers with a strict Content-Security-Policy (scripts and styles only from this
server, nothing inline); the raw evidence page sets its own, stricter one.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitor.store import open_store
from monitor.web import admin, alert, auth, queue
from monitor.web.endpoint import WEB_DIR, Web, static_version

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


def evidence_dir(db_path: Path) -> Path:
    """Where evidence files live: monitor.evidence decides; beside the store otherwise."""
    try:
        from monitor.evidence import evidence_dir as decided
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
    env.filters["when"] = _when
    env.filters["number"] = _number
    env.filters["json_list"] = _json_list
    env.globals["static_version"] = static_version()
    return env


def _when(value: str | None, full: bool = False) -> str:
    """2026-11-23T08:00:00Z as 11-23 08:00 (or the full date and time)."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return moment.strftime("%Y-%m-%d %H:%M" if full else "%m-%d %H:%M")


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


def create_app(db_path: str | Path) -> ASGIApp:
    """The web app over the store at `db_path` (created and migrated if needed)."""
    db_path = Path(db_path)
    open_store(db_path).close()  # create or upgrade once, before any read-only request
    web = Web(
        db_path=db_path,
        sessions=auth.Sessions(auth.web_secret(db_path)),
        templates=templates(),
        evidence_dir=evidence_dir(db_path),
    )
    routes = [
        Route("/", queue.queue_page),
        Route("/login", admin.login, methods=["GET", "POST"]),
        Route("/logout", admin.logout, methods=["POST"]),
        Route("/alerts/bulk", queue.bulk_triage, methods=["POST"]),
        Route("/alerts/{alert_id}", alert.alert_page),
        Route("/alerts/{alert_id}/triage", alert.triage, methods=["POST"]),
        Route("/alerts/{alert_id}/assign", alert.assign, methods=["POST"]),
        Route("/alerts/{alert_id}/note", alert.add_note, methods=["POST"]),
        Route("/alerts/{alert_id}/case.json", alert.case_json),
        Route("/alerts/{alert_id}/case", alert.case_page),
        Route("/evidence/{version_id}/page", alert.evidence_page),
        Route("/evidence/{version_id}/screenshot", alert.evidence_screenshot),
        Route("/sources", admin.sources_page),
        Route("/keywords", admin.keywords_page, methods=["GET", "POST"]),
        Route("/users", admin.users_page, methods=["GET", "POST"]),
        Mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_error},
    )
    app.state.web = web
    return SecurityHeaders(app)


async def _http_error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500)
    page = request.app.state.web.templates.get_template("error.html").render(
        ctx=None,
        user=None,
        csrf="",
        path=request.url.path,
        status_code=status,
        message={404: "There is no such page.", 405: "Not allowed here."}.get(status, "Error."),
    )
    return HTMLResponse(page, status_code=status)
