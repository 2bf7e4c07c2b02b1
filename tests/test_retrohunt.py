"""Retro-hunt: stored listings re-matched with new keyword rules. Listings are swept into a
real store through SweepRecorder, matched by the real matcher with the rules of a temporary
copy of keywords/ ($HEISHI_KEYWORDS_DIR), which the tests then edit."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3

import pytest

from monitor.alerting.ingest import SweepRecorder
from monitor.analysis.retrohunt import retrohunt
from monitor.cli.app import run
from monitor.config import PROJECT_ROOT
from monitor.matching.matcher import clear_cache, load_matcher
from monitor.matching.rules_version import rules_version
from monitor.store import open_store

OK_STATS = {"finish_reason": "finished", "response_received_count": 3}
SOURCE, KIND = "market_x", "marketplace"
# Listings as a marketplace spider yields them (masked text, as the store keeps it).
NEWLY = ("蓝莓套餐", "出 蓝莓套餐 一手 10万条 私聊 vx: lanmei88")  # data only by the new term
MATCHED = ("出身份证正反面照片", "身份证正反面+手持 高清原图 一组15元 量大优惠 vx: zj88")
CHATTER = ("周末去爬山", "周末去爬山拍了很多照片，大家怎么看？")
NEW_TERMS = 'category = "identity"\n\n[terms]\n"蓝莓套餐" = { weight = 3.0 }\n'


@pytest.fixture
def kwdir(tmp_path, monkeypatch):
    target = tmp_path / "keywords"
    shutil.copytree(PROJECT_ROOT / "keywords", target)
    monkeypatch.setenv("HEISHI_KEYWORDS_DIR", str(target))
    notify = tmp_path / "notify.toml"
    notify.write_text('[[routes]]\nname = "team"\nurls = ["json://127.0.0.1:9/hook"]\n')
    monkeypatch.setenv("HEISHI_NOTIFY_FILE", str(notify))
    clear_cache()
    yield target
    clear_cache()


def add_new_terms(kwdir):
    (kwdir / "blueberry.toml").write_text(NEW_TERMS, encoding="utf-8")
    clear_cache()  # a running process would pick the change up at its next start


def sweep(db_path, listings):
    """One sweep of SOURCE, each listing matched with the rules in force."""
    matcher = load_matcher()
    recorder = SweepRecorder(db_path, source=SOURCE, kind=KIND, url="http://127.0.0.1/")
    recorder.open()
    for number, (title, text) in enumerate(listings, 1):
        recorder.record(
            {
                "site_id": str(number),
                "url": f"http://127.0.0.1/item/{number}",
                "title": title,
                "text": text,
                "seller": "shop",
                "match": matcher.match(title, text, source=SOURCE, kind=KIND),
                "pii": [],
            }
        )
    return recorder.close(dict(OK_STATS), "finished")


def rows(db_path, sql, params=()):
    with sqlite3.connect(db_path) as conn:
        return conn.execute(sql, params).fetchall()


def fingerprint(db_path):
    """The store's bytes and every table's rows: what a dry run must leave alone."""
    with sqlite3.connect(db_path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        content = {t: conn.execute(f'SELECT * FROM "{t}" ORDER BY 1').fetchall() for t in tables}
    return hashlib.sha256(db_path.read_bytes()).hexdigest(), repr(content)


def test_new_term_raises_one_retrohunt_alert_for_the_listing_that_now_matches(kwdir, db_path):
    sweep(db_path, [NEWLY, MATCHED, CHATTER])
    old = rules_version(kwdir).id
    assert rows(db_path, "SELECT site_id, matched FROM listings ORDER BY id") == [
        ("1", 0),
        ("2", 1),
        ("3", 0),
    ]
    # The sweep recorded the rules that matched each version and hit.
    assert rows(db_path, "SELECT DISTINCT rules_version FROM listing_versions") == [(old,)]
    assert rows(db_path, "SELECT DISTINCT rules_version FROM matches") == [(old,)]
    assert rows(db_path, "SELECT version FROM rule_sets") == [(old,)]
    alerts_before = rows(db_path, "SELECT id, kind FROM alerts")

    add_new_terms(kwdir)
    new = rules_version(kwdir).id
    report = retrohunt(db_path)
    assert report.rules_version == new != old
    assert report.examined == 3 and report.unchanged == 2
    (change,) = report.changes
    assert (change.site_id, change.change, change.current) == ("1", "newly_matched", True)
    assert change.old["matched"] == 0 and change.new["matched"] == 1
    assert change.new["categories"] == ["identity"]
    (alert_id,) = report.alert_ids
    alert = rows(
        db_path,
        "SELECT kind, listing_id, dedupe_key, severity, categories, summary FROM alerts "
        "WHERE id = ?",
        (alert_id,),
    )[0]
    assert alert[:3] == ("retrohunt", change.listing_id, f"retrohunt:{change.listing_id}:{new}")
    assert alert[3] in ("low", "medium", "high", "critical")
    assert json.loads(alert[4]) == ["identity"] and new[:8] in alert[5]
    assert rows(db_path, "SELECT id, kind FROM alerts WHERE id != ?", (alert_id,)) == (
        alerts_before
    )
    # Notifications are queued in the outbox as a sweep's alerts are.
    assert rows(db_path, "SELECT route, status FROM notifications WHERE alert_id = ?", (alert_id,))
    assert rows(db_path, "SELECT matched FROM listings WHERE site_id = '1'") == [(1,)]
    # The re-matched version records the new rules; its new hits carry them, the old keep
    # theirs; versions whose verdict did not move are stamped as seen by the new rules.
    assert rows(db_path, "SELECT DISTINCT rules_version FROM listing_versions") == [(new,)]
    hits = rows(
        db_path,
        "SELECT m.term, m.rules_version FROM matches m JOIN listings l ON l.id = m.listing_id "
        "WHERE l.site_id = '1'",
    )
    assert ("蓝莓套餐", new) in hits
    assert {v for _, v in hits} <= {old, new}
    assert sorted(rows(db_path, "SELECT version FROM rule_sets")) == sorted([(old,), (new,)])

    # A rerun finds nothing left to do and raises nothing twice.
    again = retrohunt(db_path)
    assert again.examined == 0 and again.alert_ids == []
    assert rows(db_path, "SELECT count(*) FROM alerts WHERE kind = 'retrohunt'") == [(1,)]
    # The next sweep, matched by the new rules, sees the listing unchanged: no second alert.
    outcome = sweep(db_path, [NEWLY, MATCHED, CHATTER])
    assert outcome.counts["unchanged"] == 3 and outcome.alert_ids == []


def test_dry_run_shows_the_change_and_writes_nothing(kwdir, db_path):
    sweep(db_path, [NEWLY, MATCHED, CHATTER])
    add_new_terms(kwdir)
    before = fingerprint(db_path)
    report = retrohunt(db_path, dry_run=True)
    assert fingerprint(db_path) == before
    (change,) = report.changes
    assert change.change == "newly_matched" and change.alert == "would_raise"
    assert report.alert_ids == [] and report.dry_run
    # The real run then does what the dry run announced.
    assert [c.change for c in retrohunt(db_path).changes] == ["newly_matched"]


@pytest.mark.slow
def test_listing_that_no_longer_matches_is_reported_not_alerted(kwdir, db_path):
    add_new_terms(kwdir)
    sweep(db_path, [NEWLY, MATCHED])
    assert rows(db_path, "SELECT matched FROM listings WHERE site_id = '1'") == [(1,)]
    (kwdir / "blueberry.toml").unlink()
    clear_cache()
    alerts_before = rows(db_path, "SELECT count(*) FROM alerts")
    report = retrohunt(db_path)
    (change,) = report.changes
    assert change.change == "no_longer_matched" and change.alert is None
    assert rows(db_path, "SELECT count(*) FROM alerts") == alerts_before
    assert rows(db_path, "SELECT matched FROM listings WHERE site_id = '1'") == [(0,)]


@pytest.mark.slow
def test_a_crash_midway_keeps_finished_batches_and_a_rerun_continues(kwdir, db_path):
    sweep(db_path, [CHATTER, NEWLY, MATCHED, CHATTER[::-1]])
    add_new_terms(kwdir)

    def crash(done, total):
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        retrohunt(db_path, batch_size=2, progress=crash)
    new = rules_version(kwdir).id
    assert rows(db_path, "SELECT count(*) FROM listing_versions WHERE rules_version = ?", (new,))
    assert rows(db_path, "SELECT count(*) FROM alerts WHERE kind = 'retrohunt'") == [(1,)]
    seen = []
    report = retrohunt(db_path, batch_size=2, progress=lambda done, total: seen.append(total))
    assert report.examined == 2 and seen == [2]
    assert report.alert_ids == []  # the alert came with the first batch, once
    assert rows(db_path, "SELECT count(*) FROM listing_versions WHERE rules_version != ?", (new,))[
        0
    ] == (0,)


@pytest.mark.slow
def test_since_limits_the_hunt_to_versions_seen_since_then(kwdir, db_path):
    sweep(db_path, [NEWLY, MATCHED])
    add_new_terms(kwdir)
    assert retrohunt(db_path, since="2999-01-01", dry_run=True).examined == 0
    assert retrohunt(db_path, since="2000-01-01", dry_run=True).examined == 2


def test_store_made_before_rules_were_tracked_is_migrated_with_unknown_versions(kwdir, db_path):
    sweep(db_path, [NEWLY, MATCHED])
    with sqlite3.connect(db_path) as conn:  # undo migration 0009, as in an older store
        conn.execute("ALTER TABLE listing_versions DROP COLUMN rules_version")
        conn.execute("ALTER TABLE matches DROP COLUMN rules_version")
        conn.execute("DROP TABLE rule_sets")
        conn.execute("DELETE FROM schema_migrations WHERE name = '0009_rules'")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute(f"PRAGMA user_version = {version - 1}")
    # A dry run reads the old store as it is, read-only.
    assert retrohunt(db_path, dry_run=True).examined == 2
    assert not rows(db_path, "SELECT 1 FROM schema_migrations WHERE name = '0009_rules'")
    open_store(db_path).close()  # opened for writing: migrated, old rows unknown (NULL)
    assert rows(db_path, "SELECT DISTINCT rules_version FROM listing_versions") == [(None,)]
    report = retrohunt(db_path)
    assert report.examined == 2 and report.changes == []
    new = rules_version(kwdir).id
    assert rows(db_path, "SELECT DISTINCT rules_version FROM listing_versions") == [(new,)]
    # Hits found before rules were tracked stay unknown; the retro-hunt added none.
    assert rows(db_path, "SELECT DISTINCT rules_version FROM matches") == [(None,)]


@pytest.mark.slow
def test_retrohunt_command_prints_a_table_or_json(kwdir, db_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    sweep(db_path, [NEWLY, MATCHED])
    add_new_terms(kwdir)
    assert run(["retrohunt", "--db", str(db_path), "--dry-run", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["dry_run"] and report["counts"]["newly_matched"] == 1
    assert report["changes"][0]["alert"] == "would_raise"
    assert run(["retrohunt", "--db", str(db_path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run: nothing written" in out and "newly matched" in out and "would raise" in out
    assert run(["retrohunt", "--db", str(db_path)]) == 0
    assert "1 retrohunt alert(s) raised" in capsys.readouterr().out
    assert run(["retrohunt", "--db", str(db_path), "--since", "last tuesday"]) == 2
    assert "not a date" in capsys.readouterr().err
