"""Cookies kept between runs: a jar per source beside the store, plus a site's cookies file.

A store `heishi.db` keeps source `bbs`'s cookies in `heishi-cookies/bbs.txt` (Netscape
cookies.txt format, mode 0600: a session cookie is as good as a password). The jar is read
when the crawl starts and written when it ends, session cookies included, so a log-in
survives from one sweep to the next. A site file's `cookies_file` (exported from a browser,
same format) is read too.

A site may try to flood the jar (hundreds of large cookies that grow the file and break the
next sweep's requests): cookies are capped per domain (HEISHI_COOKIES_PER_DOMAIN), per
cookie (HEISHI_COOKIE_MAX_BYTES, name and value) and for the whole jar
(HEISHI_COOKIE_JAR_MAX_BYTES). The cookies a jar already held are kept first (a log-in's
session survives a flood); the rest are dropped, counted in `heishi/cookies_dropped` and
logged. The same caps apply to a jar or `cookies_file` as it is read.

Settings: HEISHI_KEEP_COOKIES (default True; False reads the jar but never writes it, as
`heishi sources check` does), HEISHI_DB, and the caps above.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from http.cookiejar import Cookie, CookieJar, LoadError, MozillaCookieJar
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from scrapy import signals
from scrapy.downloadermiddlewares.cookies import CookiesMiddleware

from monitor.settings import under_scrapy_check

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response
    from scrapy.statscollectors import StatsCollector

log = logging.getLogger(__name__)


def cookie_jar_path(db_path: str | os.PathLike[str], source: str) -> Path:
    """Where the cookies of `source` are kept for the store at `db_path`."""
    db = Path(db_path)
    return db.parent / f"{db.stem}-cookies" / f"{source}.txt"


def load_cookies(path: Path) -> list[Cookie]:
    """The unexpired cookies of a cookies.txt file (an expiry of 0 means a session cookie,
    as browsers and curl export them)."""
    jar = MozillaCookieJar(str(path))
    jar.load(ignore_discard=True, ignore_expires=True)
    cookies = []
    for cookie in jar:
        if cookie.expires == 0:
            cookie.expires, cookie.discard = None, True
        elif cookie.is_expired():
            continue
        cookies.append(cookie)
    return cookies


@dataclass(frozen=True)
class CookieCaps:
    """How many cookies, and how large, one jar may hold."""

    per_domain: int = 50
    cookie_bytes: int = 4096
    jar_bytes: int = 32768

    @classmethod
    def from_settings(cls, settings: Any) -> CookieCaps:
        return cls(
            settings.getint("HEISHI_COOKIES_PER_DOMAIN", 50),
            settings.getint("HEISHI_COOKIE_MAX_BYTES", 4096),
            settings.getint("HEISHI_COOKIE_JAR_MAX_BYTES", 32768),
        )


def cookie_size(cookie: Cookie) -> int:
    return len(cookie.name) + len(cookie.value or "")


def _key(cookie: Cookie) -> tuple[str, str, str]:
    return cookie.domain, cookie.path, cookie.name


def over_caps(cookies: Iterable[Cookie], caps: CookieCaps, kept_first: set[Any]) -> list[Cookie]:
    """The cookies to drop so that the rest fit `caps`: any cookie too large, then, per domain
    and for the whole jar, the ones not in `kept_first`, newest first."""
    ordered = sorted(cookies, key=lambda c: _key(c) not in kept_first)  # stable: old first
    dropped: list[Cookie] = []
    per_domain: dict[str, int] = {}
    total = 0
    for cookie in ordered:
        size = cookie_size(cookie)
        count = per_domain.get(cookie.domain, 0)
        if size > caps.cookie_bytes or count >= caps.per_domain or total + size > caps.jar_bytes:
            dropped.append(cookie)
            continue
        per_domain[cookie.domain] = count + 1
        total += size
    return dropped


def save_cookies(cookies: list[Cookie], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    jar = MozillaCookieJar(str(path))
    for cookie in cookies:
        jar.set_cookie(cookie)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    jar.save(str(temporary), ignore_discard=True, ignore_expires=False)
    temporary.chmod(0o600)
    temporary.replace(path)


class PersistentCookiesMiddleware(CookiesMiddleware):
    """Scrapy's CookiesMiddleware, with the default jar read at the start and kept at the end."""

    jar_path: Path | None
    caps: CookieCaps
    stats: StatsCollector
    keep: bool

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        middleware = super().from_crawler(crawler)
        site = getattr(crawler.spidercls, "site", None)
        middleware.jar_path = None
        middleware.caps = CookieCaps.from_settings(crawler.settings)
        middleware.stats = crawler.stats
        # `scrapy check` (contracts on fixture pages) keeps nothing either.
        middleware.keep = (
            crawler.settings.getbool("HEISHI_KEEP_COOKIES", True) and not under_scrapy_check()
        )
        if site is None:
            return middleware
        from monitor.config import db_path

        middleware.jar_path = cookie_jar_path(db_path(crawler.settings.get("HEISHI_DB")), site.name)
        restored = 0
        for path in (site.cookies_file, middleware.jar_path):
            if path is None or not path.exists():
                if path is not None and path == site.cookies_file:
                    log.warning("%s: cookies_file %s does not exist", site.name, path)
                continue
            try:
                loaded = load_cookies(path)
            except (LoadError, OSError) as exc:
                log.warning("%s: cannot read cookies from %s: %s", site.name, path, exc)
                continue
            for cookie in loaded:
                middleware.jars[None].jar.set_cookie(cookie)
                restored += 1
        restored -= middleware.cap(middleware.jars[None].jar, set(), f"restored for {site.name}")
        crawler.stats.set_value("heishi/cookies_restored", restored)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if not response.headers.getlist(b"Set-Cookie"):
            return super().process_response(request, response)
        jar = self.jars[request.meta.get("cookiejar")].jar
        before = {_key(c) for c in jar}
        result = super().process_response(request, response)
        self.cap(jar, before, f"set by {response.url[:200]}")
        return result

    def cap(self, jar: CookieJar, kept_first: set[Any], where: str) -> int:
        """Drop the cookies over the caps from `jar`; returns how many."""
        dropped = over_caps(list(jar), self.caps, kept_first)
        for cookie in dropped:
            jar.clear(cookie.domain, cookie.path, cookie.name)
        if dropped:
            self.stats.inc_value("heishi/cookies_dropped", len(dropped))
            log.warning(
                "dropped %d cookie(s) %s: over the caps (%d per domain, %d bytes each, %d in all)",
                len(dropped),
                where,
                self.caps.per_domain,
                self.caps.cookie_bytes,
                self.caps.jar_bytes,
            )
        return len(dropped)

    def spider_closed(self, spider: Spider) -> None:
        if not self.keep or self.jar_path is None:
            return
        cookies = list(self.jars[None].jar)
        if not cookies and not self.jar_path.exists():
            return
        try:
            save_cookies(cookies, self.jar_path)
        except OSError as exc:
            log.warning("cannot keep cookies in %s: %s", self.jar_path, exc)
