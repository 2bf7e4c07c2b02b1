"""The Scrapy add-on that turns a crawl into a distributed-sweep worker (see __init__)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Self

from scrapy.exceptions import NotConfigured
from scrapy.settings import SETTINGS_PRIORITIES

from monitor.settings import under_scrapy_check
from spiders.distributed import redis_url

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

log = logging.getLogger(__name__)

_HERE = "spiders.distributed"


def _override(settings: BaseSettings, name: str, value: Any) -> None:
    # At least add-on priority, and never below what is there: the project's settings file
    # sets ITEM_PIPELINES and EXTENSIONS at project priority.
    priority = max(settings.getpriority(name) or 0, SETTINGS_PRIORITIES["addon"])
    settings.set(name, value, priority=priority)


class DistributedAddon:
    """Turns a crawl into a distributed-sweep worker when the Redis URL is set."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not redis_url(crawler.settings):
            raise NotConfigured  # today's single-process crawl, unchanged
        if under_scrapy_check() or crawler.settings.getint("HEISHI_CHECK_ROWS", 0):
            raise NotConfigured  # `scrapy check` and `heishi sources check` stay local
        if getattr(crawler.spidercls, "site", None) is None:
            raise NotConfigured("not a site spider")
        return cls(crawler)

    def update_settings(self, settings: BaseSettings) -> None:
        from monitor.errors import HeishiError
        from monitor.running.distributed import redacted, sweep_key, valid_sweep_id
        from monitor.running.payload_signing import load_signer

        url = redis_url(settings)
        signer = load_signer(settings)  # no shared key, no distributed crawl
        sweep = settings.get("HEISHI_DISTRIBUTED_SWEEP") or self._new_sweep(url, signer)
        if not valid_sweep_id(sweep):
            raise HeishiError(f"HEISHI_DISTRIBUTED_SWEEP {sweep[:80]!r} is not a sweep id")
        settings.set("HEISHI_DISTRIBUTED_SWEEP", sweep, priority="cmdline")
        settings.set("HEISHI_DISTRIBUTED_REDIS_URL", url, priority="cmdline")
        for name, value in {
            "REDIS_URL": url,
            "SCHEDULER": f"{_HERE}.scheduler.LeasedScheduler",
            "SCHEDULER_QUEUE_CLASS": f"{_HERE}.scheduler.LeasedQueue",
            "SCHEDULER_QUEUE_KEY": sweep_key(sweep, "queue"),
            # JSON, never scrapy-redis' default pickle (LeasedQueue also signs and checks).
            "SCHEDULER_SERIALIZER": f"{_HERE}.serializer",
            "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
            "SCHEDULER_DUPEFILTER_KEY": sweep_key(sweep, "dupefilter"),
            # Belt and braces: scrapy-redis clears the queue on close unless told to keep it.
            "SCHEDULER_PERSIST": True,
            "HEISHI_RECORD_RUNS": False,  # the writer owns the run
        }.items():
            _override(settings, name, value)

        pipelines = dict(settings.getdict("ITEM_PIPELINES"))
        # The writer keeps evidence beside its store and writes the listings.
        pipelines["spiders.pipelines.EvidencePipeline"] = None
        pipelines["spiders.pipelines.StorePipeline"] = None
        pipelines[f"{_HERE}.pipelines.HandoffPipeline"] = 300
        _override(settings, "ITEM_PIPELINES", pipelines)
        extensions = dict(settings.getdict("EXTENSIONS"))
        extensions["spiders.extensions.SweepRunExtension"] = None
        _override(settings, "EXTENSIONS", extensions)
        middlewares = dict(settings.getdict("SPIDER_MIDDLEWARES"))
        middlewares[f"{_HERE}.middlewares.SeedOnceMiddleware"] = 10
        _override(settings, "SPIDER_MIDDLEWARES", middlewares)
        log.info("distributed sweep %s through %s", sweep, redacted(str(url)))

    def _new_sweep(self, url: str | None, signer: Any) -> str:
        from monitor.running.distributed import connect, start_sweep

        site = self.crawler.spidercls.site  # type: ignore[attr-defined]
        client = connect(str(url))
        return start_sweep(
            client, signer, site.name, site.kind, site.url, site.removed_after_sweeps
        )
