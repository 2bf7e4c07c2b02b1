"""Sweeping sources: each crawl in its own subprocess, a few at a time, each with a timeout.

Scrapy's reactor cannot be restarted inside one process, and a crawl that hangs or crashes
must never take the others (or the monitor) down with it, so every source's crawl is
`python -m spiders.crawl SOURCE --db PATH` in a new process group that a timeout can kill
whole, browser included. The crawl writes its own run into the store; this module only
starts, watches and reports, and records a failed run when a crawl died before it could.
With HEISHI_CRAWL_WORKERS above 0 (the default) the crawls go to a pool of warm worker
processes instead (monitor.running.workers), which stand in for the crawl processes here.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from monitor.config import PROJECT_ROOT
from monitor.settings import Settings, child_environment
from monitor.settings import current as current_settings

if TYPE_CHECKING:
    from monitor.running.workers import PooledCrawl, WorkerPool
    from monitor.store import Store

DEFAULT_TIMEOUT = 600.0
# `python -m spiders.crawl` exits with this when another crawl of the source holds its run.
EXIT_SOURCE_BUSY = 3


@dataclass(frozen=True)
class SourceRef:
    """What the runner needs to know of a source."""

    name: str
    kind: str
    url: str | None = None


@dataclass
class SourceSweep:
    """How one source's sweep went, as recorded in the store."""

    source: str
    # ok | partial | failed | crashed | interrupted; busy: another crawl of it ran (skipped)
    status: str
    run: dict[str, Any] | None
    returncode: int | None
    seconds: float
    log_path: Path
    error: str | None = None


def log_dir(db: Path) -> Path:
    """Crawl logs live beside the store: heishi.db -> heishi-logs/."""
    from monitor.privacy.file_modes import private_folder

    return private_folder(db.parent / f"{db.stem}-logs", tighten=True)


def _private_opener(path: str, flags: int) -> int:
    """Open a log 0600: it quotes what hostile pages said."""
    fd = os.open(path, flags, 0o600)
    os.fchmod(fd, 0o600)
    return fd


def _exit_problem(returncode: int, log_path: Path) -> str:
    """Why a crawl process ended badly, in words: the signal that killed it, or the error
    line it printed (`heishi: ...`, else the last line of a traceback)."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"crawl process killed by {name}"
    try:
        lines = [ln.strip() for ln in log_path.read_text(errors="replace").splitlines()]
    except OSError:
        lines = []
    said = [ln for ln in lines if ln.startswith("heishi:")]
    if said:
        return said[-1].removeprefix("heishi:").strip()[:400]
    raised = [ln for ln in lines if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b.*:", ln)]
    if raised:
        return f"crawl exited with code {returncode}: {raised[-1][:400]}"
    return f"crawl exited with code {returncode}"


def open_log(db: Path, source: str) -> Path:
    """Start `source`'s crawl log afresh (mode 0600); its path."""
    path = db.parent / f"{db.stem}-logs" / f"{source}.log"
    try:
        with open(log_dir(db) / f"{source}.log", "w", opener=_private_opener):
            pass
    except OSError:  # a full disk: the crawl runs (and fails) without its log
        pass
    return path


class _Running:
    shares_process = False  # the crawl is its process: its run dies with it

    def __init__(self, ref: SourceRef, db: Path, env: dict[str, str], extra: Sequence[str]):
        self.ref = ref
        self.log_path = db.parent / f"{db.stem}-logs" / f"{ref.name}.log"
        try:
            self.log: IO[str] = open(  # noqa: SIM115 (closed when the crawl ends)
                log_dir(db) / f"{ref.name}.log", "w", opener=_private_opener
            )
        except OSError:  # a full disk: the crawl runs (and fails) without its log
            self.log = Path(os.devnull).open("w")  # noqa: SIM115 (closed when the crawl ends)
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "spiders.crawl", ref.name, "--db", str(db), *extra],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a timeout kills the browser too
        )
        self.timed_out = False
        self.stopped = False  # stopped on purpose (Ctrl-C, a monitor stopping): interrupted

    def kill(self) -> None:
        """Stop the crawl at its timeout: SIGTERM to its group, SIGKILL 5 s later."""
        self.timed_out = True
        self.terminate(grace=5)

    def terminate(self, grace: float) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(timeout=grace)
                return
            except subprocess.TimeoutExpired:
                continue


