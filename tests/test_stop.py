"""A clean stop is not a failure: SIGTERM to a real `heishi run` closes its crawls' runs as
`interrupted`, which counts neither as a success nor as a failure (the source stays healthy,
no source_failing alert however often the monitor restarts), and says why in words. A crawl
stopped at its timeout is a failure, and says so."""

from __future__ import annotations

import json
import signal
import sqlite3
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


def slow_forum(schedule: str = 'interval = "2s"', delay: float = 0.2) -> str:
    return site_file(
        "demo_forum", "t_forum", schedule, extra=f"download_delay = {delay}\n"
    ).replace("concurrency = 8", "concurrency = 1")


def writing(db) -> bool:
    """A crawl of t_forum is running and has written a few listings."""
    try:
        found = query(
            db,
            "SELECT count(*) FROM listings WHERE last_run_id = "
            "(SELECT id FROM runs WHERE status = 'running')",
        )
    except sqlite3.OperationalError:  # the store is still being created
        return False
    return found[0][0] >= 3


def take_ctrl_c() -> None:
    """In the child before it starts: SIGINT back to its default, so that Python turns it
    into KeyboardInterrupt. A shell starts background jobs (`make test &`, nohup) with SIGINT
    ignored, a child inherits that, and Python then leaves it ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def crawl_children(pid: int) -> list[int]:
    """Processes whose parent is `pid` and whose command line runs spiders.crawl."""
    found = []
    for entry in (path.name for path in Path("/proc").iterdir()):
        if not entry.isdigit():
            continue
        try:
            with Path(f"/proc/{entry}/stat").open() as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            with Path(f"/proc/{entry}/cmdline").open("rb") as handle:
                cmdline = handle.read()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid and b"spiders.crawl" in cmdline:
            found.append(int(entry))
    return found


def test_sigterm_to_the_monitor_mid_crawl_three_times_is_no_failure(tmp_path):
    sites_dir, db = tmp_path / "sites", tmp_path / "heishi.db"
    with DemoSites(day=1) as demo:
        env = child_env(tmp_path, sites_dir, demo)
        write_site(sites_dir, "t_forum", site_file("demo_forum", "t_forum", 'interval = "1h"'))
        first = heishi("sweep", "t_forum", "--db", str(db), "--create", env=env)
        assert first.returncode == 0, first.stderr
        live = query(db, "SELECT count(*) FROM listings WHERE status = 'live'")[0][0]
        write_site(sites_dir, "t_forum", slow_forum())
        for nth in (1, 2, 3):  # three restarts: the default --failures-before-alert
            query(db, "UPDATE sources SET next_run_at = '2000-01-01T00:00:00Z'")
            monitor = start_monitor(db, env, "--jitter", "0", "--stop-timeout", "10s", nth=nth)
            try:
                wait_for(lambda: writing(db), 60, "a crawl writing listings")
            finally:
                code, seconds = stop_monitor(monitor)
            assert code == 0 and seconds < 15
        status = json.loads(heishi("status", "--db", str(db), "--json", env=env).stdout)
    stopped = runs_of(db, "t_forum")[1:]
    assert len(stopped) == 3
    assert [r["status"] for r in stopped] == ["interrupted"] * 3, stopped
    assert all("stopped" in r["error"] for r in stopped), [r["error"] for r in stopped]
    assert query(db, "SELECT count(*) FROM alerts WHERE kind = 'source_failing'") == [(0,)]
    assert query(db, "SELECT health, consecutive_failures FROM sources") == [("ok", 0)]
    [source] = status["sources"]
    assert source["health"] == "ok" and source["consecutive_failures"] == 0
    assert source["last_run"]["status"] == "interrupted"
    assert query(db, "SELECT count(*) FROM listings WHERE status = 'live'") == [(live,)]
    log = (tmp_path / "heishi-logs" / "heishi-run.log").read_text(encoding="utf-8")
    assert "t_forum: interrupted after" in log and "failure(s) in a row" not in log


def test_a_crawl_stopped_before_scrapy_could_catch_the_signal_is_interrupted_in_words(tmp_path):
    sites_dir, db = tmp_path / "sites", tmp_path / "heishi.db"
    with DemoSites(day=1) as demo:
        env = child_env(tmp_path, sites_dir, demo)
        write_site(sites_dir, "t_forum", slow_forum())
        monitor = start_monitor(db, env, "--jitter", "0")
        try:
            # SIGTERM as soon as the crawl process exists: it is still importing Python
            # modules, long before Scrapy installs its signal handlers.
            wait_for(lambda: crawl_children(monitor.pid), 30, "the crawl process")
        finally:
            code, _ = stop_monitor(monitor)
    assert code == 0
    [run] = runs_of(db, "t_forum")
    assert run["status"] == "interrupted"
    assert run["error"] in (
        "crawl stopped before it finished (heishi was stopping)",
        "crawl stopped (SIGTERM or SIGINT) before it finished",
    )
    assert query(db, "SELECT health, consecutive_failures FROM sources") == [("unknown", 0)]


def test_a_crawl_stopped_at_its_timeout_is_a_failure_that_says_so(tmp_path):
    sites_dir, db = tmp_path / "sites", tmp_path / "heishi.db"
    with DemoSites(day=1) as demo:
        env = child_env(tmp_path, sites_dir, demo)
        # About 45 requests a second apart: far longer than the timeout; Scrapy closes the
        # run itself when it gets the timeout's SIGTERM.
        write_site(sites_dir, "t_forum", slow_forum(delay=1.0))
        result = subprocess.run(
            [*HEISHI, "sweep", "t_forum", "--db", str(db), "--create", "--timeout", "6"],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 1
    [run] = runs_of(db, "t_forum")
    assert run["status"] in ("failed", "crashed")
    assert run["error"].startswith("crawl killed after the 6 s timeout"), run["error"]
    assert query(db, "SELECT health, consecutive_failures FROM sources") == [("failing", 1)]
    assert query(db, "SELECT count(*) FROM alerts WHERE kind = 'source_failing'") == [(1,)]


def test_ctrl_c_on_a_sweep_stops_its_crawls_and_records_them_interrupted(tmp_path):
    sites_dir, db = tmp_path / "sites", tmp_path / "heishi.db"
    with DemoSites(day=1) as demo:
        env = child_env(tmp_path, sites_dir, demo)
        # Slow enough that the crawl is still going when Ctrl+C comes, on a loaded machine too.
        write_site(sites_dir, "t_forum", slow_forum(delay=1.0))
        sweep = subprocess.Popen(
            [*HEISHI, "sweep", "t_forum", "--db", str(db), "--create"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=take_ctrl_c,
        )
        try:
            wait_for(lambda: db.exists() and writing(db), 60, "the crawl writing")
            sweep.send_signal(signal.SIGINT)
            _, stderr = sweep.communicate(timeout=60)
        finally:
            if sweep.poll() is None:
                sweep.kill()
    assert sweep.returncode == 130, stderr
    [run] = runs_of(db, "t_forum")
    assert run["status"] == "interrupted"
    assert query(db, "SELECT count(*) FROM runs WHERE status = 'running'") == [(0,)]
