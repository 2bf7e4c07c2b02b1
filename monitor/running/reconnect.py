"""Loops that outlive a Redis restart: the writer, the workers and `heishi distributed sweep
--wait` run their step again and again; while Redis cannot be reached they say so once, wait
(1 s, doubling up to 30 s) and try again, and when it answers again they resynchronise
(`on_back`) before going on. Redis must keep its data across a restart (AOF persistence) for
a sweep in progress to survive it; without, the writer closes the sweeps Redis lost as
interrupted (README, "Crawling on several machines")."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

FIRST_DELAY = 1.0
MAX_DELAY = 30.0


def redis_errors() -> tuple[type[BaseException], ...]:
    """What a Redis that is down, restarting or loading its data raises."""
    import redis

    return (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def is_outage(exc: BaseException) -> bool:
    """A Redis error that means "not now" (down, restarting, still loading its AOF), not a
    bug: the step is tried again."""
    import redis

    if isinstance(exc, redis_errors()):
        return True
    return isinstance(exc, redis.exceptions.ResponseError) and str(exc).startswith("LOADING")


class Reconnecting:
    """Runs `step` until `should_stop()`, through Redis outages."""

    def __init__(
        self,
        what: str,
        url: str,
        log: logging.Logger,
        first_delay: float = FIRST_DELAY,
        max_delay: float = MAX_DELAY,
    ) -> None:
        self.what = what
        self.url = url
        self.log = log
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.down_since: float | None = None
        self.outages = 0

    def run(
        self,
        step: Callable[[], Any],
        should_stop: Callable[[], bool],
        on_back: Callable[[], None] | None = None,
    ) -> None:
        delay = self.first_delay
        while not should_stop():
            try:
                if self.down_since is not None and on_back is not None:
                    on_back()
                step()
                if self.down_since is not None:  # the step went through: Redis is back
                    self.log.info(
                        "%s: Redis at %s is back after %.0f s",
                        self.what,
                        self.url,
                        time.monotonic() - self.down_since,
                    )
                    self.down_since, delay = None, self.first_delay
            except Exception as exc:
                if not is_outage(exc):
                    raise
                if self.down_since is None:
                    self.down_since = time.monotonic()
                    self.outages += 1
                    self.log.warning(
                        "%s: Redis at %s cannot be reached (%s); trying again, every %.0f s "
                        "at most",
                        self.what,
                        self.url,
                        exc,
                        self.max_delay,
                    )
                wait(delay, should_stop)
                delay = min(delay * 2, self.max_delay)


def wait(seconds: float, should_stop: Callable[[], bool]) -> None:
    """Sleep `seconds`, waking early when `should_stop()` turns true."""
    deadline = time.monotonic() + seconds
    while not should_stop() and time.monotonic() < deadline:
        time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))


def through_outage(call: Callable[[], Any], what: str, log: logging.Logger, seconds: float) -> Any:
    """`call()`, tried again every second while Redis is down, for up to `seconds`: for a
    write that must not be dropped (a request a crawl found). Blocks the caller meanwhile."""
    deadline = time.monotonic() + seconds
    said = False
    while True:
        try:
            return call()
        except Exception as exc:
            if not is_outage(exc) or time.monotonic() > deadline:
                raise
            if not said:
                log.warning("%s: Redis cannot be reached (%s); trying again", what, exc)
                said = True
            time.sleep(1.0)
