"""The store records sweeps: versions only on change, alerts once, removals only after a
complete sweep. Real SQLite files; match results built as the matcher would return them."""

from __future__ import annotations

import json
import sqlite3

from monitor.alerting.ingest import SweepRecorder
from tests.helpers import OK_STATS, listing, sweep
from tests.helpers import query as rows


def test_first_sweep_stores_listings_and_alerts_only_matched_ones(db_path):
    outcome = sweep(db_path, [listing("1", "身份证四件套"), listing("2", "闲聊", matched=False)])
    assert outcome.status == "ok"
    assert outcome.counts["new"] == 2
    assert rows(db_path, "SELECT count(*) FROM listings") == [(2,)]
    assert rows(db_path, "SELECT kind, title FROM alerts") == [("new", "身份证四件套")]
    assert rows(db_path, "SELECT term FROM matches") == [("身份证",)]


def test_unchanged_listing_updates_last_seen_only(db_path):
    sweep(db_path, [listing("1", "身份证四件套")])
    outcome = sweep(db_path, [listing("1", "身份证四件套")])
    assert outcome.counts == {"new": 0, "changed": 0, "unchanged": 1, "removed": 0, "relisted": 0}
    assert rows(db_path, "SELECT count(*) FROM listing_versions") == [(1,)]
    assert rows(db_path, "SELECT count(*) FROM alerts") == [(1,)]
    assert rows(db_path, "SELECT last_run_id FROM listings") == [(2,)]


def test_changed_price_makes_a_version_and_a_changed_alert_with_the_diff(db_path):
    sweep(db_path, [listing("1", "身份证四件套", price="5000元")])
    sweep(db_path, [listing("1", "身份证四件套", price="3000元")])
    versions = rows(db_path, "SELECT version, price, diff FROM listing_versions ORDER BY version")
    assert [(v, p) for v, p, _ in versions] == [(1, 5000.0), (2, 3000.0)]
    assert json.loads(versions[1][2])["price_text"] == ["5000元", "3000元"]
    alerts = rows(db_path, "SELECT kind, diff FROM alerts ORDER BY id")
    assert [k for k, _ in alerts] == ["new", "changed"]
    assert json.loads(alerts[1][1])["price_text"] == ["5000元", "3000元"]


def test_listing_is_removed_only_after_a_complete_sweep(db_path):
    sweep(db_path, [listing("1", "身份证四件套"), listing("2", "银行卡料")])
    failed = sweep(
        db_path,
        [listing("1", "身份证四件套")],
        stats={**OK_STATS, "heishi/list_page_errors": 1},
    )
    assert failed.status == "partial"
    assert rows(db_path, "SELECT status FROM listings ORDER BY id") == [("live",), ("live",)]
    stopped = sweep(db_path, [listing("1", "身份证四件套")], reason="shutdown")
    assert stopped.status == "interrupted"
    assert rows(db_path, "SELECT status FROM listings WHERE site_id = '2'") == [("live",)]
    complete = sweep(db_path, [listing("1", "身份证四件套")])
    assert complete.status == "ok" and complete.counts["removed"] == 1
    assert rows(db_path, "SELECT status FROM listings WHERE site_id = '2'") == [("removed",)]
    assert rows(db_path, "SELECT kind FROM alerts WHERE kind = 'removed'") == [("removed",)]


def test_removed_listing_that_comes_back_is_relisted(db_path):
    sweep(db_path, [listing("1", "身份证四件套"), listing("2", "银行卡料")])
    sweep(db_path, [listing("1", "身份证四件套")])
    outcome = sweep(db_path, [listing("1", "身份证四件套"), listing("2", "银行卡料")])
    assert outcome.counts["relisted"] == 1
    assert rows(db_path, "SELECT status FROM listings WHERE site_id = '2'") == [("live",)]
    kinds = [k for (k,) in rows(db_path, "SELECT kind FROM alerts ORDER BY id")]
    assert kinds == ["new", "new", "removed", "relisted"]


