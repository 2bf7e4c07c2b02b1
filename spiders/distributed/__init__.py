"""Distributed crawling: a crawl becomes one worker of a sweep shared through Redis.

Off unless HEISHI_DISTRIBUTED_REDIS_URL is set (setting or environment variable). Then
`DistributedAddon` (spiders/distributed/addon.py, a Scrapy add-on listed in spiders/settings.py
ADDONS) switches this crawl
to:
- the reliable scrapy-redis scheduler of spiders/distributed/scheduler.py: one request queue and
  one duplicate filter per sweep in Redis, popped requests leased until they are done;
- `SeedOnceMiddleware`: one worker of a sweep sends the start requests;
- `HandoffPipeline` instead of the store and evidence pipelines: finished items go to the
  Redis stream that the single writer (monitor/running/writer.py, `heishi writer`) reads, so workers
  never open the SQLite store. Masking and matching still run in the workers.

HEISHI_DISTRIBUTED_SWEEP names the sweep to work on (`heishi worker` sets it); without it the
crawl registers a new sweep of its source and works on it.
"""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING

from monitor.settings import current

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings


def redis_url(settings: BaseSettings | None = None) -> str | None:
    """The Redis of distributed sweeps: the setting, else $HEISHI_DISTRIBUTED_REDIS_URL."""
    value = settings.get("HEISHI_DISTRIBUTED_REDIS_URL") if settings is not None else None
    return value or current().distributed_redis_url


def worker_name(settings: BaseSettings) -> str:
    """This crawl's name in Redis (leases and the seeding claim): host and process id."""
    return settings.get("HEISHI_DISTRIBUTED_WORKER") or f"{socket.gethostname()}:{os.getpid()}"
