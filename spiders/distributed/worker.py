"""`heishi worker`: run on each crawling machine; works on every open distributed sweep.

For each open sweep with work for it (requests queued, or start requests not yet sent) the
worker starts one crawl process, `python -m spiders.crawl SOURCE` with the sweep's id and
the Redis URL, at most `max_parallel` at a time (the Twisted reactor runs once per process, so
each crawl gets its own, as in `heishi sweep`). A crawl stays until its sweep has no request
queued or leased anywhere, then exits. SIGTERM stops the crawls cleanly: their unfinished
requests go back on the queue at once instead of when their leases expire.

Only sweeps whose record is signed with the installation's key are crawled (anyone else who
can write to Redis could otherwise name the source, and the log file, of a crawl). The Redis
URL, which may hold a password, reaches the crawls through their environment, not their
command line (which every user of the machine can read).
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from monitor.running import distributed as dist
from monitor.settings import child_environment, current

log = logging.getLogger(__name__)


class Worker:
    def __init__(
        self,
        redis_url: str,
        max_parallel: int = 2,
        overrides: Sequence[str] = (),
        name: str | None = None,
        log_dir: Path | None = None,
        poll_seconds: float = 0.5,
    ) -> None:
        from monitor.running.payload_signing import load_signer

        self.redis_url = redis_url
        self.signer = load_signer()
        self.client = dist.connect(redis_url)
        self.max_parallel = max(1, max_parallel)
        self.overrides = list(overrides)  # KEY=VALUE settings for every crawl
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.log_dir = log_dir
        self.poll_seconds = poll_seconds
        self.crawls: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: dict[str, IO[bytes]] = {}
        self.started = 0
        # A crawl that failed (a broken site file, say) is not restarted at once, every turn.
        self.retry_after: dict[str, float] = {}
        self.failure_backoff = 30.0

    def run(self, should_stop: Callable[[], bool] = lambda: False) -> None:
        """Work until `should_stop()`, through Redis restarts (monitor.running.reconnect)."""
        from monitor.running.reconnect import Reconnecting

        def step() -> None:
            self.step()
            time.sleep(self.poll_seconds)

        try:
            Reconnecting(f"heishi worker {self.name}", dist.redacted(self.redis_url), log).run(
                step, should_stop, on_back=self.retry_after.clear
            )
        finally:
            self.stop()

    def step(self) -> None:
        """Reap finished crawls, start crawls for sweeps that have work."""
        for sweep, proc in list(self.crawls.items()):
            if proc.poll() is not None:
                self._reap(sweep, proc)
        for sweep in dist.open_sweeps(self.client):
            if len(self.crawls) >= self.max_parallel:
                break
            if sweep in self.crawls or self.retry_after.get(sweep, 0) > time.monotonic():
                continue
            queue = dist.SweepQueue(self.client, sweep)
            queue.requeue_expired()
            progress = queue.progress()
            unseeded = not progress.seeded and not dist.seeding_claimed(self.client, sweep)
            if progress.state == "open" and (progress.queued or unseeded):
                self._start(sweep)

    def _start(self, sweep: str) -> None:
        info = dist.verified_sweep_info(self.client, self.signer, sweep)
        source = info.get("source") if info else None
        if not source:
            # Unsigned or unknown: not ours to crawl (logged once, then skipped).
            self.retry_after[sweep] = float("inf")
            return
        settings = [
            f"HEISHI_DISTRIBUTED_SWEEP={sweep}",
            f"HEISHI_DISTRIBUTED_WORKER={self.name}/{self.started}",
            *self.overrides,
        ]
        argv = [sys.executable, "-m", "spiders.crawl"]
        for pair in settings:
            argv += ["--set", pair]
        argv += ["--", source]
        env = child_environment(current().replace(HEISHI_DISTRIBUTED_REDIS_URL=self.redis_url))
        output: IO[bytes] | int = subprocess.DEVNULL
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            output = self._logs[sweep] = (self.log_dir / f"{sweep}.log").open("ab")  # noqa: SIM115
        from monitor.config import PROJECT_ROOT

        # Same process group as this worker: killing the worker's group kills its crawls.
        self.crawls[sweep] = subprocess.Popen(
            argv, cwd=PROJECT_ROOT, env=env, stdout=output, stderr=output, stdin=subprocess.DEVNULL
        )
        self.started += 1
        log.info("worker %s: crawling %s (sweep %s)", self.name, source, sweep)

    def _reap(self, sweep: str, proc: subprocess.Popen[bytes]) -> None:
        del self.crawls[sweep]
        handle = self._logs.pop(sweep, None)
        if handle is not None:
            handle.close()
        if proc.returncode:
            self.retry_after[sweep] = time.monotonic() + self.failure_backoff
            log.warning(
                "crawl of sweep %s exited with %s; retrying in %.0f s",
                sweep,
                proc.returncode,
                self.failure_backoff,
            )

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the crawls cleanly (SIGTERM), then kill what is left after `timeout`."""
        for proc in self.crawls.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + timeout
        for sweep, proc in list(self.crawls.items()):
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            self._reap(sweep, proc)
