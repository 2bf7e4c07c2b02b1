"""A pool of warm crawl workers: long-lived `python -m spiders.crawl_worker` processes that run
crawl after crawl (several at once) in one reactor, so a sweep does not pay a new process's
start-up (about 1.75 s of CPU) each time.

`monitor.running.sweep.sweep_sources` hands each crawl to the pool when HEISHI_CRAWL_WORKERS is
above 0; the crawl it gets back behaves as a crawl process does (its `proc` has the worker's
pid and, once it ended, the exit status `python -m spiders.crawl` would have had), so the
runner judges and records it the same way. Isolation stays:
- a crawl that overruns its timeout is asked to stop (its run closed as ended early); a worker
  whose crawl does not stop within the grace is killed, process group and browser included;
- a worker whose memory (resident, the worker process itself) passes HEISHI_CRAWL_WORKER_MEMORY_MB
  is killed by the watchdog; the crawls it was running fail saying so;
- a worker that dies fails only the crawls it was running, and the next crawl gets a new one;
- a worker is recycled (takes no more crawls, exits once its crawls are done) after
  HEISHI_CRAWL_WORKER_CRAWLS crawls.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from monitor.config import PROJECT_ROOT
from monitor.errors import HeishiError
from monitor.settings import Settings

log = logging.getLogger(__name__)

WATCH_SECONDS = 0.5  # how often the watchdog reads the workers' memory


@dataclass(frozen=True)
class PoolSettings:
    """How many workers, how many crawls each runs before it is recycled, its memory ceiling."""

    workers: int = 2
    crawls_per_worker: int = 100
    memory_mb: int = 2048

    @classmethod
    def from_settings(cls, settings: Settings) -> PoolSettings:
        """HEISHI_CRAWL_WORKERS, HEISHI_CRAWL_WORKER_CRAWLS and HEISHI_CRAWL_WORKER_MEMORY_MB."""
        return cls(
            settings.crawl_workers, settings.crawl_worker_crawls, settings.crawl_worker_memory_mb
        )


class CrawlProcess:
    """What the sweep runner reads of a crawl's process: the worker's pid, and the exit status
    the crawl ended with (None while it runs)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return self.returncode


class PooledCrawl:
    """One crawl handed to a worker; stands in for the sweep runner's crawl process."""

    shares_process = True  # its run's owner (the worker) outlives it

    def __init__(self, worker: CrawlWorker, crawl_id: int, ref: Any, log_path: Path) -> None:
        self.worker = worker
        self.id = crawl_id
        self.ref = ref
        self.log_path = log_path
        self.log: IO[str] = Path(os.devnull).open("w")  # noqa: SIM115 (the worker writes the log)
        self.started = time.monotonic()
        self.proc = CrawlProcess(worker.pid)
        self.timed_out = False
        self.stopped = False
        # The run it opened, as the worker said: its worker's pid owns other runs of the
        # source too (earlier and later crawls of it).
        self.run_id: int | None = None
        self.done = threading.Event()

    def finish(self, code: int) -> None:
        self.proc.returncode = code
        self.done.set()

    def kill(self) -> None:
        """Stop the crawl at its timeout (a failure of the source)."""
        self.timed_out = True
        self.terminate(grace=5)

    def terminate(self, grace: float) -> None:
        """Ask the worker to stop this crawl; kill the worker if it has not within `grace`."""
        self.worker.send({"op": "stop", "id": self.id})
        if self.done.wait(grace):
            return
        self.worker.kill(f"crawl worker killed: a crawl in it did not stop within {grace:.0f} s")
        self.done.wait(30)


class CrawlWorker:
    """One worker process, its crawls, and the thread that reads its replies."""

    def __init__(self, pool: WorkerPool, number: int) -> None:
        self.pool = pool
        self.number = number
        self.crawls: dict[int, PooledCrawl] = {}
        self.assigned = 0
        self.retiring = False  # takes no more crawls; exits once its crawls are done
        self.kill_reason: str | None = None
        self.rss_mb = 0.0
        self.ready = threading.Event()
        self._write_lock = threading.Lock()
        from monitor.running.sweep import _private_opener

        try:
            stderr: IO[str] = open(  # noqa: SIM115 (closed when the worker is gone)
                pool.log_dir / f"crawl-worker-{number}.log", "w", opener=_private_opener
            )
        except OSError:
            stderr = Path(os.devnull).open("w")  # noqa: SIM115
        self.stderr = stderr
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "spiders.crawl_worker"],
            cwd=PROJECT_ROOT,
            env=pool.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            encoding="utf-8",
            bufsize=1,
            start_new_session=True,  # its own process group: a kill takes its browser too
        )
        self.pid = self.proc.pid
        threading.Thread(target=self._read, name=f"crawl-worker-{number}", daemon=True).start()

    def send(self, message: dict[str, Any]) -> None:
        with self._write_lock:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(json.dumps(message) + "\n")
                self.proc.stdin.flush()
            except (OSError, ValueError):  # gone: its reader fails its crawls
                pass

    def close_input(self) -> None:
        """No more crawls: the worker exits once the ones it runs are done."""
        with self._write_lock:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()
            except (OSError, ValueError):
                pass

    def kill(self, reason: str) -> None:
        """Kill the worker's process group; its crawls fail with `reason`."""
        if self.kill_reason is None:
            self.kill_reason = reason
        log.warning("%s (pid %d)", reason, self.pid)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            self.rss_mb = float(message.get("rss_mb") or self.rss_mb)
            if message.get("event") == "ready":
                self.ready.set()
            elif message.get("event") == "done":
                run_id = message.get("run_id")
                self.pool._crawl_done(
                    self,
                    int(message["id"]),
                    int(message["code"]),
                    int(run_id) if run_id is not None else None,
                )
        self.proc.wait()
        self.stderr.close()
        self.pool._worker_gone(self)