def sweep_sources(
    sources: Sequence[SourceRef],
    db: str | Path,
    *,
    settings: Settings | None = None,
    env: dict[str, str] | None = None,
    jobs: int = 3,
    timeout: float = DEFAULT_TIMEOUT,
    extra_args: Sequence[str] = (),
    on_start: Callable[[SourceRef], None] | None = None,
    on_done: Callable[[SourceSweep], None] | None = None,
    stopping: threading.Event | None = None,
    pool: WorkerPool | None = None,
) -> list[SourceSweep]:
    """Sweep `sources` into the store at `db`, at most `jobs` at a time. Once `stopping` is
    set (the monitor stops and signals the crawls itself) nothing new starts, and crawls that
    end without closing their run are recorded as interrupted, not as failures. Ctrl-C stops
    the crawls the same way, then raises KeyboardInterrupt. Each crawl gets `settings`
    (default: this process's) and `env` in its environment. The crawls run in `pool`'s warm
    workers; without one, in a pool of this sweep's own when `settings` say
    HEISHI_CRAWL_WORKERS is above 0, else each in a process of its own."""
    from monitor.running.workers import PoolSettings, WorkerPool
    from monitor.store import open_store

    db = Path(db).resolve()
    with open_store(db) as store:  # create and migrate once, before crawls race to do it
        first_new_run = store.runs.max_id() + 1
    settings = settings or current_settings()
    child_env = crawl_env(env, settings)
    overrides = setting_overrides(extra_args)
    own_pool = None
    if pool is None and overrides is not None:
        pool_settings = PoolSettings.from_settings(settings)
        if pool_settings.workers > 0:
            pool = own_pool = WorkerPool(pool_settings, child_env, log_dir(db))
    try:
        return _sweep(
            sources, db, first_new_run, child_env, extra_args, jobs, timeout, on_start,
            on_done, stopping, pool if overrides is not None else None, overrides or {},
            settings,
        )  # fmt: skip
    finally:
        if own_pool is not None:
            own_pool.close()


def crawl_env(
    env: Mapping[str, str] | None = None, settings: Settings | None = None
) -> dict[str, str]:
    """The environment of a crawl process or worker: `settings` (default: this process's)
    and `env` over the rest of ours."""
    child_env = child_environment(
        settings, {**(env or {}), "SCRAPY_SETTINGS_MODULE": "spiders.settings"}
    )
    child_env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(PROJECT_ROOT), child_env.get("PYTHONPATH")])
    )
    return child_env


def setting_overrides(extra_args: Sequence[str]) -> dict[str, str] | None:
    """The `--set KEY=VALUE` pairs of a crawl's extra arguments, or None when they hold
    anything else (such a crawl runs in a process of its own)."""
    found: dict[str, str] = {}
    args = list(extra_args)
    while args:
        arg = args.pop(0)
        if arg == "--set" and args:
            pair = args.pop(0)
        elif arg.startswith("--set="):
            pair = arg.removeprefix("--set=")
        else:
            return None
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            return None
        found[key.strip()] = value
    return found


def _sweep(
    sources: Sequence[SourceRef],
    db: Path,
    first_new_run: int,
    child_env: dict[str, str],
    extra_args: Sequence[str],
    jobs: int,
    timeout: float,
    on_start: Callable[[SourceRef], None] | None,
    on_done: Callable[[SourceSweep], None] | None,
    stopping: threading.Event | None,
    pool: WorkerPool | None,
    overrides: dict[str, str],
    settings: Settings,
) -> list[SourceSweep]:
    def start(ref: SourceRef) -> _Running | PooledCrawl:
        if pool is None:
            return _Running(ref, db, child_env, extra_args)
        return pool.submit(ref, db, open_log(db, ref.name), overrides)

    pending = list(sources)
    running: list[Any] = []
    results: dict[str, SourceSweep] = {}

    def finished(job: Any) -> None:
        running.remove(job)
        job.log.close()
        if stopping is not None and stopping.is_set():
            job.stopped = True
        result = _result_of(job, db, first_new_run, timeout, settings)
        results[job.ref.name] = result
        if on_done:
            on_done(result)

    try:
        _sweep_loop(
            pending,
            running,
            results,
            db,
            start,
            jobs,
            timeout,
            on_start,
            on_done,
            stopping,
            finished,
        )
    except KeyboardInterrupt:
        for job in list(running):
            job.stopped = True
            job.terminate(grace=10)
            finished(job)
        raise
    return [results[ref.name] for ref in sources if ref.name in results]


def _sweep_loop(
    pending: list[SourceRef],
    running: list[Any],
    results: dict[str, SourceSweep],
    db: Path,
    start: Callable[[SourceRef], Any],
    jobs: int,
    timeout: float,
    on_start: Callable[[SourceRef], None] | None,
    on_done: Callable[[SourceSweep], None] | None,
    stopping: threading.Event | None,
    finished: Callable[[Any], None],
) -> None:
    while pending or running:
        if stopping is not None and stopping.is_set():
            pending.clear()  # a stopping monitor starts nothing new
        while pending and len(running) < max(1, jobs):
            ref = pending.pop(0)
            busy = _busy(ref, db)
            if busy is not None:  # another crawl of it runs: not started, not a failure
                results[ref.name] = busy
                if on_done:
                    on_done(busy)
                continue
            if on_start:
                on_start(ref)
            running.append(start(ref))
        time.sleep(0.1)
        for job in list(running):
            if job.proc.poll() is None and time.monotonic() - job.started > timeout:
                job.kill()
            if job.proc.poll() is None:
                continue
            finished(job)