def test_source_that_is_down_fails_raises_one_health_alert_and_removes_nothing(db_path):
    sweep(db_path, [listing("1", "身份证四件套")])
    down = {"heishi/list_page_errors": 1, "retry/max_reached": 1}
    first = sweep(db_path, [], stats=down)
    second = sweep(db_path, [], stats=down)
    assert first.status == second.status == "failed"
    assert rows(db_path, "SELECT status FROM listings") == [("live",)]
    assert rows(db_path, "SELECT kind, status FROM alerts WHERE kind LIKE 'source%'") == [
        ("source_failing", "open")
    ]
    assert rows(db_path, "SELECT health, consecutive_failures FROM sources") == [("failing", 2)]
    sweep(db_path, [listing("1", "身份证四件套")])
    assert rows(db_path, "SELECT status FROM alerts WHERE kind = 'source_failing'") == [
        ("resolved",)
    ]


def test_zero_listings_where_there_were_many_is_a_changed_shape_not_removals(db_path):
    sweep(db_path, [listing(str(i), f"身份证料 {i}") for i in range(10)])
    outcome = sweep(db_path, [])
    assert outcome.status == "failed"
    assert rows(db_path, "SELECT count(*) FROM listings WHERE status = 'removed'") == [(0,)]
    assert rows(db_path, "SELECT kind FROM alerts WHERE kind LIKE 'source%'") == [
        ("source_changed_shape",)
    ]


def test_same_listing_twice_in_one_sweep_is_one_listing_without_alert_storm(db_path):
    item = listing("1", "身份证四件套")
    other_url = {**item, "url": "http://127.0.0.1/other/1"}
    sweep(db_path, [item, other_url])
    assert rows(db_path, "SELECT count(*) FROM listings") == [(1,)]
    assert rows(db_path, "SELECT count(*) FROM alerts") == [(1,)]


def test_listing_seen_twice_in_a_batch_with_an_edit_between_ends_at_its_last_view(db_path):
    sweep(db_path, [listing("1", "身份证四件套")])
    edited = listing("1", "身份证四件套", price="300元")
    outcome = sweep(db_path, [edited, listing("1", "身份证四件套")])
    assert rows(db_path, "SELECT price_text, version FROM listings") == [("800元", 1)]
    assert outcome.counts["unchanged"] == 1 and outcome.counts["changed"] == 0
    sweep(db_path, [listing("1", "身份证四件套"), edited])
    assert rows(db_path, "SELECT price_text, version FROM listings") == [("300元", 2)]


def test_unchanged_listing_missed_once_is_seen_again_with_its_miss_count_reset(db_path):
    """removed_after_sweeps=2: one complete sweep without it counts a miss; seeing it
    unchanged again clears the miss, so a later single miss does not remove it."""

    def sweep_twice_needed(items):
        recorder = SweepRecorder(db_path, source="forum", kind="forum", removed_after_sweeps=2)
        recorder.open()
        for item in items:
            recorder.record(item)
        return recorder.close(dict(OK_STATS), "finished")

    both = [listing("1", "身份证四件套"), listing("2", "银行卡料")]
    sweep_twice_needed(both)
    sweep_twice_needed(both[:1])
    assert rows(db_path, "SELECT missing_sweeps FROM listings WHERE site_id = '2'") == [(1,)]
    outcome = sweep_twice_needed(both)
    assert outcome.counts["unchanged"] == 2
    assert rows(db_path, "SELECT missing_sweeps, status FROM listings WHERE site_id = '2'") == [
        (0, "live")
    ]
    sweep_twice_needed(both[:1])
    assert rows(db_path, "SELECT status FROM listings WHERE site_id = '2'") == [("live",)]


def test_run_left_running_by_a_dead_process_is_marked_crashed(db_path):
    recorder = SweepRecorder(db_path, source="forum", kind="forum")
    run_id = recorder.open()
    recorder.record(listing("1", "身份证四件套"))
    recorder.store.conn.execute("UPDATE runs SET pid = 999999999 WHERE id = ?", (run_id,))
    recorder.store.close()
    sweep(db_path, [listing("1", "身份证四件套")])
    assert rows(db_path, "SELECT id, status FROM runs ORDER BY id") == [
        (run_id, "crashed"),
        (run_id + 1, "ok"),
    ]


def test_store_opens_again_and_keeps_its_schema_version(db_path):
    from monitor.store import SCHEMA_VERSION, open_store

    sweep(db_path, [listing("1", "身份证四件套")])
    with open_store(db_path) as store:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.listings.count() == 1


