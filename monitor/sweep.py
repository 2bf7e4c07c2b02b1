"""Sweeping sources: each crawl in its own subprocess, a few at a time, each with a timeout.

Scrapy's reactor cannot be restarted inside one process, and a crawl that hangs or crashes
must never take the others (or the monitor) down with it, so every source's crawl is
`python -m spiders.crawl SOURCE --db PATH` in a new process group that a timeout can kill
whole, browser included. The crawl writes its own run into the store; this module only
starts, watches and reports, and records a failed run when a crawl died before it could.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.config import PROJECT_ROOT

DEFAULT_TIMEOUT = 600.0


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
    status: str  # ok | partial | failed | crashed
    run: dict[str, Any] | None
    returncode: int | None
    seconds: float
    log_path: Path
    error: str | None = None


def log_dir(db: Path) -> Path:
    """Crawl logs live beside the store: heishi.db -> heishi-logs/."""
    from monitor.file_modes import private_folder

    return private_folder(db.parent / f"{db.stem}-logs", tighten=True)


def _private_opener(path: str, flags: int) -> int:
    """Open a log 0600: it quotes what hostile pages said."""
    fd = os.open(path, flags, 0o600)
    os.fchmod(fd, 0o600)
    return fd


def _last_line(path: Path) -> str:
    try:
        lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    errors = [ln for ln in lines if "ERROR" in ln or ln.startswith("heishi:")]
    return (errors or lines or [""])[-1][-400:]


class _Running:
    def __init__(self, ref: SourceRef, db: Path, env: dict[str, str], extra: Sequence[str]):
        self.ref = ref
        self.log_path = log_dir(db) / f"{ref.name}.log"
        self.log = open(self.log_path, "w", opener=_private_opener)  # noqa: SIM115
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

    def kill(self) -> None:
        self.timed_out = True
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(timeout=5)
                return
            except subprocess.TimeoutExpired:
                continue


def sweep_sources(
    sources: Sequence[SourceRef],
    db: str | Path,
    *,
    env: dict[str, str] | None = None,
    jobs: int = 3,
    timeout: float = DEFAULT_TIMEOUT,
    extra_args: Sequence[str] = (),
    on_start: Callable[[SourceRef], None] | None = None,
    on_done: Callable[[SourceSweep], None] | None = None,
) -> list[SourceSweep]:
    """Sweep `sources` into the store at `db`, at most `jobs` at a time."""
    from monitor.store import open_store

    db = Path(db).resolve()
    with open_store(db) as store:  # create and migrate once, before crawls race to do it
        first_new_run = store.max_run_id() + 1
    child_env = {**os.environ, **(env or {}), "SCRAPY_SETTINGS_MODULE": "spiders.settings"}
    child_env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(PROJECT_ROOT), child_env.get("PYTHONPATH")])
    )
    pending = list(sources)
    running: list[_Running] = []
    results: dict[str, SourceSweep] = {}
    while pending or running:
        while pending and len(running) < max(1, jobs):
            ref = pending.pop(0)
            if on_start:
                on_start(ref)
            running.append(_Running(ref, db, child_env, extra_args))
        time.sleep(0.1)
        for job in list(running):
            if job.proc.poll() is None and time.monotonic() - job.started > timeout:
                job.kill()
            if job.proc.poll() is None:
                continue
            running.remove(job)
            job.log.close()
            result = _result_of(job, db, first_new_run, timeout)
            results[job.ref.name] = result
            if on_done:
                on_done(result)
    return [results[ref.name] for ref in sources]


def _result_of(job: _Running, db: Path, first_new_run: int, timeout: float) -> SourceSweep:
    from monitor.ingest import SweepRecorder
    from monitor.store import open_store

    seconds = time.monotonic() - job.started
    with open_store(db) as store:
        runs = [r for r in store.latest_runs(first_new_run - 1) if r["source"] == job.ref.name]
        if runs and runs[-1]["status"] == "running":
            with store.transaction():
                store.mark_crashed_runs(job.ref.name)
            runs[-1] = store.run(runs[-1]["id"])
    if job.timed_out:
        error = f"crawl killed after the {timeout:.0f} s timeout"
    elif job.proc.returncode != 0:
        error = f"crawl exited with code {job.proc.returncode}: {_last_line(job.log_path)}"
    else:
        error = None
    if not runs or runs[-1]["status"] == "crashed":
        # The crawl never recorded an outcome: record the failure so source health shows it.
        recorder = SweepRecorder(db, source=job.ref.name, kind=job.ref.kind, url=job.ref.url)
        recorder.open()
        recorder.close({}, "crashed", error or "the crawl ended without recording its run")
        with open_store(db) as store:
            runs.append(store.run(recorder.run_id))
    run = runs[-1]
    return SourceSweep(
        source=job.ref.name,
        status=run["status"],
        run=run,
        returncode=job.proc.returncode,
        seconds=seconds,
        log_path=job.log_path,
        error=run.get("error") or error,
    )
