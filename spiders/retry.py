"""Retries with exponential backoff: Scrapy's RetryMiddleware decides what to retry (429, 5xx,
timeouts, refused connections); this waits `base * 2**(n-1)` seconds (or the server's
Retry-After, capped) before the n-th retry instead of retrying at once.

Settings: HEISHI_RETRY_BACKOFF_BASE (seconds, default 1; 0 switches the wait off) and
HEISHI_RETRY_BACKOFF_MAX (default 30).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Self

from scrapy.downloadermiddlewares.retry import RetryMiddleware

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response

_DELAY_KEY = "heishi_retry_delay"


class BackoffRetryMiddleware(RetryMiddleware):
    backoff_base: float
    backoff_max: float

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        middleware = super().from_crawler(crawler)
        middleware.backoff_base = crawler.settings.getfloat("HEISHI_RETRY_BACKOFF_BASE", 1.0)
        middleware.backoff_max = crawler.settings.getfloat("HEISHI_RETRY_BACKOFF_MAX", 30.0)
        return middleware

    async def process_request(self, request: Request) -> None:
        delay = request.meta.pop(_DELAY_KEY, 0)
        if delay > 0:
            await asyncio.sleep(delay)

    def process_response(self, request: Request, response: Response) -> Request | Response:
        from scrapy.http import Request

        result = super().process_response(request, response)
        if isinstance(result, Request):  # a retry
            self._schedule_backoff(result, response.headers.get(b"Retry-After"))
        return result

    def process_exception(
        self, request: Request, exception: Exception
    ) -> Request | Response | None:
        from spiders.network import resolver_refusal

        if resolver_refusal(request, exception) is not None:
            return None  # refused by the network policy: asking again changes nothing
        from scrapy.http import Request

        result = super().process_exception(request, exception)
        if isinstance(result, Request):
            self._schedule_backoff(result, None)
        return result

    def _schedule_backoff(self, retry: Request, retry_after: bytes | None) -> None:
        if self.backoff_base <= 0:
            return
        attempt = int(retry.meta.get("retry_times", 1))
        delay = self.backoff_base * 2 ** (attempt - 1)
        if retry_after and retry_after.strip().isdigit():
            delay = max(delay, float(retry_after.strip()))
        retry.meta[_DELAY_KEY] = min(delay, self.backoff_max)
        self.crawler.stats.inc_value("heishi/retry_backoff_seconds", delay)
