"""Distributed crawling's processes for the tests: the writer and workers of `heishi` as real
processes beside a real redis-server on 127.0.0.1, and checks of the store they fill."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
from pathlib import Path

from monitor.demo import content
from tests.helpers import HEISHI, PROJECT_ROOT

REDIS_SERVER = shutil.which("redis-server")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """The writer and two workers as real processes, each in its own process group."""

    def __init__(
        self,
        tmp: Path,
        env: dict[str, str],
        db: Path,
        *worker_args: str,
        workers: tuple[str, ...] = ("worker1", "worker2"),
    ) -> None:
        self.tmp, self.env, self.db = tmp, env, db
        self.worker_args = worker_args
        self.workers = workers
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, *args: str) -> subprocess.Popen:
        log = (self.tmp / f"{name}.log").open("wb")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(
            [*HEISHI, *args],
            cwd=PROJECT_ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.procs[name] = proc
        return proc

    def __enter__(self) -> Cluster:
        self.start("writer", "writer", "--db", str(self.db), "--create")
        for name in self.workers:
            self.start_worker(name)
        return self

    def start_worker(self, name: str, *worker_args: str) -> subprocess.Popen:
        """Start worker `name` with `worker_args` (default: the cluster's)."""
        args = worker_args or self.worker_args
        return self.start(name, "worker", "--name", name, "--log-dir", str(self.tmp / name), *args)

    def kill(self, name: str) -> None:
        os.killpg(self.procs[name].pid, signal.SIGKILL)
        self.procs[name].wait(10)

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


def cluster_env(demo_sites, url: str) -> dict[str, str]:
    return {**os.environ, **demo_sites.env(), "HEISHI_DISTRIBUTED_REDIS_URL": url}


def stored(db: Path, source: str) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT site_id FROM listings WHERE source = ? AND status = 'live'", (source,)
            )
        ]


def assert_every_listing_once(db: Path, sources: dict[str, str]) -> None:
    with sqlite3.connect(db) as conn:
        for source, site in sources.items():
            expected = {str(e["site_id"]) for e in content.entries(site, day=1)}
            ids = stored(db, source)
            assert sorted(ids) == sorted(expected), source  # all there, none twice
        assert conn.execute("SELECT count(*) FROM listings WHERE status != 'live'").fetchone() == (
            0,
        )
        versions = conn.execute(
            "SELECT count(*), count(DISTINCT listing_id) FROM listing_versions"
        ).fetchone()
        assert versions[0] == versions[1]  # one version per listing
        assert conn.execute(
            "SELECT count(*) FROM (SELECT dedupe_key FROM alerts GROUP BY 1 HAVING count(*) > 1)"
        ).fetchone() == (0,)


def runs(db: Path) -> dict[str, dict]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return {r["source"]: dict(r) for r in conn.execute("SELECT * FROM runs ORDER BY id")}
