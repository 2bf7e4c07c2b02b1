"""scrapy-redis' scheduler made reliable: a request popped by a worker is leased, not gone.

Plain scrapy-redis pops a request off the shared queue; when the worker dies before the
response is handled, that request is lost and its listings look removed. Here a pop moves the
request into the sweep's in-flight hash under a lease (monitor.running.distributed.SweepQueue), a
heartbeat renews this worker's leases, and the request is acknowledged only when Scrapy has
finished with it: its callback ran, the requests it yielded are queued and its items are on
the stream. Leases of a dead worker expire and go back on the queue for another worker.

What is subclassed or patched, and why:
- `LeasedQueue` (scrapy-redis queue class): pops under a lease and never clears the shared
  queue (scrapy-redis clears it when one worker closes, unless SCHEDULER_PERSIST). Requests are
  JSON (spiders/distributed/serializer.py, never scrapy-redis' pickle) signed with the
  installation's key; an entry that does not verify is acknowledged, counted and dropped.
- `LeasedScheduler` (scrapy-redis Scheduler): keeps the lease of every request it hands to
  the engine, acknowledges it when the engine is done with the request, gives back unfinished
  leases when the crawl stops cleanly, and keeps the crawl open while other workers still hold
  requests of the sweep. Scrapy 2.19 has no signal for "a scheduled request was fully
  processed"; the engine's `_remove_request` (called once the download, callback, child
  requests and item pipelines of a request are done) is wrapped for that, and the engine's
  idle heartbeat is shortened so work other workers queue is picked up within a second.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy_redis.queue import Base
from scrapy_redis.scheduler import Scheduler

from monitor.running.distributed import (
    DEFAULT_LEASE_SECONDS,
    DEFAULT_MAX_DELIVERIES,
    REJECTED_STAT,
    SweepQueue,
    seeding_claimed,
)
from monitor.running.payload_signing import fingerprint, load_signer
from monitor.running.reconnect import is_outage, through_outage
from spiders.distributed import serializer as json_serializer

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler

log = logging.getLogger(__name__)

# Stats that are not counts to add up across workers.
_NOT_SUMMED = (
    "memusage/",
    "start_time",
    "finish_time",
    "elapsed_time_seconds",
    "request_depth_max",
)
# Text stats kept once per sweep (the first worker to report one wins).
_FIRST_ONLY = ("heishi/first_error",)
# Rejected entries dropped in one pop before it gives the engine a turn.
_REJECTS_PER_POP = 100


class LeasedQueue(Base):
    """The sweep's shared queue, as scrapy-redis' queue interface over SweepQueue."""

    def __init__(self, server: Any, spider: Spider, key: str, serializer: Any = None) -> None:
        # Never pickle, whatever SCHEDULER_SERIALIZER says.
        super().__init__(server, spider, key, json_serializer)
        settings = spider.settings
        self.sweep = settings.get("HEISHI_DISTRIBUTED_SWEEP")
        self.signer = load_signer(settings)
        self.shared = SweepQueue(
            server,
            self.sweep,
            lease_seconds=settings.getfloat(
                "HEISHI_DISTRIBUTED_LEASE_SECONDS", DEFAULT_LEASE_SECONDS
            ),
            max_deliveries=settings.getint(
                "HEISHI_DISTRIBUTED_MAX_DELIVERIES", DEFAULT_MAX_DELIVERIES
            ),
        )

    def __len__(self) -> int:
        return len(self.shared)

    def _encode_request(self, request: Request) -> bytes:
        payload = json_serializer.encode_request(request, self.spider)
        return self.signer.wrap("request", self.sweep, payload)

    def _decode_request(self, encoded_request: bytes) -> Request:
        payload = self.signer.unwrap("request", self.sweep, encoded_request)
        return json_serializer.decode_request(payload, self.spider)

    def push(self, request: Request) -> None:
        if not self.shared.push(self._encode_request(request), request.priority):
            log.info("sweep %s is closed: not queueing %s", self.sweep, request.url)

    def pop(self, timeout: int = 0) -> Request | None:
        found = self.pop_leased()
        return found[0] if found else None

    def pop_leased(self) -> tuple[Request, str] | None:
        """The next request and its lease; entries that do not verify are dropped."""
        for _ in range(_REJECTS_PER_POP):
            found = self.shared.pop()
            if found is None:
                return None
            lease, payload, deliveries = found
            try:
                request = self._decode_request(payload)
            except Exception as exc:  # BadSignature, UnsafeRequest: never stops the crawl
                self.reject(lease, payload, exc)
                continue
            if deliveries > 1:
                log.info("request delivered again (%d): %s", deliveries, request.url)
            return request, lease
        return None

    def reject(self, lease: str, payload: bytes, problem: Exception) -> None:
        """Drop a queue entry that is not a request of ours, counting it in the sweep."""
        log.warning(
            "sweep %s: dropped a queue entry (%s): %s", self.sweep, fingerprint(payload), problem
        )
        # Added to the sweep's stats with the acknowledgement; the writer reports it.
        self.shared.ack(lease, {REJECTED_STAT: 1})

    def clear(self) -> None:
        """Never: the queue belongs to the sweep, not to this worker (the writer drops it)."""


class LeasedScheduler(Scheduler):
    """scrapy-redis' Scheduler over LeasedQueue, acknowledging each request when done."""

    crawler: Crawler
    leases: dict[Request, str]
    sent_stats: dict[str, int]
    heartbeat: Any
    redis_down: bool  # said once per outage
    # Acknowledgements Redis could not take (it is restarting): (lease, stats), sent again by
    # the heartbeat. Their leases are renewed meanwhile, so no other worker redoes them.
    unacked: list[tuple[str, dict[str, int]]]

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LeasedScheduler:
        scheduler = super().from_crawler(crawler)
        scheduler.crawler = crawler
        scheduler.leases = {}
        scheduler.sent_stats = {}
        scheduler.heartbeat = None
        scheduler.redis_down = False
        scheduler.unacked = []
        crawler.signals.connect(scheduler.spider_idle, signal=signals.spider_idle)
        return scheduler

    @property
    def shared(self) -> SweepQueue:
        return self.queue.shared

    def open(self, spider: Spider) -> None:
        super().open(spider)
        if not isinstance(self.queue, LeasedQueue):
            raise TypeError("LeasedScheduler needs SCHEDULER_QUEUE_CLASS = LeasedQueue")
        engine = self.crawler.engine
        done = getattr(engine, "_remove_request", None)
        if done is None:  # a Scrapy without the hook: acknowledging would be guesswork
            raise RuntimeError("this Scrapy's engine has no _remove_request to hook")

        def remove_request(result: Any, request: Request) -> Any:
            self.request_done(request)
            return done(result, request=request)

        engine._remove_request = remove_request  # type: ignore[method-assign,assignment]
        # Ask the scheduler again soon when idle: others may queue work (default 5 s).
        engine._SLOT_HEARTBEAT_INTERVAL = min(1.0, engine._SLOT_HEARTBEAT_INTERVAL)

        from twisted.internet.task import LoopingCall

        self.heartbeat = LoopingCall(self.beat)
        self.heartbeat.start(max(0.2, self.shared.lease_seconds / 3), now=False)

    def close(self, reason: str) -> None:
        if self.heartbeat is not None and self.heartbeat.running:
            self.heartbeat.stop()
        unfinished = list(self.leases.values())
        self.leases.clear()
        try:
            self.send_unacked()
            requeued, _ = self.shared.release(unfinished)
            self.flush_stats()
        except Exception as exc:  # Redis gone: the leases expire and are requeued anyway
            if not is_outage(exc):
                log.exception("could not give back %d lease(s)", len(unfinished))
            else:
                log.warning(
                    "sweep %s: Redis cannot be reached to give back %d lease(s) (%s)",
                    self.shared.sweep,
                    len(unfinished) + len(self.unacked),
                    exc,
                )
            return
        if requeued:
            log.info("gave back %d unfinished request(s) to sweep %s", requeued, self.shared.sweep)

    def enqueue_request(self, request: Request) -> bool:
        # scrapy-redis' own passes `spider=` to the stats, which Scrapy 2.19 deprecates.
        # A request found is never dropped for a Redis restart: it waits for it (a minute).
        what = "queueing " + request.url
        seen = not request.dont_filter and through_outage(
            lambda: self.df.request_seen(request), what, log, 60
        )
        if seen:
            self.df.log(request, self.spider)
            return False
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        through_outage(lambda: self.queue.push(request), what, log, 60)
        return True

    def has_pending_requests(self) -> bool:
        """Whether the shared queue holds requests; while Redis cannot be reached, yes (the
        crawl stays open and next_request waits for it), said once as a warning."""
        try:
            return len(self.queue) > 0
        except Exception as exc:
            if not is_outage(exc):
                raise
            self.outage(exc)
            return True

    def next_request(self) -> Request | None:
        try:
            found = self.queue.pop_leased()
        except Exception as exc:
            if not is_outage(exc):
                raise
            # Redis is restarting: nothing to hand out now; the engine asks again soon.
            self.outage(exc)
            return None
        self.redis_down = False
        if found is None:
            return None
        request, lease = found
        self.leases[request] = lease
        if self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def request_done(self, request: Request) -> None:
        """The engine has finished with `request`: acknowledge its lease with the stats."""
        lease = self.leases.pop(request, None)
        if lease is None:
            return
        delta = self.stats_delta()
        # The stats go with this acknowledgement, now or when Redis is back.
        self.sent_stats.update({k: self.sent_stats.get(k, 0) + v for k, v in delta.items()})
        try:
            self.shared.ack(lease, delta)
        except Exception as exc:
            if not is_outage(exc):  # the lease expires and another worker does the request
                log.exception("could not acknowledge %s", request.url)
                return
            self.outage(exc)
            self.unacked.append((lease, delta))

    def send_unacked(self) -> None:
        """Acknowledge what could not be while Redis was down, oldest first."""
        while self.unacked:
            lease, delta = self.unacked[0]
            self.shared.ack(lease, delta)
            self.unacked.pop(0)

    def outage(self, exc: BaseException) -> None:
        """Redis is restarting: said once per outage, as a warning (the work waits for it)."""
        if not self.redis_down:
            log.warning("sweep %s: Redis cannot be reached (%s)", self.shared.sweep, exc)
        self.redis_down = True

    def beat(self) -> None:
        """Renew this worker's leases, send what waits, requeue other workers' expired ones."""
        try:
            self.shared.renew([*self.leases.values(), *(lease for lease, _ in self.unacked)])
            self.send_unacked()
            self.flush_stats()
            self.shared.requeue_expired()
        except Exception as exc:
            if not is_outage(exc):
                log.exception("heartbeat of sweep %s failed", self.shared.sweep)
                return
            self.outage(exc)  # tried again at the next beat
            return
        if self.redis_down:
            log.info("sweep %s: Redis is back", self.shared.sweep)
        self.redis_down = False

    def stats_delta(self) -> dict[str, int]:
        """Counts added since they were last reported."""
        if not self.stats:
            return {}
        delta = {}
        for name, value in self.stats.get_stats().items():
            if isinstance(value, bool) or not isinstance(value, int):
                continue
            if name.startswith(_NOT_SUMMED):
                continue
            change = value - self.sent_stats.get(name, 0)
            if change:
                delta[name] = change
        return delta

    def flush_stats(self) -> None:
        delta = self.stats_delta()
        self.shared.add_stats(delta)
        self.sent_stats.update({k: self.sent_stats.get(k, 0) + v for k, v in delta.items()})
        if self.stats:
            for name in _FIRST_ONLY:
                value = self.stats.get_value(name)
                if value:
                    self.server.hsetnx(self.shared.keys["stats"], name, str(value))

    def spider_idle(self, spider: Spider) -> None:
        """Stay open while the sweep may still produce work for this worker (and while
        Redis cannot be reached: it is restarting)."""
        shared = self.shared
        try:
            shared.requeue_expired()
            progress = shared.progress()
        except Exception as exc:
            if not is_outage(exc):
                raise
            raise DontCloseSpider from None
        if progress.state != "open" or progress.drained:
            return  # done (or closed by the writer): let the crawl finish
        if not progress.seeded and not seeding_claimed(self.server, shared.sweep):
            return  # the seeding worker died: `heishi worker` starts a crawl that seeds again
        raise DontCloseSpider