class WorkerPool:
    """Up to `settings.workers` warm workers, started when first needed; thread-safe."""

    def __init__(self, settings: PoolSettings, env: Mapping[str, str], log_dir: Path) -> None:
        self.settings = settings
        self.env = dict(env)
        self.log_dir = log_dir
        self.workers: list[CrawlWorker] = []
        self.started_workers = 0
        self.recycled = 0  # workers retired after their number of crawls
        self.killed = 0  # workers the watchdog or a timeout killed
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._watchdog: threading.Thread | None = None

    def submit(
        self, ref: Any, db: Path, log_path: Path, settings: Mapping[str, str]
    ) -> PooledCrawl:
        """Start crawling `ref` into `db` in a worker; its log goes to `log_path`."""
        with self._lock:
            if self._closed.is_set():
                raise HeishiError("the crawl worker pool is closed")
            worker = self._pick()
            crawl = PooledCrawl(worker, next(self._ids), ref, log_path)
            worker.crawls[crawl.id] = crawl
            worker.assigned += 1
            if worker.assigned >= self.settings.crawls_per_worker:
                worker.retiring = True
                self.recycled += 1
            if self._watchdog is None:
                self._watchdog = threading.Thread(
                    target=self._watch, name="crawl-worker-watchdog", daemon=True
                )
                self._watchdog.start()
        worker.send(
            {
                "op": "crawl",
                "id": crawl.id,
                "source": ref.name,
                "db": str(db),
                "log": str(log_path),
                "settings": dict(settings),
            }
        )
        if worker.retiring:
            with self._lock:
                idle = not worker.crawls
            if idle:
                worker.close_input()
        return crawl

    def _pick(self) -> CrawlWorker:
        """An idle worker, else a new one while there are fewer than the pool's size, else the
        least busy (slow polite crawls share a worker's reactor)."""
        live = [w for w in self.workers if not w.retiring and w.kill_reason is None]
        idle = [w for w in live if not w.crawls]
        if idle:
            return idle[0]
        if len(live) < max(1, self.settings.workers):
            self.started_workers += 1
            worker = CrawlWorker(self, self.started_workers)
            self.workers.append(worker)
            return worker
        return min(live, key=lambda w: len(w.crawls))

    def _crawl_done(
        self, worker: CrawlWorker, crawl_id: int, code: int, run_id: int | None = None
    ) -> None:
        with self._lock:
            crawl = worker.crawls.pop(crawl_id, None)
            drained = worker.retiring and not worker.crawls
        if crawl is not None:
            crawl.run_id = run_id
            crawl.finish(code)
        if drained:
            worker.close_input()

    def _worker_gone(self, worker: CrawlWorker) -> None:
        """A worker exited: the crawls it still had fail (as a killed crawl process does)."""
        with self._lock:
            if worker in self.workers:
                self.workers.remove(worker)
            left = list(worker.crawls.values())
            worker.crawls.clear()
        code = worker.proc.returncode if worker.proc.returncode is not None else 1
        for crawl in left:
            if worker.kill_reason is not None or code >= 0:
                reason = worker.kill_reason or f"crawl worker exited with code {code}"
                _append(crawl.log_path, f"heishi: {reason}\n")
                crawl.finish(1)
            else:
                crawl.finish(code)  # killed by a signal: "crawl process killed by SIGKILL"

    def _watch(self) -> None:
        """Kill a worker whose memory passed the ceiling."""
        limit = self.settings.memory_mb
        while not self._closed.wait(WATCH_SECONDS):
            with self._lock:
                workers = list(self.workers)
            for worker in workers:
                rss = process_rss_mb(worker.pid)
                if rss is None:
                    continue
                worker.rss_mb = rss
                if rss > limit and worker.kill_reason is None:
                    self.killed += 1
                    worker.kill(
                        f"crawl worker killed: its memory ({rss:.0f} MB) passed "
                        f"HEISHI_CRAWL_WORKER_MEMORY_MB ({limit} MB)"
                    )

    def close(self, grace: float = 30.0) -> None:
        """Let the workers finish their crawls and exit; kill what is left after `grace`."""
        with self._lock:
            self._closed.set()
            workers = list(self.workers)
        for worker in workers:
            worker.close_input()
        deadline = time.monotonic() + grace
        for worker in workers:
            try:
                worker.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.kill("crawl worker killed: it did not exit when the pool closed")
                worker.proc.wait(timeout=10)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def process_rss_mb(pid: int) -> float | None:
    """Resident memory of process `pid` in MB, or None when it is gone."""
    try:
        with Path(f"/proc/{pid}/status").open(encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


def _append(path: Path, text: str) -> None:
    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError:
        pass
