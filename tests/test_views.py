"""The analyst views answer what the ingested sweeps imply (tests/analyst_store.py): real
sweeps through SweepRecorder into a real SQLite file, views read from a read-only store."""

from __future__ import annotations

import sqlite3

import pytest

from monitor.store import open_store
from monitor.store.views import VIEWS, replace_views
from tests.analyst_store import OLD_TIME, build_shared_store


@pytest.fixture(scope="module")
def analyst_db(tmp_path_factory):
    return build_shared_store(tmp_path_factory)


@pytest.fixture
def view(analyst_db):
    db_path, _ = analyst_db

    def rows(name):
        with open_store(db_path, readonly=True) as store:
            return store.analyst.view_rows(name)

    return rows


def test_migration_creates_every_view(analyst_db):
    db_path, _ = analyst_db
    with sqlite3.connect(db_path) as conn:
        views = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'view'")}
        applied = {r[0] for r in conn.execute("SELECT name FROM schema_migrations")}
    assert set(VIEWS) <= views
    assert "0008_views" in applied


def test_live_listings_by_category_has_one_row_per_category_of_live_matched_listings(view):
    rows = view("v_live_listings_by_category")
    found = {(r["category"], r["site_id"]) for r in rows}
    # f2 was removed on day 2, f3 never matched; m1 carries two categories.
    assert found == {("identity", "f1"), ("identity", "m1"), ("telecom", "m1"), ("logistics", "c1")}
    f1 = next(r for r in rows if r["site_id"] == "f1")
    assert (f1["price"], f1["version"]) == (600.0, 2)  # the current state, not version 1


def test_category_summary_counts_sources_volume_and_price_range(view):
    summary = {r["category"]: r for r in view("v_live_category_summary")}
    assert set(summary) == {"identity", "telecom", "logistics"}
    identity = summary["identity"]
    assert (identity["listings"], identity["sources"], identity["sellers"]) == (2, 2, 1)
    assert identity["volume_total"] == 300_000 + 2_000_000
    assert (identity["price_min"], identity["price_max"]) == (600.0, 1200.0)


def test_price_history_has_every_version_and_the_change_from_the_last(view, analyst_db):
    _, ids = analyst_db
    history = [r for r in view("v_listing_price_history") if r["listing_id"] == ids["f1"]]
    assert [(r["version"], r["price"], r["price_change"]) for r in history] == [
        (1, 800.0, None),
        (2, 600.0, -200.0),
    ]
    assert history[0]["replaced_at"] == history[1]["seen_at"]
    assert history[1]["replaced_at"] is None
    assert {"price_text", "contacts"} <= set(history[1]["changed_fields"].split(","))


def test_sellers_across_sources_joins_one_seller_on_two_sources(view):
    sellers = {r["seller"]: r for r in view("v_sellers_across_sources")}
    laowang = sellers["老王"]
    assert laowang["sources"] == 2
    assert set(laowang["source_names"].split(",")) == {"forum_a", "market_b"}
    assert set(laowang["categories"].split(",")) == {"identity", "telecom"}
    assert laowang["first_seen"] == OLD_TIME and laowang["last_seen"] > OLD_TIME
    assert sellers["阿强"]["live_listings"] == 0  # his only listing was removed
    assert "路人" not in sellers  # a chatter post's author is not a seller
    assert view("v_sellers_across_sources")[0]["seller"] == "老王"  # most sources first


def test_contacts_across_sources_counts_every_version_that_carried_them(view):
    contacts = {r["contact"]: r for r in view("v_contacts_across_sources")}
    qq = contacts["qq:88664422"]
    assert (qq["contact_kind"], qq["contact_value"]) == ("qq", "88664422")
    assert (qq["sources"], qq["listings"], qq["sellers"]) == (2, 2, 1)
    # The WeChat handle was dropped in f1's version 2: last seen with version 1.
    wechat = contacts["wechat:wx_laowang"]
    assert wechat["last_seen"] == OLD_TIME and qq["last_seen"] > OLD_TIME
    assert contacts["telegram:bank_q"]["live_listings"] == 0


def test_new_this_week_has_matched_listings_first_seen_in_the_last_seven_days(view):
    rows = view("v_new_this_week")
    # c1 was first seen long ago; f3 never matched.
    assert {r["site_id"] for r in rows} == {"f1", "f2", "m1"}
    assert all(r["alert_id"] is not None and r["severity"] for r in rows)


def test_alerts_by_status_counts_every_alert_once(analyst_db, tmp_path):
    db_path, ids = analyst_db
    copy = tmp_path / "copy.db"
    with sqlite3.connect(db_path) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    with open_store(copy) as store:
        alert_id = store.conn.execute(
            "SELECT id FROM alerts WHERE listing_id = ? AND kind = 'new'", (ids["f2"],)
        ).fetchone()[0]
        with store.transaction():
            store.alerts.set_status(alert_id, "dismissed", actor="test", now=OLD_TIME)
        rows = store.analyst.view_rows("v_alerts_by_status")
        total = store.conn.execute("SELECT count(*) FROM alerts").fetchone()[0]
    assert sum(r["alerts"] for r in rows) == total
    dismissed = [r for r in rows if r["status"] == "dismissed"]
    assert [(r["kind"], r["alerts"]) for r in dismissed] == [("new", 1)]
    assert rows[0]["status"] == "open" and rows[-1]["status"] == "dismissed"
    open_new = [r for r in rows if (r["status"], r["kind"]) == ("open", "new")]
    assert sum(r["listings"] for r in open_new) == 3  # f1, m1, c1, split by severity
    assert [r["severity"] for r in open_new] == sorted(
        (r["severity"] for r in open_new), key=["critical", "high", "medium", "low"].index
    )


def test_a_later_migration_can_drop_and_recreate_a_view(analyst_db, tmp_path):
    db_path, _ = analyst_db
    copy = tmp_path / "copy.db"
    with sqlite3.connect(db_path) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    with open_store(copy) as store:
        before = store.analyst.view_rows("v_new_this_week")
        with store.transaction():
            replace_views(store, ["v_new_this_week"])
        assert store.analyst.view_rows("v_new_this_week") == before


def test_a_store_from_before_the_views_gets_them_when_opened(tmp_path):
    path = tmp_path / "old.db"
    open_store(path).close()
    with sqlite3.connect(path) as conn:  # make it look like a store from before 0008
        for name in VIEWS:
            conn.execute(f"DROP VIEW {name}")
        conn.execute("DELETE FROM schema_migrations WHERE name = '0008_views'")
        conn.execute(
            f"PRAGMA user_version = {conn.execute('PRAGMA user_version').fetchone()[0] - 1}"
        )
    with open_store(path) as store:
        assert store.analyst.view_rows("v_alerts_by_status") == []
        names = {
            r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'view'")
        }
    assert set(VIEWS) <= names