def test_failed_listing_page_blocks_removals_and_the_error_names_the_url(db_path):
    sweep(db_path, [listing("1", "身份证四件套"), listing("2", "银行卡料")])
    stats = {
        **OK_STATS,
        "heishi/detail_page_errors": 1,
        "heishi/first_error": "detail page http://127.0.0.1/t/2 failed: Connection refused",
    }
    outcome = sweep(db_path, [listing("1", "身份证四件套")], stats=stats)
    assert outcome.status == "partial"
    assert "http://127.0.0.1/t/2" in outcome.error
    assert rows(db_path, "SELECT status FROM listings WHERE site_id = '2'") == [("live",)]


def test_evidence_reference_is_kept_with_the_version_but_is_not_a_change(db_path):
    item = {**listing("1", "身份证四件套"), "evidence": {"page": "ab/abcd.html.gz"}}
    sweep(db_path, [item])
    refetched = {**listing("1", "身份证四件套"), "evidence": {"page": "cd/cdef.html.gz"}}
    outcome = sweep(db_path, [refetched])
    assert outcome.counts["unchanged"] == 1
    (evidence,) = rows(db_path, "SELECT evidence FROM listing_versions")
    assert json.loads(evidence[0]) == {"page": "ab/abcd.html.gz"}


def test_same_offer_on_another_source_is_a_repost_linked_in_one_cluster(db_path):
    text = "全新四件套：身份证+银行卡+手机卡+U盾 开户人本人配合过人脸 现货30套，{p}元一套 量大优惠"
    forum = {**listing("t1", "出 身份证四件套 30套", text=text.format(p=3000)), "seller": "老王"}
    sweep(db_path, [forum], source="forum")
    channel = {
        **listing("m9", "四件套 现货 便宜出", text=text.format(p=2800) + " 飞机 @dada"),
        "seller": "dada",
    }
    other = listing(
        "m10",
        "出 车主数据 全国 一手",
        text="全国车主数据 车架号 车牌 手机号 姓名 一手 实时 800元一万条",
    )
    sweep(db_path, [channel, other], source="channel")
    alerts = rows(db_path, "SELECT kind, source, summary FROM alerts WHERE kind = 'reposted'")
    assert len(alerts) == 1
    kind, source, summary = alerts[0]
    assert source == "channel" and "#1 on forum (老王)" in summary
    clusters = dict(rows(db_path, "SELECT site_id, cluster_id FROM listings"))
    assert clusters["t1"] == clusters["m9"] == 1
    assert clusters["m10"] is None


def test_same_seller_showing_an_offer_twice_on_one_source_is_not_a_repost(db_path):
    text = "全新四件套：身份证+银行卡+手机卡+U盾 开户人本人配合过人脸 现货30套，3000元一套 量大优惠"
    sweep(
        db_path,
        [
            listing("1", "出 身份证四件套", text=text),
            listing("2", "出 身份证四件套 置顶", text=text),
        ],
    )
    assert rows(db_path, "SELECT count(*) FROM alerts WHERE kind = 'reposted'") == [(0,)]
    assert rows(db_path, "SELECT DISTINCT cluster_id FROM listings") == [(1,)]


def test_severity_rules_come_from_a_file(db_path, tmp_path, monkeypatch):
    rules = tmp_path / "severity.toml"
    rules.write_text('high_volume = 100000\nkind_floor = { source_failing = "high" }\n')
    monkeypatch.setenv("HEISHI_SEVERITY_FILE", str(rules))
    sweep(db_path, [listing("1", "身份证四件套", volume=300_000)])
    sweep(db_path, [], stats={"heishi/list_page_errors": 1})
    assert rows(db_path, "SELECT kind, severity FROM alerts ORDER BY id") == [
        ("new", "high"),
        ("source_failing", "high"),
    ]


def test_default_severity_rises_with_volume_in_sensitive_categories(db_path):
    sweep(
        db_path,
        [listing("1", "身份证四件套", volume=None), listing("2", "身份证料", volume=300_000)],
    )
    assert rows(db_path, "SELECT severity FROM alerts ORDER BY id") == [("medium",), ("high",)]


