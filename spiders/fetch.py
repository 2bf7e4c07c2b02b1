"""One page fetched for `heishi sources new`: over plain HTTP, or rendered by Chromium when
asked, decoded the way a crawl decodes it (the declared charset, corrected when it lies)."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from http.client import HTTPMessage
from typing import IO
from urllib.parse import urlsplit

from monitor.errors import SourceError

MAX_BYTES = 8 * 1024 * 1024  # a list page larger than this is not a list page
TIMEOUT = 30.0


@dataclass(frozen=True)
class FetchedHtml:
    url: str  # where the page was, after redirects
    html: str
    encoding: str


class _SameSite(urllib.request.HTTPRedirectHandler):
    """Redirects only to the host and port asked for: a page cannot send the operator's
    machine to another (a service on its network)."""

    def __init__(self, url: str) -> None:
        self.origin = _origin(url)

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        if _origin(newurl) != self.origin:
            raise SourceError("new", f"redirects to another site: {newurl}", url=req.full_url)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _origin(url: str) -> tuple[str, int | None]:
    """Host and port; the default ports count as one (sites move from http to https)."""
    parts = urlsplit(url)
    port = parts.port if parts.port not in (80, 443) else None
    return (parts.hostname or "", port)


def fetch_html(url: str, *, render: bool = False, timeout: float = TIMEOUT) -> FetchedHtml:
    """The page at `url` as text (redirects only within its site). Raises SourceError
    naming the URL when it cannot be read."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise SourceError("new", "is not an http(s) address", url=url)
    if render:
        return _rendered(url, timeout)
    from scrapy.http import HtmlResponse

    from spiders.encoding import best_encoding
    from spiders.settings import USER_AGENT

    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
    opener = urllib.request.build_opener(_SameSite(url))
    try:
        with opener.open(request, timeout=timeout) as answer:
            body = answer.read(MAX_BYTES + 1)
            final, content_type = answer.geturl(), answer.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        raise SourceError("new", f"answered HTTP {exc.code}", url=url) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SourceError("new", f"could not be fetched: {reason}", url=url) from None
    if len(body) > MAX_BYTES:
        raise SourceError("new", f"is larger than {MAX_BYTES // 1024 // 1024} MB", url=url)
    response = HtmlResponse(final, body=body, headers={"Content-Type": content_type})
    encoding = best_encoding(response)
    if encoding is not None:
        response = response.replace(encoding=encoding)
    return FetchedHtml(final, response.text, response.encoding)


def _rendered(url: str, timeout: float) -> FetchedHtml:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    from spiders.settings import PLAYWRIGHT_LAUNCH_OPTIONS

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(**PLAYWRIGHT_LAUNCH_OPTIONS)
            try:
                page = browser.new_page()
                page.goto(url, timeout=timeout * 1000, wait_until="networkidle")
                return FetchedHtml(page.url, page.content(), "utf-8")
            finally:
                browser.close()
    except PlaywrightError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SourceError("new", f"could not be rendered: {first}", url=url) from None
