"""A local site for tests and benchmarks: `LocalServer` serves a dict of pages ({"/path?query":
Page or a callable returning one}) from a ThreadingHTTPServer on 127.0.0.1, port 0, in a thread."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Page:
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


def html_page(
    text: str, *, charset: str | None = "utf-8", encoding: str | None = None, status: int = 200
) -> Page:
    """`text` encoded with `encoding` (default: `charset`); the header declares `charset`, or
    no charset at all when it is None."""
    content_type = f"text/html; charset={charset}" if charset else "text/html"
    return Page(text.encode(encoding or charset or "utf-8"), status, {"Content-Type": content_type})


@dataclass
class Received:
    """A request as the server saw it, for routes that look at it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""

    def form(self) -> dict[str, str]:
        from urllib.parse import parse_qsl

        return dict(parse_qsl(self.body.decode("utf-8", "replace")))

    def cookies(self) -> dict[str, str]:
        from http.cookies import SimpleCookie

        jar = SimpleCookie(self.headers.get("Cookie", ""))
        return {name: morsel.value for name, morsel in jar.items()}


# A Page, a callable returning one, or a callable taking the Received request.
Route = Page | Callable[[], Page] | Callable[[Received], Page]


def _answer(route: Route | None, received: Received) -> Page | None:
    if not callable(route):
        return route
    import inspect

    if inspect.signature(route).parameters:
        return route(received)  # type: ignore[call-arg]
    return route()  # type: ignore[call-arg]


class LocalServer:
    """Serves `pages` ({"/path?query": Page or a callable returning one}); 404 otherwise.
    GET and POST (a callable route may take the `Received` request). `hits` counts requests
    per path, for asserting what a crawl fetched."""

    def __init__(self, pages: Mapping[str, Route] | None = None) -> None:
        self.pages: dict[str, Route] = dict(pages or {})
        self.hits: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start the server first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> LocalServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                received = Received(self.command, self.path, dict(self.headers.items()), body)
                with owner._lock:
                    owner.hits[self.path] = owner.hits.get(self.path, 0) + 1
                page = _answer(owner.pages.get(self.path), received)
                if page is None:
                    page = html_page("<h1>Not Found</h1>", status=404)
                self.send_response(page.status)
                for name, value in page.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(page.body)))
                self.end_headers()
                self.wfile.write(page.body)

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()


def closed_port_url() -> str:
    """An address on 127.0.0.1 where nothing listens (a site that is down)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
