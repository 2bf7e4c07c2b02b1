"""Distributed crawling through a restart of a real redis-server: with persistence (AOF) the
writer, the workers and `heishi distributed sweep --wait` wait for it and the sweep completes
as if nothing happened; without, the sweeps Redis lost are closed as interrupted (no removals)
and the next sweep works. A writer killed and restarted mid-sweep takes its run over, with
the counts the store kept."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest

from monitor.config import PROJECT_ROOT
from monitor.running import distributed as dist
from tests.cluster import (
    REDIS_SERVER,
    Cluster,
    assert_every_listing_once,
    cluster_env,
    free_port,
)
from tests.helpers import HEISHI, wait_for

pytestmark = [
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.skipif(REDIS_SERVER is None, reason="the redis-server binary is absent"),
]
FORUM_LISTINGS = 43
# Slow enough that the restart lands mid-sweep; leases long enough to outlast it.
SLOW = ["--set", "DOWNLOAD_DELAY=0.3", "--set", "HEISHI_DISTRIBUTED_LEASE_SECONDS=30"]


class RedisServer:
    """A redis-server on 127.0.0.1 that can be killed and started again on the same port,
    with its data kept in an append-only file (`persistent`) or not at all."""

    def __init__(self, directory: Path, persistent: bool) -> None:
        self.directory = directory
        self.persistent = persistent
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        argv = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--dir", str(self.directory)]
        if self.persistent:
            argv += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            argv += ["--appendonly", "no"]
        log = (self.directory / "redis.log").open("ab")  # noqa: SIM115 (closed with the process)
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        client = dist.connect(self.url)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except Exception:
                return False

        wait_for(answers, 20, "redis-server")
        return self

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def redis_server(tmp_path, request):
    server = RedisServer(tmp_path, persistent=request.param).start()
    yield server
    server.stop()


def start_sweep_and_wait(env: dict, tmp_path: Path, name: str = "sweep") -> subprocess.Popen:
    with (tmp_path / f"{name}.out").open("w") as out:  # the child keeps its own
        return subprocess.Popen(
            [*HEISHI, "distributed", "sweep", "demo_forum", "--wait", "--timeout", "180", "--json"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def written(client) -> int:
    """Site ids the writer has committed in the open sweep (0 when Redis is not there)."""
    try:
        sweeps = dist.open_sweeps(client)
        return int(client.scard(dist.sweep_key(sweeps[0], "written"))) if sweeps else 0
    except Exception:
        return 0


def runs(db: Path) -> list[dict]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM runs ORDER BY id")]


def logs(tmp_path: Path, *names: str) -> str:
    return "".join((tmp_path / f"{n}.log").read_text(errors="replace") for n in names)


@pytest.mark.parametrize("redis_server", [True], indirect=True)
def test_a_redis_restart_with_persistence_is_waited_out_and_the_sweep_completes(
    redis_server, demo_sites, tmp_path
):
    db = tmp_path / "heishi.db"
    env = cluster_env(demo_sites, redis_server.url)
    client = dist.connect(redis_server.url)
    with Cluster(tmp_path, env, db, *SLOW) as cluster:
        sweep = start_sweep_and_wait(env, tmp_path)
        wait_for(lambda: written(client) >= 5, 60, "the first listings written")
        redis_server.kill()
        writer = cluster.procs["writer"]
        said = tmp_path / "sweep.out"
        wait_for(
            lambda: "cannot be reached" in logs(tmp_path, "writer") or writer.poll() is not None,
            30,
            "the writer to notice",
        )
        # `heishi distributed sweep --wait` meets the outage too, and waits it out.
        wait_for(
            lambda: "cannot be reached" in said.read_text() or sweep.poll() is not None,
            30,
            "the waiting sweep command to notice",
        )
        assert sweep.poll() is None, said.read_text()
        redis_server.start()  # the same port, the same append-only file
        assert sweep.wait(180) == 0, said.read_text()
        alive = {name: proc.poll() is None for name, proc in cluster.procs.items()}
    assert alive == {"writer": True, "worker1": True, "worker2": True}
    assert "heishi distributed sweep: Redis at redis://127.0.0.1:" in said.read_text()
    assert "Traceback" not in said.read_text()
    every = logs(tmp_path, "writer", "worker1", "worker2")
    assert "Traceback" not in every
    assert "is back after" in logs(tmp_path, "writer")
    [run] = runs(db)
    assert (run["status"], run["items"], run["new"], run["removed"]) == (
        "ok",
        FORUM_LISTINGS,
        FORUM_LISTINGS,
        0,
    )
    assert_every_listing_once(db, {"demo_forum": "forum"})


@pytest.mark.parametrize("redis_server", [False], indirect=True)
def test_sweeps_lost_by_a_redis_restart_without_persistence_are_interrupted_not_hung(
    redis_server, demo_sites, tmp_path
):
    db = tmp_path / "heishi.db"
    env = cluster_env(demo_sites, redis_server.url)
    client = dist.connect(redis_server.url)
    with Cluster(tmp_path, env, db, *SLOW) as cluster:
        sweep = start_sweep_and_wait(env, tmp_path)
        wait_for(lambda: written(client) >= 5, 60, "the first listings written")
        redis_server.kill()
        redis_server.start()  # empty: the sweep, its queue and its items are gone
        assert sweep.wait(60) == 1
        assert "Redis lost sweep(s)" in (tmp_path / "sweep.out").read_text()
        wait_for(lambda: runs(db)[0]["status"] != "running", 60, "the lost sweep's run closed")
        again = start_sweep_and_wait(env, tmp_path, "again")
        assert again.wait(180) == 0, (tmp_path / "again.out").read_text()
        alive = {name: proc.poll() is None for name, proc in cluster.procs.items()}
    assert alive == {"writer": True, "worker1": True, "worker2": True}
    assert "Traceback" not in logs(tmp_path, "writer", "worker1", "worker2")
    lost, next_run = runs(db)
    assert lost["status"] == "interrupted" and "Redis lost this sweep" in lost["error"]
    assert lost["removed"] == 0
    assert (next_run["status"], next_run["items"], next_run["removed"]) == ("ok", FORUM_LISTINGS, 0)
    assert_every_listing_once(db, {"demo_forum": "forum"})


@pytest.mark.parametrize("redis_server", [True], indirect=True)
def test_a_writer_killed_mid_sweep_and_restarted_takes_its_run_over_with_its_counts(
    redis_server, demo_sites, tmp_path
):
    db = tmp_path / "heishi.db"
    env = cluster_env(demo_sites, redis_server.url)
    client = dist.connect(redis_server.url)
    with Cluster(tmp_path, env, db, *SLOW) as cluster:
        sweep = start_sweep_and_wait(env, tmp_path)
        wait_for(lambda: written(client) >= 5, 60, "the first listings written")
        cluster.kill("writer")
        [before] = runs(db)
        restarted = cluster.start("writer2", "writer", "--db", str(db))
        assert sweep.wait(180) == 0, (tmp_path / "sweep.out").read_text()
        assert restarted.poll() is None
    [run] = runs(db)
    assert run["id"] == before["id"] and before["new"] >= 5
    assert run["pid"] == restarted.pid  # the run is the new writer's: not crashed under it
    assert (run["status"], run["items"], run["new"], run["removed"]) == (
        "ok",
        FORUM_LISTINGS,
        FORUM_LISTINGS,
        0,
    )
    assert_every_listing_once(db, {"demo_forum": "forum"})
