"""What every call of the JSON API under /api/ shares: the API token, the throttle, roles,
strict parameters and JSON errors.

A call is authenticated by a per-user token (`heishi users token NAME`) in
`Authorization: Bearer TOKEN`, and only by that: session cookies are never read here, so a
page on another site that makes a logged-in browser send a request carries no credential,
and CSRF tokens do not apply. A missing token is 401; an unknown or revoked token, or one of
a disabled user, is 401 and counts as a failed log-in of the client's address in the store
(monitor/web/throttle.py): past the free failures every call from that address, with a good
token or not, is 429 with Retry-After until the wait has run, as on the log-in page. Each
user has at most MAX_REQUESTS_PER_USER calls running at once, and reads stop after the
app's query time, as for pages.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from monitor.numbers import NotANumber, whole_number
from monitor.store import Store, utc_now
from monitor.web import auth
from monitor.web.endpoint import MAX_REQUESTS_PER_USER, Web
from monitor.web.tokens import looks_like_token, token_hash


class ApiError(Exception):
    """A call that cannot be answered: its status and why, as JSON."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass
class ApiContext:
    """One API call as a view sees it."""

    request: Request
    web: Web
    user: dict[str, Any] | None
    body: dict[str, Any] = field(default_factory=dict)
    allowed: tuple[str, ...] = ()  # the query parameters this call takes

    @property
    def actor(self) -> str:
        return self.user["name"] if self.user else "anonymous"

    @contextmanager
    def store(self, *, write: bool = False) -> Iterator[Store]:
        store = self.web.store(write=write)
        if not write:
            store.limit_time(self.web.query_seconds)
        try:
            yield store
        finally:
            store.close()

    def param(self, name: str, default: str = "") -> str:
        assert name in self.allowed, name
        return (self.request.query_params.get(name) or default).strip()

    def choice(self, name: str, choices: tuple[str, ...] | list[str]) -> str | None:
        """A query parameter that must be one of `choices` (absent: None)."""
        value = self.param(name)
        if not value:
            return None
        if value not in choices:
            raise ApiError(400, f"{name} must be one of: {', '.join(choices)}")
        return value

    def number(self, name: str, default: int, *, minimum: int = 0, maximum: int) -> int:
        value = self.param(name)
        if not value:
            return default
        try:
            return whole_number(value, minimum=minimum, maximum=maximum)
        except NotANumber:
            raise ApiError(
                400, f"{name} must be a whole number from {minimum} to {maximum}"
            ) from None

    def path_id(self, name: str) -> int:
        try:
            return whole_number(self.request.path_params.get(name))
        except NotANumber:
            raise ApiError(404, f"there is no such {name.removesuffix('_id')}") from None


ApiView = Callable[[ApiContext], Any]


def api_endpoint(role: str | None = "viewer", params: tuple[str, ...] = ()) -> Callable[..., Any]:
    """Wrap an API view: the token and the throttle (unless `role` is None: a public call),
    the role, the query parameters it takes (others are 400), a JSON body for POST, and
    the view's answer (a dict, or an ApiError) as JSON."""

    def wrap(view: ApiView) -> Callable[..., Any]:
        async def handler(request: Request) -> Response:
            web: Web = request.app.state.web
            ctx = ApiContext(request, web, None, allowed=params)
            try:
                unknown = sorted(set(request.query_params) - set(params))
                if unknown:
                    raise ApiError(
                        400,
                        f"unknown parameter {unknown[0]!r}"
                        + (f"; this call takes: {', '.join(params)}" if params else ""),
                    )
                if role is not None:
                    ctx.user = await run_in_threadpool(_authenticate, web, request)
                    if not auth.allowed(ctx.user["role"], role):
                        raise ApiError(
                            403, f"{ctx.user['name']} is a {ctx.user['role']}; this needs {role}"
                        )
                if request.method == "POST":
                    ctx.body = await _json_body(request)
                return await _run(view, ctx)
            except ApiError as exc:
                return error_response(exc)

        handler.__name__ = view.__name__
        handler.__doc__ = view.__doc__
        return handler

    return wrap


def error_response(exc: ApiError) -> JSONResponse:
    return JSONResponse({"error": exc.message}, status_code=exc.status, headers=exc.headers)


async def _run(view: ApiView, ctx: ApiContext) -> Response:
    name = ctx.user["name"] if ctx.user else None
    if name is not None:
        if ctx.web.in_flight.get(name, 0) >= MAX_REQUESTS_PER_USER:
            raise ApiError(429, "too many calls at once: wait for the others", {"Retry-After": "1"})
        ctx.web.in_flight[name] = ctx.web.in_flight.get(name, 0) + 1
    try:
        answer = await run_in_threadpool(view, ctx)
    except sqlite3.OperationalError as exc:
        if "interrupted" not in str(exc):
            raise
        raise ApiError(503, "the query took too long: narrow the filters") from None
    finally:
        if name is not None:
            ctx.web.in_flight[name] -= 1
            if not ctx.web.in_flight[name]:
                del ctx.web.in_flight[name]
    if isinstance(answer, Response):
        return answer
    return JSONResponse(answer)


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise ApiError(400, "the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body


def bearer_token(request: Request) -> str | None:
    """The token of `Authorization: Bearer TOKEN`, or None."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _authenticate(web: Web, request: Request) -> dict[str, Any]:
    """The token's user ({name, role}), or ApiError 401 or 429."""
    address = request.client.host if request.client else "unknown"
    now = time.time()
    with web.store() as store:
        wait = web.throttle.wait_for(store, address, now)
        if wait > 0:
            raise _too_many(wait)
        token = bearer_token(request)
        if token is None:
            raise ApiError(
                401,
                "an API token is needed: send Authorization: Bearer TOKEN "
                "(heishi users token NAME makes one)",
                {"WWW-Authenticate": 'Bearer realm="heishi"'},
            )
        owner = store.api_tokens.owner(token_hash(token)) if looks_like_token(token) else None
    if owner is None or owner["revoked_at"] or owner["disabled"]:
        with web.store(write=True) as store:
            wait = web.throttle.attempt(store, None, address, now)  # counts a failure
        if wait > 0:
            raise _too_many(wait)
        raise ApiError(
            401,
            "the API token is not valid: unknown, revoked, or its user is disabled",
            {"WWW-Authenticate": 'Bearer realm="heishi", error="invalid_token"'},
        )
    minute_ago = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 60))
    if (owner["last_used_at"] or "") < minute_ago:  # a write at most once a minute per token
        with web.store(write=True) as store:
            store.api_tokens.mark_used(owner["token_id"], now=utc_now(), unless_since=minute_ago)
    return {"name": owner["name"], "role": owner["role"]}


def _too_many(wait: float) -> ApiError:
    return ApiError(
        429,
        "too many failed attempts from this address: wait and try again",
        {"Retry-After": str(max(1, math.ceil(wait)))},
    )
