"""Requests in a distributed sweep's queue as JSON, never pickle (scrapy-redis'
SCHEDULER_SERIALIZER: this module's `dumps` and `loads`).

scrapy-redis falls back to pickle, and unpickling runs whatever the bytes say: anyone who could
write to the queue ran code on every worker. Here a request is `Request.to_dict()` written as
JSON, and only the types heishi's requests carry are understood: JSON's own, bytes, tuples,
dicts with bytes keys (headers), scrapy-playwright's PageMethod (the page methods heishi
uses: Playwright's own by name, heishi's masked screenshot by its import path) and a nested
Request (a log-in's `heishi_then`). Anything else is refused when queued
(a programming error, named by its meta key) and when read (a hostile entry). Request classes
are Scrapy's own, callbacks are spider method names. The queue signs what this module writes
(spiders/distributed/scheduler.py, monitor.running.payload_signing).
"""

from __future__ import annotations

import base64
import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scrapy import Request, Spider

# The request classes a queued request may be (`_class` in Request.to_dict()).
REQUEST_CLASSES = {
    "scrapy.http.request.form.FormRequest": "scrapy.http.FormRequest",
    "scrapy.http.request.json_request.JsonRequest": "scrapy.http.JsonRequest",
}
# scrapy-playwright page methods heishi uses (spiders/kinds/base.py, spiders/screenshots.py):
# Playwright Page methods by name (never `evaluate`: it runs JavaScript), and functions by
# their import path.
PAGE_METHODS = frozenset({"wait_for_selector", "wait_for_load_state", "screenshot"})
PAGE_FUNCTIONS = frozenset({"spiders.screenshots.masked_screenshot"})
_CALLBACK = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")
_MAX_DEPTH = 20


class UnsafeRequest(ValueError):
    """A queued request that holds something other than plain data."""


def dumps(obj: dict[str, Any]) -> bytes:
    """A request dict (Request.to_dict()) as JSON bytes."""
    return json.dumps(_plain(obj, "request", 0), ensure_ascii=False, separators=(",", ":")).encode()


def loads(data: bytes, spider: Spider | None = None) -> dict[str, Any]:
    """The request dict in `data`; nested requests are rebuilt with `spider`'s callbacks."""
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UnsafeRequest(f"not JSON: {exc}") from None
    restored = _restore(obj, spider, 0)
    if not isinstance(restored, dict):
        raise UnsafeRequest("not a request")
    return restored


def encode_request(request: Request, spider: Spider) -> bytes:
    return dumps(request.to_dict(spider=spider))


def decode_request(data: bytes, spider: Spider) -> Request:
    return _request_from_dict(loads(data, spider), spider)


def _request_from_dict(d: dict[str, Any], spider: Spider | None) -> Request:
    from scrapy.utils.request import request_from_dict

    if not isinstance(d.get("url"), str):
        raise UnsafeRequest("a request without a url")
    name = d.get("_class")
    if name is not None and name not in REQUEST_CLASSES:
        raise UnsafeRequest(f"request class {str(name)[:80]!r} is not allowed")
    for key in ("callback", "errback"):
        value = d.get(key)
        if value is not None and not (isinstance(value, str) and _CALLBACK.match(value)):
            raise UnsafeRequest(f"{key} {str(value)[:80]!r} is not a spider method name")
    if name is not None:
        d = {**d, "_class": REQUEST_CLASSES[name]}
    try:
        return request_from_dict(d, spider=spider)
    except (TypeError, ValueError, AttributeError) as exc:
        raise UnsafeRequest(f"cannot rebuild the request: {exc}") from None


def _plain(value: Any, where: str, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise UnsafeRequest(f"{where}: nested too deeply")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes):
        return {"$b": base64.b64encode(value).decode("ascii")}
    if isinstance(value, list):
        return [_plain(v, where, depth + 1) for v in value]
    if isinstance(value, tuple):
        return {"$t": [_plain(v, where, depth + 1) for v in value]}
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {k: _plain(v, f"{where}.{k}", depth + 1) for k, v in value.items()}
        return {
            "$d": [
                [_plain(k, where, depth + 1), _plain(v, f"{where}.{k!r}", depth + 1)]
                for k, v in value.items()
            ]
        }
    from scrapy import Request
    from scrapy_playwright.page import PageMethod

    if isinstance(value, PageMethod):
        method = value.method
        if not isinstance(method, str):
            method = f"{getattr(method, '__module__', '')}.{getattr(method, '__qualname__', '')}"
            if method not in PAGE_FUNCTIONS:
                raise UnsafeRequest(f"{where}: page function {method} cannot be queued")
        # The result is left out: the method runs again when the request is fetched.
        return {
            "$pm": [method, _plain(list(value.args), where, depth + 1)],
            "kw": _plain(value.kwargs, where, depth + 1),
        }
    if isinstance(value, Request):
        spider = getattr(value.callback, "__self__", None)
        return {"$rq": _plain(value.to_dict(spider=spider), where, depth + 1)}
    raise UnsafeRequest(
        f"{where}: a {type(value).__name__} cannot be queued in Redis (JSON data only)"
    )


def _restore(value: Any, spider: Spider | None, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise UnsafeRequest("nested too deeply")
    if isinstance(value, list):
        return [_restore(v, spider, depth + 1) for v in value]
    if not isinstance(value, dict):
        return value
    tags = [k for k in value if k.startswith("$")]
    if not tags:
        return {k: _restore(v, spider, depth + 1) for k, v in value.items()}
    tag = tags[0]
    body = value[tag]
    try:
        if tag == "$b" and len(value) == 1:
            return base64.b64decode(body, validate=True)
        if tag == "$t" and len(value) == 1:
            return tuple(_restore(body, spider, depth + 1))
        if tag == "$d" and len(value) == 1:
            return {_restore(k, spider, depth + 1): _restore(v, spider, depth + 1) for k, v in body}
        if tag == "$pm" and set(value) == {"$pm", "kw"}:
            return _page_method(body, value["kw"], spider, depth)
        if tag == "$rq" and len(value) == 1:
            inner = _restore(body, spider, depth + 1)
            if not isinstance(inner, dict):
                raise UnsafeRequest("a nested request that is not a dict")
            return _request_from_dict(inner, spider)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, UnsafeRequest):
            raise
        raise UnsafeRequest(f"malformed {tag}: {exc}") from None
    raise UnsafeRequest(f"unknown tag {tag[:20]!r}")


def _page_method(body: Any, kwargs: Any, spider: Spider | None, depth: int) -> Any:
    from scrapy.utils.misc import load_object
    from scrapy_playwright.page import PageMethod

    method, args = body
    args = _restore(args, spider, depth + 1)
    kwargs = _restore(kwargs, spider, depth + 1)
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise UnsafeRequest("a malformed page method")
    if method in PAGE_FUNCTIONS:
        return PageMethod(load_object(method), *args, **kwargs)
    if method not in PAGE_METHODS:
        raise UnsafeRequest(f"page method {str(method)[:60]!r} is not allowed")
    return PageMethod(method, *args, **kwargs)
