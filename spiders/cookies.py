"""Cookies kept between runs: a jar per source beside the store, plus a site's cookies file.

A store `heishi.db` keeps source `bbs`'s cookies in `heishi-cookies/bbs.txt` (Netscape
cookies.txt format, mode 0600: a session cookie is as good as a password). The jar is read
when the crawl starts and written when it ends, session cookies included, so a log-in
survives from one sweep to the next. A site file's `cookies_file` (exported from a browser,
same format) is read too.

Settings: HEISHI_KEEP_COOKIES (default True; False reads the jar but never writes it, as
`heishi sources check` does), HEISHI_DB.
"""

from __future__ import annotations

import logging
import os
from http.cookiejar import Cookie, LoadError, MozillaCookieJar
from pathlib import Path
from typing import TYPE_CHECKING, Self

from scrapy import signals
from scrapy.downloadermiddlewares.cookies import CookiesMiddleware

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

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


def save_cookies(cookies: list[Cookie], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    jar = MozillaCookieJar(str(path))
    for cookie in cookies:
        jar.set_cookie(cookie)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    jar.save(str(temporary), ignore_discard=True, ignore_expires=False)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


class PersistentCookiesMiddleware(CookiesMiddleware):
    """Scrapy's CookiesMiddleware, with the default jar read at the start and kept at the end."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        middleware = super().from_crawler(crawler)
        site = getattr(crawler.spidercls, "site", None)
        middleware.jar_path = None
        # `scrapy check` (contracts on fixture pages) keeps nothing either.
        middleware.keep = crawler.settings.getbool(
            "HEISHI_KEEP_COOKIES", True
        ) and not os.environ.get("SCRAPY_CHECK")
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
        crawler.stats.set_value("heishi/cookies_restored", restored)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

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
