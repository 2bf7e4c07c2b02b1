"""The three demo sites as real HTTP servers on 127.0.0.1, one daemon thread each.

with DemoSites(day=1) as sites:
    sites.urls      # {"forum": "http://127.0.0.1:P1", "market": ..., "channel": ...}
    sites.env()     # {"HEISHI_DEMO_FORUM_URL": ..., ...}
    sites.set_day(2)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from monitor.demo import channel, forum, market
from monitor.demo.content import DAYS, SITES, site_down
from monitor.demo.response import Response, error_page

log = logging.getLogger(__name__)

Renderer = Callable[[str, int], Response]
RENDERERS: dict[str, Renderer] = {
    "forum": forum.respond,
    "market": market.respond,
    "channel": channel.respond,
}
ENV_NAMES = {site: f"HEISHI_DEMO_{site.upper()}_URL" for site in SITES}


class _Handler(BaseHTTPRequestHandler):
    site: str
    sites: DemoSites
    server_version = "demo"

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        day = self.sites.day
        if site_down(self.site, day):
            response = error_page(503, "Service Temporarily Unavailable")
        else:
            try:
                response = RENDERERS[self.site](self.path, day)
            except Exception:  # a bug in a renderer must show as a 500, not a hang
                log.exception("demo %s failed on %s", self.site, self.path)
                response = error_page(500, "Internal Server Error")
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("demo %s: " + format, self.site, *args)


class DemoSites:
    """The forum, marketplace and channel demo servers, all showing the same `day`."""

    def __init__(self, day: int = 1) -> None:
        self._check_day(day)
        self.day = day
        self.urls: dict[str, str] = {}
        self._servers: list[tuple[ThreadingHTTPServer, threading.Thread]] = []

    @staticmethod
    def _check_day(day: int) -> None:
        if day not in DAYS:
            raise ValueError(f"demo day must be one of {DAYS}, not {day!r}")

    def set_day(self, day: int) -> None:
        self._check_day(day)
        self.day = day

    def start(self) -> DemoSites:
        if self._servers:
            return self
        for site in SITES:
            handler = type(f"{site.title()}Handler", (_Handler,), {"site": site, "sites": self})
            server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
            server.daemon_threads = True
            thread = threading.Thread(target=server.serve_forever, name=f"demo-{site}", daemon=True)
            thread.start()
            self._servers.append((server, thread))
            self.urls[site] = f"http://127.0.0.1:{server.server_address[1]}"
        return self

    def stop(self) -> None:
        for server, thread in self._servers:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
        self._servers = []
        self.urls = {}

    def env(self) -> dict[str, str]:
        """Environment variables that point the demo site files at these servers."""
        return {ENV_NAMES[site]: url for site, url in self.urls.items()}

    def __enter__(self) -> DemoSites:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
