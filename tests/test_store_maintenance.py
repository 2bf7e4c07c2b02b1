"""`heishi store vacuum` and `heishi store optimize` on real store files."""

from __future__ import annotations

import json
import sqlite3
import subprocess

from monitor.alerting.ingest import SweepRecorder
from monitor.store import open_store
from tests.helpers import HEISHI, listing, sweep


def heishi(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*HEISHI, *args], capture_output=True, text=True, timeout=120, env=_env())


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "COLUMNS": "120"}


def store_with_space_left(db_path) -> None:
    """A store with listings, and free pages a dropped table left (as a migration does)."""
    sweep(
        db_path,
        [listing(str(n), f"出售身份证四件套 {n}", text="护照 驾照 " * 20) for n in range(50)],
    )
    with sqlite3.connect(db_path) as conn:
        conn.execute("CREATE TABLE old_layout (blob BLOB)")
        conn.executemany("INSERT INTO old_layout VALUES (?)", [(b"x" * 4000,) for _ in range(500)])
    with sqlite3.connect(db_path) as conn:
        conn.execute("DROP TABLE old_layout")


def test_vacuum_gives_the_space_a_dropped_table_left_back_to_the_disk(db_path):
    store_with_space_left(db_path)
    result = heishi("store", "vacuum", "--db", str(db_path), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["before"]["free_pages"] > 400
    assert report["after"]["free_pages"] == 0
    assert report["after"]["wal_bytes"] == 0
    assert report["after"]["file_bytes"] < report["before"]["file_bytes"] - 1_500_000
    with open_store(db_path, readonly=True) as store:
        assert store.conn.execute("SELECT count(*) FROM listings").fetchone()[0] == 50
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_vacuum_shows_its_steps_and_the_sizes_before_and_after(db_path):
    store_with_space_left(db_path)
    result = heishi("store", "vacuum", "--db", str(db_path))
    assert result.returncode == 0, result.stderr
    assert "before" in result.stdout and "after" in result.stdout
    assert "given back to the disk" in result.stdout
    assert "done" in result.stderr and "3/3 steps" in result.stderr


def test_optimize_merges_the_search_index_and_gives_the_planner_statistics(db_path):
    for day in range(3):  # three sweeps: the index has a segment from each
        sweep(
            db_path,
            [listing(str(n), f"出售护照 {n} 第{day}版 全国可查 实时更新") for n in range(20)],
        )
    with sqlite3.connect(db_path) as conn:
        segments = conn.execute("SELECT count(*) FROM listing_search_data").fetchone()[0]
        bands = conn.execute("SELECT count(*) FROM lsh_bands_recent").fetchone()[0]
        assert bands > 0 and conn.execute("SELECT count(*) FROM lsh_bands").fetchone()[0] == 0
        assert (
            conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone()
            is None
        )
        conn.execute("DELETE FROM lsh_band_filter")  # as a store with bands from before it
    result = heishi("store", "optimize", "--db", str(db_path), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["search_index_merged"] is True and report["indexes_analyzed"] > 10
    assert report["bands_folded"] == bands  # the near-duplicate bands, in one B-tree
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM lsh_bands").fetchone()[0] == bands
        assert conn.execute("SELECT count(*) FROM lsh_bands_recent").fetchone()[0] == 0
        assert conn.execute("SELECT keys FROM lsh_band_filter").fetchone() == (bands,)
        assert conn.execute("SELECT count(*) FROM sqlite_stat1").fetchone()[0] > 10
        assert conn.execute("SELECT count(*) FROM listing_search_data").fetchone()[0] < segments
    search = heishi("search", "--db", str(db_path), "护照", "--json")
    assert len(json.loads(search.stdout)["results"]) == 20


def test_vacuum_and_optimize_refuse_while_a_sweep_is_running(db_path):
    store_with_space_left(db_path)
    recorder = SweepRecorder(db_path, source="forum", kind="forum", url="http://127.0.0.1/")
    run_id = recorder.open()  # this test process holds the run, as a crawl would
    for verb in ("vacuum", "optimize"):
        refused = heishi("store", verb, "--db", str(db_path))
        assert refused.returncode == 2
        assert f"not running {verb}: a sweep of forum is running (run {run_id}" in refused.stderr
        assert "wait for the sweep to end" in refused.stderr
    recorder.record(listing("99", "出售身份证四件套 99"))
    recorder.close({"finish_reason": "finished"}, "finished")
    assert heishi("store", "vacuum", "--db", str(db_path)).returncode == 0


def test_vacuum_refuses_while_another_process_holds_the_write_lock(db_path):
    store_with_space_left(db_path)
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        refused = heishi("store", "vacuum", "--db", str(db_path))
        assert refused.returncode == 2
        assert "another process holds the store's write lock" in refused.stderr
    finally:
        other.execute("ROLLBACK")
        other.close()
