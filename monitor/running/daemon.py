"""`heishi run`: every source crawled on its own schedule, unattended, for months.

APScheduler fires one job per source (its site file's interval or cron, with jitter); each job
is one crawl through `monitor.running.sweep.sweep_sources`, in its own process group with a timeout.
A thread pool of `max_parallel` bounds the crawls at once; `max_instances=1` and `coalesce`
mean a source never overlaps itself and a late run happens once, not once per missed turn.
The store keeps when each source runs next, so a restart neither bursts nor skips
(`monitor.running.schedule`). The store also holds this process's heartbeat (`daemon`), and one
monitor per store is enforced there. SIGTERM or SIGINT stops the crawls in progress (SIGTERM
first, so Scrapy closes its run; SIGKILL to the process group after `stop_timeout`) and exits 0.
SIGHUP re-reads the site files.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from monitor.config_files import check_config_files
from monitor.errors import HeishiError, StoreError
from monitor.running.schedule import (
    Planned,
    first_run_time,
    is_due,
    load_plans,
    parse_time,
    store_time,
)
from monitor.running.sweep import SourceSweep
from monitor.settings import Settings
from monitor.settings import current as current_settings

if TYPE_CHECKING:
    from monitor.store.search_backfill import BackfillState

log = logging.getLogger(__name__)

T = TypeVar("T")

FAILED = ("failed", "crashed")
# The search index's backfill of an upgraded store: a few seconds of batches every so often,
# so it finishes within hours on a big store and never holds the writer for long.
BACKFILL_EVERY = 10.0
BACKFILL_SECONDS = 3.0


@dataclass
class RunSettings:
    """How `heishi run` behaves (docs/operations.md lists each with its option)."""

    db: Path
    sources: tuple[str, ...] = ()  # default: every enabled non-demo site file
    sites_dir: Path | None = None
    max_parallel: int = 2
    timeout: float = 600.0  # seconds one crawl may take before its process group is killed
    jitter: float = 60.0  # at most a tenth of a source's period
    default_interval: float = 3600.0  # for site files without a schedule
    failures_before_alert: int = field(
        default_factory=lambda: current_settings().failures_before_alert
    )
    heartbeat: float = 30.0
    drain_every: float = 60.0  # the notification outbox
    stop_timeout: float = 10.0  # after SIGTERM, seconds before crawls are killed outright
    log_file: Path | None = None

    def public(self) -> dict[str, Any]:
        """The settings as recorded in the store for `heishi status`."""
        values = asdict(self)
        return {k: str(v) if isinstance(v, Path) else v for k, v in values.items()}


@dataclass
class OnceReport:
    due: list[str] = field(default_factory=list)
    results: list[SourceSweep] = field(default_factory=list)


class Monitor:
    """One monitor process on one store: `serve()` until a signal, or `once()`."""

    def __init__(self, settings: RunSettings) -> None:
        self.settings = settings
        self.db = settings.db.resolve()
        self.plans: dict[str, Planned] = {}
        self.stopping = threading.Event()
        self._reload_requested = threading.Event()
        self._lock = threading.Lock()
        self._active: dict[str, datetime] = {}  # source -> when its crawl started
        self._groups: set[int] = set()  # process groups of crawls we started
        self._scheduler: Any = None
        self.pool: Any = None  # the warm crawl workers (monitor.running.workers), if any
        self.daemon_id: int | None = None
        self.results: list[SourceSweep] = []
        self.stopped_by: str | None = None
        self.store_trouble: str | None = None  # a store that cannot be written, said once
        self.store_id = "unknown"  # the store's id, in the keys of notifications sent directly
        # What each crawl is given, and what this process records crashed crawls with.
        given = current_settings()
        sites_dir = str(settings.sites_dir.resolve()) if settings.sites_dir else None
        self.crawl_settings = given.replace(
            HEISHI_FAILURES_BEFORE_ALERT=str(settings.failures_before_alert),
            HEISHI_SITES_DIR=sites_dir or given.text("HEISHI_SITES_DIR"),
        )

    # -- life cycle ------------------------------------------------------------------------

    def _load_plans(self) -> dict[str, Planned]:
        return load_plans(
            self.settings.sources,
            sites_dir=self.settings.sites_dir,
            default_interval=self.settings.default_interval,
        )

    def start(self, mode: str) -> None:
        """Claim the store, close runs abandoned by a previous monitor, catch signals."""
        from monitor.store import open_store

        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_stop_signal)
        if hasattr(signal, "SIGHUP"):
            signal.signal(signal.SIGHUP, lambda *_: self._reload_requested.set())
        self.plans = self._load_plans()
        check_config_files()  # a broken severity or notify file: refuse to start, naming it
        self.pool = _worker_pool(self.db, self.crawl_settings)
        with open_store(self.db) as store:
            row = store.operations.claim_daemon({**self.settings.public(), "mode": mode})
            if row["live"]:
                raise HeishiError(
                    f"store {self.db} is already monitored by heishi run (pid {row['pid']} "
                    f"on {row['host']}, since {row['started_at']})",
                    hint="stop that one first (SIGTERM), or use another --db",
                )
            daemon_id: int = row["id"]
            self.daemon_id = daemon_id
            self.store_id = store.outbox.store_id()
            closed = store.operations.close_abandoned_runs()
        if closed:
            log.warning("%d run(s) left running by a previous monitor marked crashed", closed)
        threading.Thread(
            target=self._heartbeat, args=(daemon_id,), name="heishi-heartbeat", daemon=True
        ).start()
        log.info(
            "heishi run (%s, pid %d) on %s: %d source(s), %d at a time, timeout %.0f s",
            mode,
            os.getpid(),
            self.db,
            len(self.plans),
            self.settings.max_parallel,
            self.settings.timeout,
        )

    def _on_stop_signal(self, signum: int, _frame: Any) -> None:
        # No logging here: the handler may interrupt the main thread inside a log call.
        self.stopped_by = self.stopped_by or signal.Signals(signum).name
        self.stopping.set()

    def _finish(self) -> None:
        from monitor.store import open_store

        if self.stopped_by:
            log.info("%s: stopping", self.stopped_by)
        self._stop_crawls()
        if self.pool is not None:
            self.pool.close(grace=self.settings.stop_timeout)
        if self.daemon_id is not None:
            with open_store(self.db) as store:
                store.operations.daemon_stopped(self.daemon_id)
        log.info("heishi run stopped")

    def _heartbeat(self, daemon_id: int) -> None:
        from monitor.store import open_store
        from monitor.store.connection import has_room

        def beat() -> bool:
            with open_store(self.db) as store:
                store.operations.daemon_heartbeat(daemon_id)
            return True

        while not self.stopping.wait(self.settings.heartbeat):
            beaten = self.guarded("heartbeat failed", beat)
            if beaten and self.store_trouble is not None and has_room(self.db):
                self.store_recovered()

    def guarded(self, failure: str, step: Callable[[], T]) -> T | None:
        """Run one step of the monitor (a heartbeat, a crawl, the outbox...); the monitor goes
        on whatever it raises: a store that cannot be written is reported once
        (report_store_trouble), anything else logged as `failure` with its traceback. The
        step's value, or None when it failed."""
        try:
            return step()
        except StoreError as exc:
            self.report_store_trouble(str(exc))
        except Exception:
            log.exception("%s", failure)
        return None

    def report_store_trouble(self, problem: str) -> None:
        """The store cannot be written (a full disk): said in one line and, for a full disk,
        one notification sent straight to the routes (the outbox is in that store), once
        until a write succeeds again. The monitor keeps running; crawls fail meanwhile."""
        with self._lock:
            if self.store_trouble is not None:
                log.debug("store still failing: %s", problem)
                return
            self.store_trouble = problem
        log.error("%s; crawls fail until it is fixed", problem)
        if problem.startswith("disk full ("):
            from monitor.alerting.notify import send_now

            errors = send_now(
                kind="store_full",
                title=f"heishi: {problem.split(':', 1)[0]}",
                body=f"{problem}\nheishi run on {self.db} keeps running; every crawl fails "
                "until there is room.",
                severity="critical",
                key=f"heishi:{self.store_id}:store_full:{int(time.time())}",
            )
            for error in errors:
                log.warning("notification of the full disk failed: %s", error)

    def store_recovered(self) -> None:
        with self._lock:
            problem, self.store_trouble = self.store_trouble, None
        if problem is not None:
            log.info("the store is writable again")

    # -- serving ---------------------------------------------------------------------------

    def serve(self) -> int:
        """Run every source on its schedule until SIGTERM or SIGINT; returns the exit status."""
        from apscheduler.events import EVENT_JOB_MAX_INSTANCES
        from apscheduler.executors.pool import ThreadPoolExecutor as PoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        self.start("serve")
        self._scheduler = BackgroundScheduler(
            executors={
                "default": PoolExecutor(max(1, self.settings.max_parallel)),
                "service": PoolExecutor(1),
            },
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )
        self._scheduler.add_listener(self._on_turn_skipped, EVENT_JOB_MAX_INSTANCES)
        self._schedule(self.plans.values())
        self._scheduler.add_job(
            self.drain_outbox,
            "interval",
            seconds=self.settings.drain_every,
            id="heishi:drain-outbox",
            executor="service",
            next_run_time=datetime.now(UTC),
        )
        self._scheduler.add_job(
            self.backfill_search,
            "interval",
            seconds=BACKFILL_EVERY,
            id="heishi:search-backfill",
            executor="service",
            next_run_time=datetime.now(UTC),
        )
        self._scheduler.start()
        try:
            while not self.stopping.wait(0.5):
                if self._reload_requested.is_set():
                    self._reload_requested.clear()
                    self.reload()
        finally:
            self._scheduler.shutdown(wait=False)  # nothing new starts
            self._finish()
        return 0

    def _on_turn_skipped(self, event: Any) -> None:
        log.info("%s: still crawling when its next turn came; that turn is skipped", event.job_id)

    def _schedule(self, plans: Sequence[Planned] | Any) -> None:
        from monitor.store import open_store

        now = datetime.now(UTC)
        with open_store(self.db) as store:
            stored = store.operations.next_runs()
            for plan in plans:
                name = plan.ref.name
                first = first_run_time(
                    plan.schedule, parse_time(stored.get(name)), now, self.settings.jitter
                )
                self._scheduler.add_job(
                    self.sweep_one,
                    plan.schedule.trigger(self.settings.jitter),
                    args=(name,),
                    id=name,
                    name=name,
                    next_run_time=first,
                )
                store.operations.schedule_source(
                    name, plan.ref.kind, plan.ref.url, plan.schedule.text, store_time(first)
                )
                log.info("%s: %s, first run %s", name, plan.schedule.text, store_time(first))

    def reload(self) -> None:
        """Re-read the site files (SIGHUP): new sources are scheduled, removed ones dropped,
        changed schedules take effect."""
        try:
            plans = self._load_plans()
        except HeishiError as exc:
            log.error("reload failed, keeping the current sources: %s", exc)
            return
        for name in set(self.plans) - set(plans):
            self._scheduler.remove_job(name)
            log.info("%s: no longer scheduled", name)
        changed = [
            plan
            for name, plan in plans.items()
            if name not in self.plans or self.plans[name].schedule != plan.schedule
        ]
        for plan in changed:
            if self._scheduler.get_job(plan.ref.name):
                self._scheduler.remove_job(plan.ref.name)
        self.plans = plans
        self._schedule(changed)
        log.info("site files re-read: %d source(s)", len(plans))

    # -- one crawl -------------------------------------------------------------------------

    def sweep_one(self, name: str) -> SourceSweep | None:
        """Crawl one source now (the job APScheduler runs); records when it runs next."""
        from monitor.running.sweep import sweep_sources
        from monitor.store import open_store, utc_now

        plan = self.plans.get(name)
        with self._lock:
            if self.stopping.is_set() or plan is None:
                return None
            started = datetime.now(UTC)
            self._active[name] = started

        def crawl() -> SourceSweep | None:
            with open_store(self.db) as store:
                store.operations.source_started(name, plan.ref.kind, plan.ref.url, utc_now())
            log.info("%s: crawl started", name)
            results = sweep_sources(
                [plan.ref],
                self.db,
                settings=self.crawl_settings,
                jobs=1,
                timeout=self.settings.timeout,
                stopping=self.stopping,
                pool=self.pool,
            )
            if not results:
                return None
            self.results.append(results[0])
            self._log_result(results[0])
            return results[0]

        result = None
        try:
            result = self.guarded(f"{name}: the crawl could not be run", crawl)
        finally:
            self.guarded(
                f"{name}: could not record the next run",
                functools.partial(self._record_next_run, plan, started, result),
            )
            with self._lock:
                del self._active[name]
        return result

    def _record_next_run(
        self, plan: Planned, started: datetime, result: SourceSweep | None
    ) -> None:
        from monitor.store import open_store

        next_run = self._next_run_after(plan, started, result)
        with open_store(self.db) as store:
            store.operations.set_next_run(plan.ref.name, store_time(next_run))

    def _next_run_after(
        self, plan: Planned, started: datetime, result: SourceSweep | None
    ) -> datetime | None:
        completed = result is not None and result.status == "ok"
        if self.stopping.is_set() and not completed:
            return started  # interrupted by a stop: due again as soon as heishi restarts
        job = self._scheduler.get_job(plan.ref.name) if self._scheduler else None
        if job is not None and job.next_run_time is not None:
            return job.next_run_time
        return plan.schedule.next_after(started)

    def _log_result(self, result: SourceSweep) -> None:
        run = result.run or {}
        if (result.error or "").startswith("disk full ("):
            self.report_store_trouble(result.error or "")
        if result.status == "busy":
            log.info("%s: %s; this turn is skipped", result.source, result.error)
            return
        if result.status == "interrupted":
            log.info(
                "%s: interrupted after %.1f s (run %s): %s",
                result.source,
                result.seconds,
                run.get("id"),
                result.error,
            )
            return
        if result.status in FAILED:
            failures = self._failures_in_a_row(result.source)
            log.warning(
                "%s: %s after %.1f s (run %s), %d failure(s) in a row: %s",
                result.source,
                result.status,
                result.seconds,
                run.get("id"),
                failures,
                result.error,
            )
            return
        log.info(
            "%s: %s in %.1f s (run %s): %s listing(s), %s new, %s changed, %s removed%s",
            result.source,
            result.status,
            result.seconds,
            run.get("id"),
            run.get("items"),
            run.get("new"),
            run.get("changed"),
            run.get("removed"),
            f"; {result.error}" if result.error else "",
        )

    def _failures_in_a_row(self, source: str) -> int:
        from monitor.store import open_store

        with open_store(self.db) as store:
            return store.operations.consecutive_failures(source)

    # -- stopping --------------------------------------------------------------------------

    def _stop_crawls(self) -> None:
        """Stop the crawls in progress: SIGTERM to each crawl (Scrapy closes its run as
        ended early, which never removes listings), SIGKILL to its whole process group,
        browser included, after `stop_timeout`. Returns once every crawl job has recorded
        its result."""
        with self._lock:
            self.stopping.set()
        deadline = time.monotonic() + self.settings.stop_timeout
        asked: set[int] = set()
        killed = False
        while True:
            for pid in _crawl_process_groups():
                self._groups.add(pid)
                if pid not in asked:
                    asked.add(pid)
                    _signal_process(pid, signal.SIGTERM)
            with self._lock:
                active = dict(self._active)
            if not active:
                break
            if not killed and time.monotonic() > deadline:
                log.warning(
                    "crawls still running after %.0f s: killing", self.settings.stop_timeout
                )
                for group in self._groups:
                    _signal_group(group, signal.SIGKILL)
                killed = True
            time.sleep(0.1)
        for group in self._groups:  # browsers a crawl left behind
            _signal_group(group, signal.SIGKILL)
        if asked:
            log.info("%d crawl(s) stopped", len(asked))

    # -- the outbox ------------------------------------------------------------------------

    def drain_outbox(self) -> None:
        """Send what the notification outbox holds, if this build can send notifications."""
        try:
            from monitor.alerting.notify import drain_outbox
        except ImportError:
            return
        result = self.guarded(
            "draining the notification outbox failed", lambda: drain_outbox(self.db)
        )
        if result is None:
            return
        sent, dead = getattr(result, "sent", 0), getattr(result, "dead", 0)
        failed = getattr(result, "failed", 0)
        if sent or dead or failed:
            log.info("outbox: %d sent, %d to retry, %d given up", sent, failed, dead)
        for error in (getattr(result, "errors", None) or [])[:5]:
            log.warning("outbox: %s", error)

    # -- the search index --------------------------------------------------------------------

    def backfill_search(self) -> None:
        """Index a few batches of the versions an upgraded store holds from before its search
        index (monitor/analysis/search_index.py); each batch is its own short transaction, so
        sweeps write in between. Nothing to do costs one read."""
        from monitor.analysis.search_index import backfill
        from monitor.store import open_store

        def fill() -> BackfillState | None:
            with open_store(self.db) as store:
                state = store.search_backfill.state()
                if state is None or state.complete or self.stopping.is_set():
                    return None
                return backfill(store, seconds=BACKFILL_SECONDS)

        state = self.guarded("filling the search index failed", fill)
        if state is not None:
            log.info(
                "search index: %s (%d of %d stored versions read)",
                "complete" if state.complete else "filling",
                state.done_through,
                state.upto,
            )

    # -- once, for cron --------------------------------------------------------------------

    def once(self) -> OnceReport:
        """Sweep every source that is due, `max_parallel` at a time, then drain the outbox."""
        from monitor.store import open_store

        self.start("once")
        report = OnceReport()
        try:
            now = datetime.now(UTC)
            with open_store(self.db) as store:
                stored = store.operations.next_runs()
            report.due = [
                name
                for name, plan in self.plans.items()
                if is_due(parse_time(stored.get(name)), plan.schedule, now)
            ]
            log.info("%d of %d source(s) due: %s", len(report.due), len(self.plans), report.due)
            with open_store(self.db) as store:
                for name, plan in self.plans.items():
                    store.operations.schedule_source(
                        name, plan.ref.kind, plan.ref.url, plan.schedule.text, stored.get(name)
                    )
            pool = ThreadPoolExecutor(max(1, self.settings.max_parallel), "heishi-crawl")
            futures: list[Future] = [pool.submit(self.sweep_one, name) for name in report.due]
            while not self.stopping.is_set():
                if not wait(futures, timeout=0.5).not_done:
                    break
            self._stop_crawls()
            pool.shutdown(wait=True)
            report.results = [f.result() for f in futures if f.done() and f.result()]
            if not self.stopping.is_set():
                self.drain_outbox()
        finally:
            self._finish()
        return report


def _worker_pool(db: Path, settings: Settings) -> Any:
    """The monitor's pool of warm crawl workers (with the crawls' `settings`), or None with
    HEISHI_CRAWL_WORKERS=0."""
    from monitor.running.sweep import crawl_env, log_dir
    from monitor.running.workers import PoolSettings, WorkerPool

    pool_settings = PoolSettings.from_settings(settings)
    if pool_settings.workers == 0:
        return None
    return WorkerPool(pool_settings, crawl_env(settings=settings), log_dir(db))


def _crawl_process_groups() -> list[int]:
    """Our child processes that lead their own process group: the crawls (each started with
    start_new_session by monitor.running.sweep), whose group holds its browser."""
    me = os.getpid()
    found: list[int] = []
    try:
        entries = [entry.name for entry in Path("/proc").iterdir()]
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with Path(f"/proc/{entry}/stat").open() as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        ppid, pgrp = int(fields[1]), int(fields[2])
        if ppid == me and pgrp == int(entry):
            found.append(int(entry))
    return found


def _signal_process(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)
