"""The run lifecycle of one crawl: a `runs` row opened when the spider opens, closed with the
crawler's stats and finish reason when it closes (monitor.alerting.ingest.SweepRecorder judges it);
how much of the source's list a crawl read (ListCoverageExtension); and the records it logged,
by level (CrawlLogCount, in place of Scrapy's LogCount).

Settings: HEISHI_RECORD_RUNS (default True; False raises NotConfigured, for dry runs) and
HEISHI_DB (default monitor.config.db_path()). The store pipeline writes through `recorder`.
"""

from __future__ import annotations

import errno
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from scrapy import signals
from scrapy.exceptions import NotConfigured

from monitor.settings import under_scrapy_check

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

    from monitor.alerting.ingest import RunOutcome, SweepRecorder

log = logging.getLogger(__name__)


class SweepRunExtension:
    def __init__(self, crawler: Crawler, recorder: SweepRecorder) -> None:
        self.crawler = crawler
        self.recorder = recorder
        self.opened = False
        self.outcome: RunOutcome | None = None
        self.error: str | None = None
        self.exception: Exception | None = None  # why no run could be opened
        self.fatal_error: str | None = None  # why the crawl was stopped (a full disk)
        self.checked_removals = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not settings.getbool("HEISHI_RECORD_RUNS", True):
            raise NotConfigured("HEISHI_RECORD_RUNS is off")
        if under_scrapy_check():
            raise NotConfigured  # `scrapy check` runs contracts: nothing to record

        site = getattr(crawler.spidercls, "site", None)
        if site is None:
            raise NotConfigured("not a site spider")
        from monitor.alerting.ingest import SweepRecorder
        from monitor.config import db_path

        recorder = SweepRecorder(
            Path(db_path(settings.get("HEISHI_DB"))),
            source=site.name,
            kind=site.kind,
            url=site.url,
            removed_after_sweeps=site.removed_after_sweeps,
            list_may_shrink=site.list_may_shrink,
        )
        extension = cls(crawler, recorder)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(extension.item_error, signal=signals.item_error)
        crawler.signals.connect(extension.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(extension.item_scraped, signal=signals.item_scraped)
        return extension

    @classmethod
    def of(cls, crawler: Crawler) -> SweepRunExtension | None:
        """The crawler's instance of this extension, if it is enabled."""
        for extension in crawler.extensions.middlewares:
            if isinstance(extension, cls):
                return extension
        return None

    def spider_opened(self, spider: Spider) -> None:
        try:
            run_id = self.recorder.open()
        except Exception as exc:
            # Without a run nothing can be stored: stop now rather than drop every item.
            self.exception = exc
            self.error = f"cannot open a run in {self.recorder.db_path}: {exc}"
            log.error("%s", self.error, extra={"crawler": self.crawler})
            engine = self.crawler.engine
            assert engine is not None
            from scrapy.utils.defer import deferred_from_coro
            from twisted.internet import reactor as installed

            # Twisted's interfaces are zope ones, which mypy reads only with a plugin.
            reactor: Any = installed
            # After the engine has finished opening the spider.
            reactor.callLater(
                0, lambda: deferred_from_coro(engine.close_spider_async(reason="store_unavailable"))
            )
            return
        self.opened = True
        self.crawler.stats.set_value("heishi/run_id", run_id)

    def spider_idle(self, spider: Spider) -> None:
        """Before the crawl ends: the live listings it did not see on the list (at most
        HEISHI_CHECK_REMOVALS, default 50, the most recently seen first) are fetched on their
        own page. One that is still there is seen (a list that shifted while it was read, a
        thread bumped to a page already read); one whose page is gone or says so is removed
        when the run closes; one whose page fails makes the run partial. Forums and
        marketplaces only: channels and pastes are read from their list."""
        if self.checked_removals or not self.opened or self.fatal_error is not None:
            return
        self.checked_removals = True
        site = getattr(spider, "site", None)
        limit = self.crawler.settings.getint("HEISHI_CHECK_REMOVALS", 50)
        if site is None or limit <= 0 or site.kind not in ("forum", "marketplace"):
            return
        stats = self.crawler.stats
        from monitor.errors import StoreError

        try:
            if not self.recorder.complete_so_far(dict(stats.get_stats())):
                return  # partial or failed whatever the pages say: it removes nothing
            candidates = self.recorder.removal_candidates(limit)
        except StoreError as exc:
            self.stop_crawl(str(exc), "store_error")
            return
        if not candidates:
            return
        from scrapy.exceptions import DontCloseSpider

        engine = self.crawler.engine
        assert engine is not None
        for listing in candidates:
            meta = {
                "site_id": listing["site_id"],
                "url": listing["url"],
                "title": listing["title"],
                "seller": listing["seller"],
                "posted_at": listing["posted_at"],
                "extra": {},
            }
            request = spider.detail_request(listing["url"], meta)  # type: ignore[attr-defined]
            request.meta["heishi_removal_check"] = True
            engine.crawl(request.replace(dont_filter=True))
        stats.inc_value("heishi/removal_checks", len(candidates))
        log.info(
            "checking %d listing(s) not on the list on their own page",
            len(candidates),
            extra={"crawler": self.crawler},
        )
        raise DontCloseSpider

    def item_scraped(self, item: Any, response: Any, spider: Spider) -> None:
        if response is not None and response.meta.get("heishi_removal_check"):
            self.crawler.stats.inc_value("heishi/removal_checks_still_there")

    def stop_crawl(self, error: str, reason: str) -> None:
        """Nothing more can be stored (the disk is full, the run was taken away): say so in
        one line, once, and close the spider; the run is closed as failed with `error`."""
        if self.fatal_error is not None:
            return
        self.fatal_error = error
        log.error("%s", error, extra={"crawler": self.crawler})
        engine = self.crawler.engine
        if engine is not None:
            from scrapy.utils.defer import deferred_from_coro

            deferred_from_coro(engine.close_spider_async(reason=reason))

    def item_error(self, item: Any, response: Any, spider: Spider, failure: Any) -> None:
        """A pipeline that could not write a file (the evidence folder) on a full disk."""
        error = getattr(failure, "value", None)
        if isinstance(error, OSError) and error.errno == errno.ENOSPC:
            where = error.filename or self.recorder.db_path.parent
            self.stop_crawl(f"disk full ({where}): {error.strerror}", "disk_full")

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if not self.opened:
            return
        from monitor.errors import StoreError

        stats: dict[str, Any] = dict(self.crawler.stats.get_stats())
        try:
            self.outcome = self.recorder.close(
                stats, reason, self.fatal_error, fatal=self.fatal_error is not None
            )
        except StoreError as exc:  # not even a failed run could be written
            self.exception = exc
            self.error = str(exc)
            log.error(
                "run %s not closed: %s", self.recorder.run_id, exc, extra={"crawler": self.crawler}
            )
            return
        log.info(
            "run %s of %s: %s, %d item(s) %s%s",
            self.outcome.run_id,
            self.outcome.source,
            self.outcome.status,
            self.outcome.items,
            self.outcome.counts,
            f" ({self.outcome.error})" if self.outcome.error else "",
            extra={"crawler": self.crawler},
        )


class ListCoverageExtension:
    """Counts the list pages a crawl read (`heishi/list_pages`: distinct list pages that
    answered, a page fetched again after a log-in counted once), so the store can tell a
    sweep that read less of the list than the last complete one (a pager that vanished)
    from one that read all of it. List requests are the ones with `heishi_page` in their
    meta (spiders.kinds.base.SiteSpider.list_request). Also counts in distributed workers,
    whose stats are summed for the writer."""

    def __init__(self, stats: Any) -> None:
        self.stats = stats
        self.seen: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if getattr(crawler.spidercls, "site", None) is None:
            raise NotConfigured("not a site spider")
        extension = cls(crawler.stats)
        crawler.signals.connect(extension.response_received, signal=signals.response_received)
        return extension

    def response_received(self, response: Any, request: Any, spider: Spider) -> None:
        if "heishi_page" not in request.meta or response.status >= 400:
            return
        url = (request.meta.get("redirect_urls") or [request.url])[0]
        if url not in self.seen:
            self.seen.add(url)
            self.stats.inc_value("heishi/list_pages")


class CrawlLogCount:
    """`log_count/<LEVEL>`: the records this crawl logged, by level (the run is judged partial
    when it logged errors). Scrapy's LogCount counts every record the process logs, which in a
    warm crawl worker (spiders/crawl_worker.py) includes the other crawls': a source that was
    down made the crawls beside it partial, and a partial sweep removes nothing. A record that
    names another crawl's spider or crawler is not counted; one that names none (a library's,
    a Twisted error) is, in every crawl running then: it may be theirs."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.handler: _CrawlCounter | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        extension = cls(crawler)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self, spider: Spider) -> None:
        self.handler = _CrawlCounter(self.crawler, self.crawler.settings.get("LOG_LEVEL"))
        logging.root.addHandler(self.handler)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.handler is not None:
            logging.root.removeHandler(self.handler)
            self.handler = None


class _CrawlCounter(logging.Handler):
    def __init__(self, crawler: Crawler, level: int | str) -> None:
        super().__init__(level)
        self.crawler = crawler

    def filter(self, record: logging.LogRecord) -> bool:
        return of_crawler(record, self.crawler) is not False

    def emit(self, record: logging.LogRecord) -> None:
        stats = self.crawler.stats
        if stats is not None:
            stats.inc_value(f"log_count/{record.levelname}")


def of_crawler(record: logging.LogRecord, crawler: Any) -> bool | None:
    """Whether `record` was logged by `crawler`'s crawl: None when it names no crawl."""
    spider = getattr(record, "spider", None)
    if spider is not None:
        return spider is getattr(crawler, "spider", None)
    named = getattr(record, "crawler", None)
    if named is not None:
        return named is crawler
    return None
