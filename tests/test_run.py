"""`heishi run` as a real process against real local sites, with intervals of seconds: runs
come on time without overlapping, a hanging site is killed at the timeout, a crashing spider
does not stop the others, SIGTERM leaves a consistent store, a restart resumes the schedule."""

from __future__ import annotations

import json
import re
import socket
import sqlite3
import time
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.demo.local_server import closed_port_url
from monitor.demo.sites import DemoSites
from monitor.store import utc_now
from tests.helpers import (
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

# With pytest-xdist: every test of this file in one process, so the busy monitor (half a
# minute of real crawls, shared by seven tests) runs once.
pytestmark = [
    pytest.mark.daemon,
    pytest.mark.xdist_group("test_run"),
]


def assert_consistent(db: Path) -> None:
    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    assert query(db, "SELECT id, source FROM runs WHERE status = 'running'") == []


def first_runs(log: Path, names: object) -> dict[str, str] | None:
    """The first run the monitor logged for each of `names` when it scheduled them; None
    until it has logged them all."""
    text = log.read_text(encoding="utf-8") if log.exists() else ""
    found = {n: re.search(rf"\b{n}: [^\n]*, first run (\S+)", text) for n in names}
    return {n: m.group(1) for n, m in found.items()} if all(found.values()) else None


def next_run(db: Path, source: str) -> str:
    return query(db, "SELECT next_run_at FROM sources WHERE name = ?", (source,))[0][0]


def later(stamp: str, seconds: float) -> str:
    """A store timestamp `seconds` after `stamp`, in the store's format."""
    from monitor.running.schedule import parse_time, store_time

    return store_time(parse_time(stamp) + timedelta(seconds=seconds))


class HangingServer:
    """Accepts connections (the kernel completes the handshake) and never answers."""

    def __enter__(self) -> HangingServer:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


# -- one monitor, five sources, half a minute -------------------------------------------------

WINDOW = 90.0  # at most: the monitor is stopped as soon as it has shown all the tests check
CRAWL_TIMEOUT = 15.0  # two busy cores, three crawls at once: a demo crawl may take 10 s
SOURCES = ("t_forum", "t_channel", "t_hang", "t_down", "t_broken")


def busy_enough(db: Path, log: Path) -> bool:
    """Has the busy monitor shown everything the tests below check? Three complete runs of
    each healthy source, one of them started after the first failure of the others; a crawl
    of t_hang killed at the timeout, and logged; a turn skipped; two failures of t_down; a
    crawl of t_broken failed on its site file."""
    try:
        text = log.read_text(encoding="utf-8")
        runs = {name: runs_of(db, name) for name in SOURCES}
    except (OSError, sqlite3.OperationalError):
        return False
    finished = [r["finished_at"] for n in SOURCES[2:] for r in runs[n] if r["finished_at"]]
    if not finished:
        return False
    first_failure = min(finished)
    now = utc_now()  # whole seconds: a run that finished this second is not yet "before stop"
    for name in ("t_forum", "t_channel"):
        ok = [r for r in runs[name] if r["status"] == "ok" and r["finished_at"] < now]
        if len(ok) < 3 or not any(r["started_at"] > first_failure for r in ok):
            return False
    return bool(
        any("timeout" in (r["error"] or "") for r in runs["t_hang"])
        and re.search(r"t_hang: \w+ after [\d.]+ s", text)
        and "that turn is skipped" in text
        and len([r for r in runs["t_down"] if r["status"] in ("failed", "crashed")]) >= 2
        and any("site file" in (r["error"] or "") for r in runs["t_broken"])
    )


@pytest.fixture(scope="module")
def busy(tmp_path_factory, warm_cache):
    """A monitor running t_forum and t_channel (demo sites, every 3 s), t_hang (never
    answers) and t_down (closed port) every 6 s, and t_broken (its file broken once the
    monitor has started) every 10 s, three crawls at a time, until it has shown what the
    tests check (at most WINDOW seconds); then SIGTERM. Its crawls find the cache warm: the
    healthy ones must finish within CRAWL_TIMEOUT."""
    base = tmp_path_factory.getbasetemp()
    tmp = tmp_path_factory.mktemp("busy")
    sites_dir, db = tmp / "sites", tmp / "heishi.db"
    log = tmp / "heishi-logs" / "heishi-run.log"
    every, slower, slowest = 'interval = "3s"', 'interval = "6s"', 'interval = "10s"'
    with DemoSites(day=1) as demo, HangingServer() as hang:
        forum = site_file("demo_forum", "t_forum", every).replace("max_pages = 5", "max_pages = 2")
        write_site(sites_dir, "t_forum", forum)
        write_site(sites_dir, "t_channel", site_file("demo_channel", "t_channel", every))
        write_site(sites_dir, "t_hang", site_file("demo_forum", "t_hang", slower, url=hang.url))
        down = closed_port_url() + "/forum.php"
        write_site(sites_dir, "t_down", site_file("demo_forum", "t_down", slower, url=down))
        write_site(sites_dir, "t_broken", site_file("demo_channel", "t_broken", slowest))
        # t_down's crawls give up on its refused connection after 0.1 + 0.2 s of backoff, not
        # 1 + 2 s: the monitor passes the setting to every crawl it starts.
        env = {
            **child_env(base, sites_dir, demo, cache=warm_cache),
            "HEISHI_RETRY_BACKOFF_BASE": "0.1",
        }
        started = time.monotonic()
        proc = start_monitor(
            db,
            env,
            "--max-parallel",
            "3",
            "--timeout",
            f"{CRAWL_TIMEOUT:g}s",
            "--jitter",
            "0.5s",
            "--failures-before-alert",
            "2",
            "--stop-timeout",
            "5s",
        )
        try:
            # A crawl of t_broken now fails: its site file no longer loads.
            write_site(
                sites_dir,
                "t_broken",
                site_file("demo_channel", "t_broken", slowest) + '\n[selectors]\nitme = "div"\n',
            )
            second = heishi("run", "--db", str(db), timeout=60, env=env)
            status_live = json.loads(heishi("status", "--db", str(db), "--json", env=env).stdout)
            while not busy_enough(db, log) and time.monotonic() - started < WINDOW:
                time.sleep(0.5)
        finally:
            stopped_at = utc_now()
            code, stop_seconds = stop_monitor(proc)
    status_after = json.loads(heishi("status", "--db", str(db), "--json", env=env).stdout)
    return {
        "db": db,
        "code": code,
        "stopped_at": stopped_at,
        "stop_seconds": stop_seconds,
        "second": second,
        "status_live": status_live,
        "status_after": status_after,
        "log": log.read_text(encoding="utf-8"),
    }


def test_each_source_runs_on_its_interval_without_overlapping_itself(busy):
    db = busy["db"]
    for source in ("t_forum", "t_channel"):
        runs = [r for r in runs_of(db, source) if r["finished_at"] < busy["stopped_at"]]
        assert len(runs) >= 3, f"{source}: only {len(runs)} run(s) in {WINDOW:g} s at most"
        assert all(r["status"] == "ok" for r in runs), runs
        for before, after in zip(runs, runs[1:], strict=False):
            assert after["started_at"] >= before["finished_at"], f"{source} overlapped itself"
    assert "still crawling when its next turn came; that turn is skipped" in busy["log"]


def test_a_hanging_site_is_killed_at_the_timeout_and_recorded_failed(busy):
    runs = runs_of(busy["db"], "t_hang")
    killed = [r for r in runs if r["error"] and "timeout" in r["error"]]
    assert killed, runs
    # Each failed; the last may have been stopped with the monitor instead (interrupted).
    assert {r["status"] for r in runs[:-1]} <= {"failed", "crashed"}
    assert runs[-1]["status"] in ("failed", "crashed", "interrupted")
    seconds = [float(s) for s in re.findall(r"t_hang: \w+ after ([\d.]+) s", busy["log"])]
    # Killed at the timeout: SIGTERM, then SIGKILL five seconds later if it does not go.
    # (The last one may have been cut short by the final SIGTERM.)
    assert seconds and all(CRAWL_TIMEOUT <= s < CRAWL_TIMEOUT + 7 for s in seconds[:-1] or seconds)


def test_crashing_and_failing_spiders_do_not_stop_the_others(busy):
    db = busy["db"]
    down = runs_of(db, "t_down")
    # The last crawl may have been cut short by stopping the monitor (interrupted).
    assert len(down) >= 2 and {r["status"] for r in down[:-1]} <= {"failed", "crashed"}
    assert down[-1]["status"] in ("failed", "crashed", "interrupted")
    assert any("list page" in (r["error"] or "") for r in down)  # connection refused
    broken = runs_of(db, "t_broken")
    assert any("site file" in (r["error"] or "") for r in broken), broken
    assert broken[-1]["status"] in ("failed", "crashed", "interrupted")
    health = dict(query(db, "SELECT name, health FROM sources"))
    assert health["t_down"] == health["t_hang"] == health["t_broken"] == "failing"
    # The healthy sources kept completing runs after the others had started failing.
    first_failure = min(r["finished_at"] for r in down + broken + runs_of(db, "t_hang"))
    for source in ("t_forum", "t_channel"):
        later = [r for r in runs_of(db, source) if r["started_at"] > first_failure]
        assert any(r["status"] == "ok" for r in later), source


def test_sigterm_exits_promptly_with_a_consistent_store(busy):
    db = busy["db"]
    assert busy["code"] == 0
    assert busy["stop_seconds"] < 12
    assert_consistent(db)
    assert query(db, "SELECT count(*) FROM listings WHERE status != 'live'") == [(0,)]
    assert query(db, "SELECT status FROM daemon") == [("stopped",)]


def test_a_second_monitor_on_the_same_store_is_refused(busy):
    assert busy["second"].returncode == 2
    assert "already monitored by heishi run" in busy["second"].stderr


def test_status_shows_sources_the_daemon_and_its_heartbeat(busy):
    live, after = busy["status_live"], busy["status_after"]
    assert live["daemon"]["live"] is True and live["daemon"]["status"] == "running"
    assert live["daemon"]["settings"]["max_parallel"] == 3
    assert after["daemon"]["live"] is False and after["daemon"]["status"] == "stopped"
    sources = {s["name"]: s for s in after["sources"]}
    assert set(sources) == {"t_forum", "t_channel", "t_hang", "t_down", "t_broken"}
    forum = sources["t_forum"]
    assert forum["schedule"] == "every 3s"
    # Its last run may be the one the stop cut short; earlier ones completed with items.
    assert forum["last_run"] and forum["next_run_at"]
    with sqlite3.connect(busy["db"]) as conn:
        completed = conn.execute(
            "SELECT max(items) FROM runs WHERE source = 't_forum' AND status = 'ok'"
        ).fetchone()[0]
    assert completed and completed > 0
    assert sources["t_down"]["consecutive_failures"] >= 2


@pytest.mark.skipif(
    not hasattr(__import__("monitor.alerting.ingest").alerting.ingest, "failures_before_alert"),
    reason="monitor.alerting.ingest does not read HEISHI_FAILURES_BEFORE_ALERT yet",
)
def test_a_source_alerts_only_after_failing_the_set_number_of_times_in_a_row(busy):
    db = busy["db"]
    failed = [r["id"] for r in runs_of(db, "t_down")]
    alerts = query(
        db, "SELECT run_id FROM alerts WHERE kind = 'source_failing' AND source = ?", ("t_down",)
    )
    assert alerts == [(failed[1],)]  # --failures-before-alert 2: at the second failure, once


# -- SIGTERM in the middle of a crawl ------------------------------------------------------


def test_sigterm_in_the_middle_of_a_crawl_removes_nothing_and_leaves_no_run_open(tmp_path):
    sites_dir, db = tmp_path / "sites", tmp_path / "heishi.db"
    with DemoSites(day=1) as demo:
        env = child_env(tmp_path, sites_dir, demo)
        write_site(sites_dir, "t_forum", site_file("demo_forum", "t_forum", 'interval = "2s"'))
        once = heishi("run", "--once", "--db", str(db), "--create", env=env)
        assert once.returncode == 0, once.stderr
        listings = query(db, "SELECT count(*) FROM listings WHERE status = 'live'")[0][0]
        versions = query(db, "SELECT count(*) FROM listing_versions")[0][0]
        assert listings > 20
        # The same source, slowed down so that the next crawl is still going when we stop.
        slow = site_file(
            "demo_forum", "t_forum", 'interval = "2s"', extra="download_delay = 0.4\n"
        ).replace("concurrency = 8", "concurrency = 1")
        write_site(sites_dir, "t_forum", slow)
        proc = start_monitor(db, env, "--jitter", "0", "--stop-timeout", "3s", nth=2)
        try:
            # Stopped mid-crawl: it has seen a few listings again, most are still to come.
            wait_for(
                lambda: (
                    query(
                        db,
                        "SELECT count(*) FROM listings WHERE last_run_id = "
                        "(SELECT id FROM runs WHERE status = 'running')",
                    )[0][0]
                    >= 3
                ),
                30,
                "a crawl in progress writing listings",
            )
        finally:
            code, seconds = stop_monitor(proc)
    assert code == 0 and seconds < 10
    assert_consistent(db)
    # Closed by Scrapy as stopped ("shutdown"), or killed after --stop-timeout: either way
    # interrupted, not a complete sweep (nothing is removed) and not a failure.
    first, *stopped = runs_of(db, "t_forum")
    assert first["status"] == "ok" and stopped
    assert {r["status"] for r in stopped} == {"interrupted"}
    last = stopped[-1]
    assert query(db, "SELECT count(*) FROM listings WHERE status = 'live'") == [(listings,)]
    assert query(db, "SELECT count(*) FROM listing_versions") == [(versions,)]
    # The interrupted crawl is due again as soon as the monitor restarts.
    next_run = query(db, "SELECT next_run_at FROM sources WHERE name = 't_forum'")[0][0]
    assert next_run <= last["finished_at"]


# -- restarts --------------------------------------------------------------------------------


def test_a_restart_honours_next_run_at_and_runs_a_missed_turn_once(tmp_path):
    sites_dir, db = tmp_path / "sites", tmp_path / "heishi.db"
    every = 'interval = "1m"'
    with DemoSites(day=1) as demo:
        env = child_env(tmp_path, sites_dir, demo)
        forum = site_file("demo_forum", "t_forum", every).replace("max_pages = 5", "max_pages = 2")
        write_site(sites_dir, "t_forum", forum)
        write_site(sites_dir, "t_channel", site_file("demo_channel", "t_channel", every))
        # First start: neither source ever ran, so both run at once.
        proc = start_monitor(db, env, "--jitter", "2s")
        try:
            wait_for(
                lambda: query(db, "SELECT count(*) FROM runs WHERE status = 'ok'") == [(2,)],
                40,
                "a first run of both sources",
            )
        finally:
            assert stop_monitor(proc)[0] == 0
        planned = dict(query(db, "SELECT name, next_run_at FROM sources"))
        first_starts = dict(query(db, "SELECT source, started_at FROM runs"))
        for name in planned:
            assert planned[name] > first_starts[name]  # a minute after its first run

        # Restarted within the minute: nothing runs (no burst), the plan is kept: once the
        # monitor has scheduled both sources, their first runs are the planned ones.
        proc = start_monitor(db, env, "--jitter", "2s", nth=2)
        try:
            scheduled = wait_for(
                lambda: first_runs(tmp_path / "monitor-2.out", planned), 30, "the sources planned"
            )
            assert scheduled == planned
            assert query(db, "SELECT count(*) FROM runs") == [(2,)]
            assert dict(query(db, "SELECT name, next_run_at FROM sources")) == planned
        finally:
            assert stop_monitor(proc)[0] == 0

        # Down for ten minutes (ten missed turns): t_forum runs once soon after the restart.
        query(db, "UPDATE sources SET next_run_at = '2000-01-01T00:00:00Z' WHERE name = 't_forum'")
        proc = start_monitor(db, env, "--jitter", "2s", nth=3)
        try:
            wait_for(
                lambda: query(db, "SELECT count(*) FROM runs WHERE status = 'ok'") == [(3,)],
                40,
                "the missed run",
            )
            # Once it is done, the next turn the scheduler holds is a minute on: no other
            # missed turn is waiting to run.
            missed = runs_of(db, "t_forum")[-1]["started_at"]
            wait_for(lambda: next_run(db, "t_forum") > later(missed, 30), 30, "the next turn")
        finally:
            assert stop_monitor(proc)[0] == 0
    assert [r["status"] for r in runs_of(db, "t_forum")] == ["ok", "ok"]
    assert len(runs_of(db, "t_channel")) == 1
    next_forum = query(db, "SELECT next_run_at FROM sources WHERE name = 't_forum'")[0][0]
    assert next_forum > runs_of(db, "t_forum")[-1]["started_at"]


def test_run_once_sweeps_what_is_due_then_nothing_until_the_next_turn(tmp_path):
    sites_dir, db = tmp_path / "sites", tmp_path / "heishi.db"
    with DemoSites(day=1) as demo:
        env = child_env(tmp_path, sites_dir, demo)
        write_site(
            sites_dir, "t_channel", site_file("demo_channel", "t_channel", 'cron = "0 3 * * *"')
        )
        first = heishi("run", "--once", "--db", str(db), "--create", env=env)
        assert first.returncode == 0, first.stderr
        assert "1 of 1 source(s) due" in first.stderr
        again = heishi("run", "--once", "--db", str(db), "--create", env=env)
        assert again.returncode == 0, again.stderr
        assert "0 of 1 source(s) due" in again.stderr
    assert [r["status"] for r in runs_of(db, "t_channel")] == ["ok"]
    assert query(db, "SELECT status FROM daemon") == [("stopped",), ("stopped",)]
    log = (tmp_path / "heishi-logs" / "heishi-run.log").read_text(encoding="utf-8")
    assert "t_channel: ok in" in log