def test_malformed_severity_file_names_file_and_key(tmp_path):
    import pytest

    from monitor.alerting.severity import load_rules
    from monitor.errors import ConfigError

    bad = tmp_path / "severity.toml"
    bad.write_text('kind_floor = { removed = "urgent" }\n')
    with pytest.raises(ConfigError, match=r"severity.toml:1 \[kind_floor.removed\]"):
        load_rules(bad)


def test_a_batch_indexes_its_versions_for_search_in_one_write(db_path):
    # FTS5 writes its pending rows out as a segment at every statement savepoint: indexing
    # each listing between the others' writes made one segment per listing.
    items = [listing(str(n), f"出售身份证四件套 第{n}批", price=f"{100 + n}元") for n in range(60)]
    recorder = SweepRecorder(db_path, source="forum", kind="forum", url="http://127.0.0.1/")
    recorder.open()
    assert recorder.store is not None
    segment_writes: list[str] = []
    recorder.store.conn.set_trace_callback(
        lambda sql: segment_writes.append(sql) if "listing_search_data" in sql else None
    )
    for item in items:
        recorder.record(item)
    recorder.flush()
    recorder.store.conn.set_trace_callback(None)
    recorder.close(dict(OK_STATS), "finished")
    assert 0 < len(segment_writes) <= 6, len(segment_writes)
    found = rows(db_path, "SELECT count(*) FROM listing_search WHERE listing_search MATCH '身份证'")
    assert found == [(60,)]


def test_a_rolled_back_batch_leaves_nothing_in_the_search_index(db_path):
    from monitor.store import open_store

    with open_store(db_path) as store:
        run_id = store.runs.start("forum", "forum", None)
        state = {"title": "出售银行卡", "text": "一手银行卡 私聊", "content_hash": "h"}
        try:
            with store.transaction():
                listing_id = store.listings.insert("forum", "1", state, run_id, "2026-01-01")
                store.listings.insert_version(listing_id, 1, run_id, "2026-01-01", state, None)
                raise RuntimeError("crash in the middle of a batch")
        except RuntimeError:
            pass
        with store.transaction():  # the next transaction must not index the lost version
            pass
    assert rows(db_path, "SELECT count(*) FROM listing_search") == [(0,)]
    assert rows(db_path, "SELECT count(*) FROM listing_versions") == [(0,)]


def test_a_sweeps_connection_keeps_the_page_cache_heishi_store_cache_gives(db_path):
    from monitor.settings import from_environment

    for megabytes in ("8", "96"):
        settings = from_environment({"HEISHI_STORE_CACHE": megabytes})
        recorder = SweepRecorder(db_path, source="forum", kind="forum", settings=settings)
        recorder.open()
        assert recorder.store is not None
        cache = recorder.store.conn.execute("PRAGMA cache_size").fetchone()[0]
        recorder.close(dict(OK_STATS), "finished")
        assert cache == -1024 * int(megabytes)


def test_closing_a_sweep_finds_the_sources_health_alerts_without_reading_every_open_alert(
    db_path,
):
    """Every new listing leaves an open alert: closing a run must reach the source's own
    health alerts (no listing) through an index, not walk all open alerts (64 ms at 150,000)."""
    sweep(db_path, [listing(str(i), f"身份证四件套 {i}") for i in range(30)])
    down = {"heishi/list_page_errors": 1, "retry/max_reached": 1}
    sweep(db_path, [], stats=down)
    recorder = SweepRecorder(db_path, source="forum", kind="forum", url="http://127.0.0.1/")
    recorder.open()
    for i in range(30):
        recorder.record(listing(str(i), f"身份证四件套 {i}"))
    assert recorder.store is not None
    conn = recorder.store.conn
    health_reads: list[str] = []
    conn.set_trace_callback(
        lambda sql: health_reads.append(sql) if "FROM alerts" in sql and "source" in sql else None
    )
    recorder.close(dict(OK_STATS), "finished")
    assert health_reads
    with sqlite3.connect(db_path) as plain:
        for sql in health_reads:
            plan = " ".join(row[3] for row in plain.execute(f"EXPLAIN QUERY PLAN {sql}"))
            assert "idx_alerts_listing_id" in plan, (sql, plan)
    assert rows(db_path, "SELECT status FROM alerts WHERE kind = 'source_failing'") == [
        ("resolved",)
    ]
