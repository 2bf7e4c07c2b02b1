"""A full disk is one clear line, never a traceback: `disk full (PATH)`, the run closed as
failed, the monitor kept running, one notification. A store on a real, small tmpfs that a
real `heishi run` fills up (skipped where tmpfs cannot be mounted), and SQLite's own
SQLITE_FULL through `PRAGMA max_page_count` everywhere."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from monitor.alerting.ingest import SweepRecorder
from monitor.demo.sites import DemoSites
from monitor.errors import StoreError
from tests.helpers import (
    HEISHI,
    PROJECT_ROOT,
    child_env,
    heishi,
    listing,
    monitor_started,
    query,
    runs_of,
    site_file,
    stop_monitor,
    sweep,
    wait_for,
)
from tests.receivers import WebhookReceiver
from tests.servers import write_site

pytestmark = pytest.mark.daemon


def test_a_store_that_cannot_grow_is_one_clear_error_and_the_run_closes_failed(db_path):
    sweep(db_path, [listing(str(i), f"身份证料 第{i}批", price=f"{800 + i}元") for i in range(20)])
    recorder = SweepRecorder(db_path, source="forum", kind="forum", batch_size=10_000)
    run_id = recorder.open()
    assert recorder.store is not None
    # SQLite's own "database or disk is full" once the file would grow past its size now.
    pages = recorder.store.conn.execute("PRAGMA page_count").fetchone()[0]
    recorder.store.conn.execute(f"PRAGMA max_page_count = {pages}")
    for i in range(300):
        recorder.record(listing(f"n{i}", f"银行卡料 新货 第{i}批 " + "四件套" * 40))
    with pytest.raises(StoreError, match=rf"^disk full \({db_path}\): database or disk is full"):
        recorder.flush()
    outcome = recorder.close({}, "finished")
    assert outcome.status == "failed"
    assert outcome.error.startswith(f"disk full ({db_path})")
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone() == (
            "failed",
        )
        # Nothing of the batch that did not fit was written, nothing was removed.
        assert conn.execute("SELECT count(*), sum(status = 'live') FROM listings").fetchone() == (
            20,
            20,
        )


# -- a real monitor on a real full disk --------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 16 MB tmpfs at tmp_path/disk (root may mount; a sandbox may not)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path, leave: int) -> Path:
    """Fill the disk until `leave` bytes are free; returns the file (delete it for room)."""
    import shutil

    filler = disk / "filler"
    with filler.open("wb") as handle:
        handle.write(b"\0" * max(0, shutil.disk_usage(disk).free - leave))
    return filler


def start_monitor_logging_elsewhere(db: Path, env: dict, tmp_path: Path) -> subprocess.Popen:
    """`heishi run` whose own log and output are not on the full disk."""
    with (tmp_path / "monitor.out").open("w") as out:  # the child keeps its own
        proc = subprocess.Popen(
            [*HEISHI, "run", "--db", str(db), "--jitter", "0", "--heartbeat", "1s"]
            + ["--log-file", str(tmp_path / "heishi-run.log")],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    wait_for(lambda: proc.poll() is not None or monitor_started(db), 30, "the monitor")
    assert proc.poll() is None, (tmp_path / "monitor.out").read_text()
    return proc


@pytest.mark.slow
def test_a_monitor_whose_disk_fills_up_says_so_once_closes_the_run_and_keeps_running(
    tmp_path, small_disk
):
    sites_dir, db = tmp_path / "sites", small_disk / "heishi.db"
    log_file = tmp_path / "heishi-run.log"
    webhook = WebhookReceiver().start()
    notify = tmp_path / "notify.toml"
    notify.write_text(
        f'[[routes]]\nname = "ops"\nurls = ["{webhook.url}"]\nkinds = ["store_full"]\n'
    )
    try:
        with DemoSites(day=1) as demo:
            env = {**child_env(tmp_path, sites_dir, demo), "HEISHI_NOTIFY_FILE": str(notify)}
            write_site(sites_dir, "t_forum", site_file("demo_forum", "t_forum", 'interval = "1h"'))
            first = heishi("sweep", "t_forum", "--db", str(db), "--create", env=env)
            assert first.returncode == 0, first.stderr
            assert (small_disk / "heishi.db-reserve").stat().st_size == 1 << 20
            # A second source, swept every few seconds into a disk with little room left:
            # its crawl opens its run, then its listings do not fit.
            write_site(
                sites_dir, "t_channel", site_file("demo_channel", "t_channel", 'interval = "3s"')
            )
            query(db, "UPDATE sources SET next_run_at = '2099-01-01T00:00:00Z'")
            filler = fill(small_disk, leave=256 << 10)
            monitor = start_monitor_logging_elsewhere(db, env, tmp_path)
            try:
                wait_for(
                    lambda: (
                        log_file.read_text(encoding="utf-8").count("t_channel: failed after") >= 3
                    ),
                    120,
                    "three failed crawls of t_channel",
                )
                assert monitor.poll() is None  # still running
                failed = runs_of(db, "t_channel")
                # Room again: crawls complete.
                filler.unlink()
                wait_for(
                    lambda: any(r["status"] == "ok" for r in runs_of(db, "t_channel")),
                    120,
                    "a complete crawl once there is room",
                )
            finally:
                code, _ = stop_monitor(monitor)
    finally:
        webhook.stop()
    assert code == 0
    log = log_file.read_text(encoding="utf-8")
    out = (tmp_path / "monitor.out").read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in log + out
    # The crawl that met the full disk closed its run as failed, saying where.
    assert failed and all(r["status"] == "failed" for r in failed), failed
    assert all(r["error"].startswith("disk full (") for r in failed), [r["error"] for r in failed]
    # One line said it, one notification went out, until the disk had room again.
    errors = [line for line in log.splitlines() if " ERROR " in line and "disk full (" in line]
    assert len(errors) == 1, errors
    assert "the store is writable again" in log
    alerts = [
        m for m in webhook.received if "disk full" in json.dumps(m["json"], ensure_ascii=False)
    ]
    assert len(alerts) == 1, webhook.received
    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    assert query(db, "SELECT count(*) FROM runs WHERE status = 'running'") == [(0,)]
    assert query(db, "SELECT count(*) FROM listings WHERE status != 'live'") == [(0,)]
