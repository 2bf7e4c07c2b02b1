"""A real crawl process killed with SIGKILL at random points while it writes, many times:
the store stays sound, nothing is duplicated or falsely removed, the next sweep completes."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from monitor.config import PROJECT_ROOT
from monitor.demo import content
from monitor.demo.sites import DemoSites
from monitor.running.sweep import SourceRef, sweep_sources

pytestmark = pytest.mark.slow


def start_crawl(db, env):
    return subprocess.Popen(
        [sys.executable, "-m", "spiders.crawl", "demo_forum", "--db", str(db)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def written_by_latest_run(db):
    """Listings the newest run has written so far."""
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute(
                "SELECT count(*) FROM listings WHERE last_run_id = (SELECT max(id) FROM runs)"
            ).fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_sigkill_of_real_crawls_at_random_points_loses_nothing(tmp_path):
    db = tmp_path / "heishi.db"
    live = {e["site_id"] for e in content.entries("forum", day=1)}
    rng = random.Random(11)
    with DemoSites(day=1) as sites:
        env = {**os.environ, **sites.env(), "HEISHI_STORE_BATCH": "4", "HEISHI_STORE_FLUSH": "0.2"}
        kills = 0
        for _ in range(6):
            proc = start_crawl(db, env)
            deadline = time.monotonic() + 30
            # Kill at a random point after it began writing (or at a random time if it is
            # still starting up), never after it finished.
            wait_for = rng.randint(1, len(live) - 5)
            while proc.poll() is None and time.monotonic() < deadline:
                if written_by_latest_run(db) >= wait_for:
                    break
                time.sleep(0.05)
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                kills += 1
            proc.wait(timeout=30)
            with sqlite3.connect(db) as conn:
                assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
                assert conn.execute(
                    "SELECT count(*) FROM listings WHERE status = 'removed'"
                ).fetchone() == (0,)
                assert conn.execute(
                    "SELECT count(*) FROM (SELECT source, site_id FROM listings "
                    "GROUP BY 1, 2 HAVING count(*) > 1)"
                ).fetchone() == (0,)
                assert conn.execute(
                    "SELECT count(*) FROM (SELECT dedupe_key FROM alerts GROUP BY 1 HAVING count(*) > 1)"
                ).fetchone() == (0,)
        assert kills >= 4
        (result,) = sweep_sources([SourceRef("demo_forum", "forum")], db, env=env, timeout=120)
    assert result.status == "ok", result.error
    with sqlite3.connect(db) as conn:
        stored = {r[0] for r in conn.execute("SELECT site_id FROM listings WHERE status = 'live'")}
        assert stored == live
        assert conn.execute("SELECT count(*) FROM runs WHERE status = 'running'").fetchone() == (0,)
        versions = conn.execute(
            "SELECT count(*) FROM listing_versions GROUP BY listing_id HAVING count(*) > 1"
        ).fetchall()
        assert versions == []  # killed crawls saw the same day: no spurious new versions
