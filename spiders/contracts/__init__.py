"""Scrapy contracts for every spider kind, checked offline: `scrapy check`.

A callback's docstring says `@fixture list` (or `detail`, `detail.txt`): the contract serves
the fixture page for the spider's site from `spiders/contracts/fixtures/` on 127.0.0.1 (a
server started on first use, port 0) and points the sample request at it. The page is looked
up as `<site name>/<page>`, then `<preset>/<page>`, then `<kind>/<page>`; a site with neither is not checked (its
callbacks' contracts are skipped, as Scrapy skips a contract without a URL). Detail callbacks
get the `listing` meta a list page would have passed.

`scrapy check` checks the site files in use (the demo sites by default);
`HEISHI_SITES_DIR=spiders/contracts/sites scrapy check` checks one site per kind and preset.
"""

from __future__ import annotations

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from scrapy.contracts import Contract

FIXTURES = Path(__file__).resolve().parent / "fixtures"
_server: ThreadingHTTPServer | None = None
_lock = threading.Lock()


class _FixtureHandler(SimpleHTTPRequestHandler):
    extensions_map = {  # noqa: RUF012 - the handler's own class attribute
        ".html": "text/html; charset=utf-8",
        ".txt": "text/plain; charset=utf-8",
        "": "application/octet-stream",
    }

    def log_message(self, *args: Any) -> None:
        pass


def fixture_server_url() -> str:
    """The address of the fixture server (started on first use, in a daemon thread)."""
    global _server
    with _lock:
        if _server is None:
            handler = partial(_FixtureHandler, directory=str(FIXTURES))
            _server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
            _server.daemon_threads = True
            threading.Thread(target=_server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{_server.server_address[1]}"


def fixture_path(site: Any, page: str) -> str | None:
    """The fixture `page` for `site`, relative to FIXTURES, or None."""
    name = page if "." in page else f"{page}.html"
    for folder in (site.name, site.preset, site.kind):
        if folder and (FIXTURES / folder / name).is_file():
            return f"{folder}/{name}"
    return None


class FixtureContract(Contract):
    """@fixture PAGE: the sample request fetches the site's fixture PAGE (list, detail ...)."""

    name = "fixture"

    def __init__(self, method: Any, *args: Any) -> None:
        super().__init__(method, *args)
        self.spider = getattr(method, "__self__", None)

    def adjust_request_args(self, args: dict[str, Any]) -> dict[str, Any]:
        site = getattr(self.spider, "site", None)
        page = self.args[0] if self.args else "list"
        path = fixture_path(site, page) if site is not None else None
        if path is None:
            return args  # no URL: Scrapy skips this callback's contracts
        args["url"] = f"{fixture_server_url()}/{path}"
        meta = dict(args.get("meta") or {})
        meta.setdefault("heishi_page", 1)
        if not page.startswith("list"):
            meta["listing"] = {"site_id": "fixture", "url": args["url"], "extra": {}}
        args["meta"] = meta
        return args
