"""One live run per source: a second crawl of a source that is being crawled (a manual
`heishi sweep`, the monitor's next turn, a monitor restarted after its crawls outlived it)
is refused by the store's run lease, so no crawl ever marks another's listings removed."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from monitor.demo.sites import DemoSites
from tests.helpers import (
    HEISHI,
    PROJECT_ROOT,
    child_env,
    heishi,
    query,
    runs_of,
    site_file,
    start_monitor,
    stop_monitor,
    wait_for,
)
from tests.servers import write_site

pytestmark = [
    pytest.mark.daemon,
    pytest.mark.slow,
]


def slow_forum(schedule: str = 'interval = "1h"', delay: float = 0.2) -> str:
    """The demo forum (43 threads on 3 pages), one request at a time, `delay` seconds apart:
    at 0.2 s a crawl takes about ten seconds, long enough to overlap."""
    return site_file(
        "demo_forum", "t_forum", schedule, extra=f"download_delay = {delay}\n"
    ).replace("concurrency = 8", "concurrency = 1")


def crawl_running(db) -> list:
    return query(db, "SELECT id, pid FROM runs WHERE status = 'running'")


def removed(db) -> list:
    return query(db, "SELECT site_id FROM listings WHERE status != 'live'")


def test_a_manual_sweep_during_a_crawl_of_the_same_source_is_refused_and_removes_nothing(
    tmp_path,
):
    sites_dir, db = tmp_path / "sites", tmp_path / "heishi.db"
    with DemoSites(day=1) as demo:
        env = child_env(tmp_path, sites_dir, demo)
        write_site(sites_dir, "t_forum", site_file("demo_forum", "t_forum", 'interval = "1h"'))
        first = heishi("sweep", "t_forum", "--db", str(db), "--create", env=env)
        assert first.returncode == 0, first.stderr
        live = query(db, "SELECT count(*) FROM listings WHERE status = 'live'")[0][0]
        assert live == 43
        # Some five seconds: the refused sweep below answers within half a second of its start.
        write_site(sites_dir, "t_forum", slow_forum(delay=0.1))
        with (tmp_path / "first.out").open("w") as log:  # the child keeps its own
            crawl = subprocess.Popen(
                [*HEISHI, "sweep", "t_forum", "--db", str(db)],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            # The first crawl is writing (it has seen some listings again) when the second starts.
            wait_for(
                lambda: (
                    query(
                        db,
                        "SELECT count(*) FROM listings WHERE last_run_id = "
                        "(SELECT max(id) FROM runs WHERE status = 'running')",
                    )[0][0]
                    >= 5
                ),
                60,
                "the first crawl to be writing",
            )
            [(holder, pid)] = crawl_running(db)
            second = heishi("sweep", "t_forum", "--db", str(db), "--json", env=env)
            assert crawl.wait(timeout=120) == 0, (tmp_path / "first.out").read_text()
        finally:
            if crawl.poll() is None:
                crawl.kill()
    assert removed(db) == []
    assert query(db, "SELECT count(*) FROM alerts WHERE kind IN ('removed', 'relisted')") == [(0,)]
    assert second.returncode == 1
    assert f"already being crawled: run {holder} (pid {pid}" in second.stdout + second.stderr
    assert "Traceback" not in second.stderr
    # The refused sweep started no crawl and recorded no run; the first completed alone.
    assert [(r["status"], r["removed"]) for r in runs_of(db, "t_forum")] == [("ok", 0), ("ok", 0)]


def test_a_restarted_monitor_does_not_crawl_a_source_its_killed_predecessors_crawl_still_does(
    tmp_path,
):
    sites_dir, db = tmp_path / "sites", tmp_path / "heishi.db"
    with DemoSites(day=1) as demo:
        env = child_env(tmp_path, sites_dir, demo)
        write_site(sites_dir, "t_forum", site_file("demo_forum", "t_forum", 'interval = "1h"'))
        first = heishi("sweep", "t_forum", "--db", str(db), "--create", env=env)
        assert first.returncode == 0, first.stderr
        write_site(sites_dir, "t_forum", slow_forum('interval = "2s"'))
        query(db, "UPDATE sources SET next_run_at = '2000-01-01T00:00:00Z'")
        monitor = start_monitor(db, env, "--jitter", "0")
        try:
            wait_for(lambda: crawl_running(db), 60, "the monitor's crawl")
        finally:
            # The monitor alone dies; its crawl, in its own process group, goes on.
            os.kill(monitor.pid, signal.SIGKILL)
            monitor.wait(10)
        [(orphan_run, orphan_pid)] = crawl_running(db)
        restarted = start_monitor(db, env, "--jitter", "0", nth=2)
        log_path = tmp_path / "heishi-logs" / "heishi-run.log"
        try:
            # Its turn meets the orphan's run and is skipped. The orphan read its site file
            # when it started: the crawls after it may be fast again.
            wait_for(
                lambda: "already being crawled" in log_path.read_text(encoding="utf-8"),
                60,
                "a turn of the restarted monitor refused",
            )
            write_site(sites_dir, "t_forum", site_file("demo_forum", "t_forum", 'interval = "2s"'))
            # The orphan finishes its run alone; the next turn then crawls normally.
            wait_for(
                lambda: (
                    query(db, "SELECT status FROM runs WHERE id = ?", (orphan_run,))
                    != [("running",)]
                ),
                120,
                "the orphaned crawl",
            )
            wait_for(
                lambda: [
                    r
                    for r in runs_of(db, "t_forum")
                    if r["id"] > orphan_run and r["status"] == "ok"
                ],
                120,
                "a turn after the orphan finished",
            )
        finally:
            code, _ = stop_monitor(restarted)
    assert code == 0
    assert removed(db) == []
    assert query(db, "SELECT count(*) FROM alerts WHERE kind IN ('removed', 'relisted')") == [(0,)]
    # Its turns while the orphan ran were skipped, and said so.
    log = log_path.read_text(encoding="utf-8")
    assert f"already being crawled: run {orphan_run} (pid {orphan_pid}" in log
    runs = runs_of(db, "t_forum")
    orphan = next(r for r in runs if r["id"] == orphan_run)
    # A crawl in a warm worker (the default) is stopped by its worker once the monitor that
    # reads the worker is gone ("interrupted", nothing removed); a crawl in a process of its
    # own (HEISHI_CRAWL_WORKERS=0) finishes alone ("ok").
    assert orphan["status"] in ("ok", "interrupted") and orphan["pid"] == orphan_pid
    # Never two runs of t_forum at once.
    for before, after in zip(runs, runs[1:], strict=False):
        assert after["started_at"] >= before["finished_at"], (before, after)


def test_the_store_refuses_a_second_running_run_of_a_source(db_path):
    from monitor.errors import SourceBusyError
    from monitor.store import open_store

    with open_store(db_path) as store:
        first = store.runs.start("forum", "forum", None)
        with pytest.raises(SourceBusyError, match=rf"run {first} \(pid {os.getpid()}"):
            store.runs.start("forum", "forum", None)
        other = store.runs.start("channel", "channel", None)  # another source: its own lease
        assert other > first


@pytest.mark.parametrize("reaped", [True, False])
def test_a_run_left_by_a_dead_process_is_taken_over_and_closed_as_crashed(db_path, reaped):
    from monitor.store import open_store
    from monitor.store.runs import process_started

    gone = subprocess.Popen(["true"])
    if reaped:
        gone.wait()
    else:  # exited, not yet reaped: a zombie still has its pid
        stat = Path(f"/proc/{gone.pid}/stat")
        wait_for(lambda: stat.read_text().split(") ")[1][0] == "Z", 10, "exit")
    started = None if reaped else process_started(gone.pid)
    with open_store(db_path) as store:
        stale = store.runs.start("forum", "forum", None)
        store.conn.execute("UPDATE runs SET pid = ?, pid_started = ?", (gone.pid, started))
        fresh = store.runs.start("forum", "forum", None)
        assert store.runs.get(stale)["status"] == "crashed"
        assert store.runs.get(fresh)["status"] == "running"
    gone.wait()


def test_a_crawl_whose_run_was_closed_under_it_writes_nothing_more(db_path):
    from monitor.alerting.ingest import SweepRecorder
    from monitor.errors import RunLeaseLost
    from monitor.store import open_store
    from tests.helpers import listing

    recorder = SweepRecorder(db_path, source="forum", kind="forum", batch_size=1)
    run_id = recorder.open()
    recorder.record(listing("1", "身份证四件套"))
    with open_store(db_path) as store, store.transaction():
        store.conn.execute("UPDATE runs SET status = 'crashed' WHERE id = ?", (run_id,))
    with pytest.raises(RunLeaseLost, match="no longer running"):
        recorder.record(listing("2", "银行卡料"))
    with open_store(db_path) as store:
        assert [r[0] for r in store.conn.execute("SELECT site_id FROM listings")] == ["1"]
