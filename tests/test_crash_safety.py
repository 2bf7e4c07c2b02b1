"""A sweep killed in the middle of writing leaves a consistent store: nothing duplicated,
nothing falsely removed, and the next sweep completes the work."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from tests.helpers import listing, sweep

pytestmark = pytest.mark.slow

WRITER = textwrap.dedent(
    """
    import sys
    from tests.helpers import listing
    from monitor.alerting.ingest import SweepRecorder

    db, count = sys.argv[1], int(sys.argv[2])
    # Small batches: the kills land between commits and inside them.
    recorder = SweepRecorder(db, source="forum", kind="forum", batch_size=3)
    recorder.open()
    for i in range(count):
        recorder.record(listing(str(i), f"身份证料 第{i}批", price=f"{900 + i}元"))
        print(i, flush=True)
    # Wait for the kill: a writer that raced to its close would leave nothing crashed.
    sys.stdin.readline()
    recorder.close({}, "finished")
    print("closed", flush=True)
    """
)


def kill_writer_after(db_path, count, after):
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db_path), str(count)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    for _ in range(after):
        proc.stdout.readline()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def test_sigkill_mid_sweep_never_corrupts_duplicates_or_removes(db_path):
    count = 60
    baseline = [listing(str(i), f"身份证料 第{i}批", price=f"{800 + i}元") for i in range(count)]
    sweep(db_path, baseline)
    rng = random.Random(7)
    for _ in range(6):
        kill_writer_after(db_path, count, rng.randint(1, count - 5))
        with sqlite3.connect(db_path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert conn.execute("SELECT count(*) FROM listings").fetchone() == (count,)
            assert conn.execute(
                "SELECT count(*) FROM listings WHERE status != 'live'"
            ).fetchone() == (0,)
            dupes = conn.execute(
                "SELECT count(*) FROM (SELECT listing_id, version FROM listing_versions "
                "GROUP BY 1, 2 HAVING count(*) > 1)"
            ).fetchone()
            assert dupes == (0,)
    repriced = [listing(str(i), f"身份证料 第{i}批", price=f"{900 + i}元") for i in range(count)]
    outcome = sweep(db_path, repriced)
    assert outcome.status == "ok"
    assert outcome.counts["removed"] == 0
    with sqlite3.connect(db_path) as conn:
        statuses = dict(conn.execute("SELECT status, count(*) FROM runs GROUP BY 1").fetchall())
        assert statuses == {"ok": 2, "crashed": 6}
        # Each listing changed price once, however many killed writers saw the new price.
        per_listing = conn.execute(
            "SELECT count(*) FROM listing_versions GROUP BY listing_id"
        ).fetchall()
        assert set(per_listing) == {(2,)}
        kinds = dict(conn.execute("SELECT kind, count(*) FROM alerts GROUP BY 1").fetchall())
        assert kinds == {"new": count, "changed": count}