def _busy(ref: SourceRef, db: Path) -> SourceSweep | None:
    """A result for `ref` when another live crawl holds its run (checked before starting;
    the crawl's own start_run is what enforces it)."""
    from monitor.errors import SourceBusyError, StoreError
    from monitor.store import open_store

    try:
        with open_store(db) as store:
            holder = store.runs.running(ref.name)
    except StoreError:  # the crawl will meet it too, and its run says so
        return None
    if holder is None:
        return None
    return SourceSweep(
        source=ref.name,
        status="busy",
        run=None,
        returncode=None,
        seconds=0.0,
        log_path=log_dir(db) / f"{ref.name}.log",
        error=str(SourceBusyError(ref.name, holder)),
    )


def _result_of(
    job: Any, db: Path, first_new_run: int, timeout: float, settings: Settings
) -> SourceSweep:
    """How the crawl ended, as recorded in the store (recording it when the crawl could
    not). A store that cannot be written (a full disk) gives a failed result saying so."""
    from monitor.errors import StoreError

    try:
        return _recorded_result(job, db, first_new_run, timeout, settings)
    except StoreError as exc:
        return SourceSweep(
            source=job.ref.name,
            status="failed",
            run=None,
            returncode=job.proc.returncode,
            seconds=time.monotonic() - job.started,
            log_path=job.log_path,
            error=str(exc),
        )


def _recorded_result(
    job: Any, db: Path, first_new_run: int, timeout: float, settings: Settings
) -> SourceSweep:
    from monitor.alerting.ingest import SweepRecorder
    from monitor.store import open_store

    seconds = time.monotonic() - job.started
    with open_store(db) as store:
        # The run this crawl opened: not another process's run of the same source, nor, in a
        # warm worker, another crawl's of it (the worker names its run when it can).
        run_id = getattr(job, "run_id", None)
        runs = [
            r
            for r in store.runs.latest(first_new_run - 1)
            if r["source"] == job.ref.name
            and r["pid"] == job.proc.pid
            and (run_id is None or r["id"] == run_id)
        ]
        if runs and runs[-1]["status"] == "running":
            with store.transaction():
                if job.shares_process:  # its worker lives on: the crawl itself is over
                    store.runs.crash(runs[-1]["id"])
                else:
                    store.runs.mark_crashed(job.ref.name)
            runs[-1] = _read_run(store, runs[-1]["id"])
    if job.proc.returncode == EXIT_SOURCE_BUSY and not runs:
        return SourceSweep(
            source=job.ref.name,
            status="busy",
            run=None,
            returncode=job.proc.returncode,
            seconds=seconds,
            log_path=job.log_path,
            error=_exit_problem(job.proc.returncode, job.log_path),
        )
    if job.timed_out:
        error = f"crawl killed after the {timeout:.0f} s timeout"
    elif job.stopped:
        error = "crawl stopped before it finished (heishi was stopping)"
        if job.proc.returncode == -signal.SIGKILL:
            error += "; killed when it did not stop in time"
    elif job.proc.returncode != 0:
        error = _exit_problem(job.proc.returncode, job.log_path)
    else:
        error = None
    # Stopped on purpose: not a failure of the source. Killed at the timeout, or died: a
    # failure. Refused to start (exit 2: a broken site or config file, a full disk): failed.
    if job.stopped and not job.timed_out:
        status = "interrupted"
    elif job.proc.returncode == 2 and not job.timed_out:
        status = "failed"
    else:
        status = "crashed"
    recorder = SweepRecorder(
        db, source=job.ref.name, kind=job.ref.kind, url=job.ref.url, settings=settings
    )
    if not runs:
        # The crawl never recorded an outcome: record it, so source health shows it.
        outcome = recorder.record_failure(
            status, error or "the crawl ended without recording its run"
        )
        with open_store(db) as store:
            runs.append(_read_run(store, outcome.run_id))
    elif runs[-1]["status"] == "crashed":
        # It opened its run and died: the run, marked crashed, is recorded as what it was,
        # with the real reason, and counted.
        recorder.count_failure(runs[-1]["id"], status, error)
        with open_store(db) as store:
            runs[-1] = _read_run(store, runs[-1]["id"])
    elif runs[-1]["status"] == "interrupted" and job.timed_out:
        # Scrapy closed it as stopped (SIGTERM); it was the timeout's SIGTERM: a failure.
        recorder.count_failure(runs[-1]["id"], "failed", error)
        with open_store(db) as store:
            runs[-1] = _read_run(store, runs[-1]["id"])
    run = runs[-1]
    return SourceSweep(
        source=job.ref.name,
        status=run["status"],
        run=run,
        returncode=job.proc.returncode,
        seconds=seconds,
        log_path=job.log_path,
        # A run the crawl closed says itself what went wrong (nothing, when it completed).
        error=run.get("error") or (None if run["status"] in ("ok", "partial") else error),
    )


def _read_run(store: Store, run_id: int) -> dict[str, Any]:
    """A run this sweep saw or recorded (runs are never deleted)."""
    from monitor.errors import StoreError

    run = store.runs.get(run_id)
    if run is None:
        raise StoreError(f"run {run_id} is missing from the store")
    return run
