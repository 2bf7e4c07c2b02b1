"""One worker of a sweep sends its start requests; the others wait for the shared queue."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

log = logging.getLogger(__name__)


class SeedOnceMiddleware:
    """Every worker's crawl runs the spider's `start()`; only the one that claims the sweep's
    seeding passes its requests on (page 1 is never filtered as a duplicate, so two seeders
    would fetch it twice). The claim expires with a lease, so a seeder that dies before it
    finished is replaced (`heishi worker` starts a crawl for an unseeded sweep)."""

    def __init__(self, client: Any, sweep: str, worker: str, claim_seconds: float) -> None:
        self.client = client
        self.sweep = sweep
        self.worker = worker
        self.claim_seconds = claim_seconds

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        from monitor.running.distributed import DEFAULT_LEASE_SECONDS, connect
        from spiders.distributed import redis_url, worker_name

        settings = crawler.settings
        return cls(
            connect(str(redis_url(settings))),
            settings.get("HEISHI_DISTRIBUTED_SWEEP"),
            worker_name(settings),
            settings.getfloat("HEISHI_DISTRIBUTED_LEASE_SECONDS", DEFAULT_LEASE_SECONDS),
        )

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        from monitor.running.distributed import claim_seeding, mark_seeded

        if not claim_seeding(self.client, self.sweep, self.worker, self.claim_seconds):
            log.info("sweep %s: start requests are another worker's", self.sweep)
            return
        sent = 0
        async for request_or_item in start:
            sent += 1
            yield request_or_item
        mark_seeded(self.client, self.sweep)
        log.info("sweep %s: seeded with %d start request(s)", self.sweep, sent)
