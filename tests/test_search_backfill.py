"""The search index of an old store is filled in the background, in batches that resume,
while sweeps go on; searches say when it is not complete yet."""

from __future__ import annotations

import json
import sqlite3
import subprocess

from monitor.analysis.search_index import backfill
from monitor.store import open_store
from tests.helpers import HEISHI
from tests.test_ingest import listing, sweep


def heishi(*args: str) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [*HEISHI, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "120"},
    )


def old_store(db_path, listings: int = 30) -> None:
    """A store with two texts of each listing, as heishi left it before its search index."""
    sweep(
        db_path, [listing(str(n), f"出售护照资料 {n}", text="护照扫描件") for n in range(listings)]
    )
    sweep(
        db_path,
        [listing(str(n), f"出售驾驶证资料 {n}", text="驾驶证扫描件") for n in range(listings)],
    )
    with sqlite3.connect(db_path) as conn:
        conn.execute("DROP TABLE listing_search")
        conn.execute("DROP TRIGGER listing_search_facets")
        conn.execute("DROP TABLE search_backfill")
        conn.execute(
            "DELETE FROM schema_migrations WHERE name IN ('0006_search', '0022_search_backfill')"
        )
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute(f"PRAGMA user_version = {version - 2}")


def index_rows(db_path) -> list[int]:
    with sqlite3.connect(db_path) as conn:
        return [r[0] for r in conn.execute("SELECT rowid FROM listing_search ORDER BY rowid")]


def test_opening_an_old_store_waits_for_no_index_and_searches_say_it_is_incomplete(db_path):
    old_store(db_path)
    with open_store(db_path) as store:
        assert store.search.index_size() == 0
        state = store.search_backfill.state()
        assert state is not None and not state.complete and state.upto == 60
    result = heishi("search", "--db", str(db_path), "护照", "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["results"] == [] and answer["index_complete"] is False
    assert answer["index_backfill"]["versions_up_to"] == 60
    assert "search index is still being filled (60 stored versions to go)" in result.stderr
    with open_store(db_path) as store:
        backfill(store)
    done = heishi("search", "--db", str(db_path), "护照", "--json", "--limit", "50")
    assert "still being filled" not in done.stderr
    answer = json.loads(done.stdout)
    assert answer["index_complete"] is True and len(answer["results"]) == 30
    assert {hit["found_in_version"] for hit in answer["results"]} == {1}


def test_an_interrupted_backfill_resumes_where_it_stopped(db_path):
    old_store(db_path)
    with open_store(db_path) as store:
        first = store.search_backfill.index_next(limit=25)
        assert first is not None and first.done_through == 25 and not first.complete
    assert len(index_rows(db_path)) == 25
    with open_store(db_path) as store:  # another process picks it up
        state = store.search_backfill.state()
        assert state is not None and state.done_through == 25
    result = heishi("search", "--db", str(db_path), "--reindex", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"indexed_versions": 60, "complete": True}
    assert index_rows(db_path) == list(range(1, 61))  # each version once, none twice


def test_sweeps_during_the_backfill_index_their_own_versions_once(db_path):
    old_store(db_path)
    with open_store(db_path) as store:
        store.search_backfill.index_next(limit=10)
    # The sweep writes new versions (ids above the backfill's) and indexes them itself.
    sweep(db_path, [listing("0", "出售银行卡资料 0", text="银行卡四件套")])
    assert index_rows(db_path)[-1] == 61
    with open_store(db_path) as store:
        state = backfill(store)
        assert state is not None and state.complete
        assert store.search.index_size() == 61
    answer = json.loads(heishi("search", "--db", str(db_path), "银行卡", "--json").stdout)
    assert [hit["current"] for hit in answer["results"]] == [True]


def test_reindex_shows_its_progress_and_restart_starts_again(db_path):
    old_store(db_path, listings=5)
    result = heishi("search", "--db", str(db_path), "--reindex")
    assert result.returncode == 0, result.stderr
    assert "indexing stored versions" in result.stderr and "10/10" in result.stderr
    assert "search index rebuilt: 10 versions indexed" in result.stdout
    again = heishi("search", "--db", str(db_path), "--reindex", "--restart", "--json")
    assert json.loads(again.stdout)["indexed_versions"] == 10
    assert index_rows(db_path) == list(range(1, 11))


def test_the_monitor_fills_the_index_between_sweeps(db_path):
    from monitor.running.daemon import Monitor, RunSettings

    old_store(db_path)
    monitor = Monitor(RunSettings(db=db_path))
    monitor.backfill_search()  # the job `heishi run` schedules every BACKFILL_EVERY seconds
    with open_store(db_path) as store:
        state = store.search_backfill.state()
        assert state is not None and state.complete and store.search.index_size() == 60
    monitor.backfill_search()  # nothing left: one read, no write
    assert len(index_rows(db_path)) == 60
