"""Schedules, jitter and restarts (monitor.running.schedule), and the store's scheduling and daemon
state (monitor.store.operations), without crawling."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from monitor.errors import HeishiError
from monitor.running.schedule import (
    SourceSchedule,
    cron_trigger,
    first_run_time,
    is_due,
    parse_time,
    store_time,
)
from monitor.store import open_store
from monitor.timespec import duration_seconds, format_duration, parse_duration

NOW = datetime(2026, 11, 23, 8, 0, 0, tzinfo=UTC)
EVERY_30M = SourceSchedule(text="every 30m", interval_seconds=1800)


def site(interval=None, cron=None):
    schedule = None
    if interval or cron:
        schedule = SimpleNamespace(
            interval_seconds=interval, cron=cron, text=f"{interval}s" if interval else cron
        )
    return SimpleNamespace(schedule=schedule)


def test_durations_read_as_people_write_them():
    assert parse_duration("90") == 90
    assert parse_duration("90s") == 90
    assert parse_duration("1h30m") == 5400
    assert parse_duration("1d") == 86400
    assert parse_duration("2.5s") == 2.5
    for bad in ("soon", "", "0s", "-5"):
        with pytest.raises(HeishiError):
            parse_duration(bad)
    assert format_duration(5400) == "1h30m"
    assert format_duration(2.5) == "2.5s"
    assert duration_seconds("soon") is None and duration_seconds("2w") == 14 * 86400
    for text in ("90s", "1h30m", "2d3h4m5s", "2.5s"):
        assert format_duration(duration_seconds(text)) == text.replace("90s", "1m30s")


def test_a_site_file_schedule_or_the_default_interval():
    assert SourceSchedule.of_site(site(interval=1800), 3600).interval_seconds == 1800
    assert SourceSchedule.of_site(site(cron="*/15 * * * *"), 3600).cron == "*/15 * * * *"
    default = SourceSchedule.of_site(site(), 3600)
    assert default.interval_seconds == 3600 and default.text == "every 1h (default)"


def test_jitter_is_at_most_a_tenth_of_the_period():
    assert EVERY_30M.jitter(60) == 60
    assert SourceSchedule("every 3s", interval_seconds=3).jitter(60) == pytest.approx(0.3)
    assert SourceSchedule("cron", cron="*/15 * * * *").jitter(600) == 90
    trigger = EVERY_30M.trigger(60)
    fire = trigger.get_next_fire_time(NOW, NOW)
    assert NOW + timedelta(minutes=30) <= fire <= NOW + timedelta(minutes=31)


def test_cron_weekdays_are_numbered_as_crontab_numbers_them():
    # 2026-11-23 is a Monday. Crontab's 1 is Monday (APScheduler 3's own 1 is Tuesday).
    monday = cron_trigger("0 3 * * 1").get_next_fire_time(None, NOW)
    assert monday.weekday() == 0
    sunday = cron_trigger("0 3 * * 0").get_next_fire_time(None, NOW)
    assert (
        sunday.weekday() == 6 and cron_trigger("0 3 * * 7").get_next_fire_time(None, NOW) == sunday
    )
    weekdays = cron_trigger("0 3 * * 1-5")
    assert str(weekdays.fields[4]) == "mon-fri"


def test_a_restart_keeps_a_next_run_still_ahead():
    ahead = NOW + timedelta(minutes=20)
    assert first_run_time(EVERY_30M, ahead, NOW, 60) == ahead


def test_a_shortened_interval_takes_effect_at_restart():
    stored = NOW + timedelta(hours=20)  # planned under the old schedule, once a day
    assert first_run_time(EVERY_30M, stored, NOW, 60) == NOW + timedelta(minutes=30)


def test_a_missed_or_first_run_comes_once_soon_spread_by_jitter():
    rng = random.Random(3)
    for stored in (None, NOW - timedelta(days=3)):
        times = [first_run_time(EVERY_30M, stored, NOW, 60, rng) for _ in range(50)]
        assert all(NOW <= t <= NOW + timedelta(seconds=60) for t in times)
        assert len(set(times)) > 40  # spread, not all at once


def test_once_counts_a_run_due_within_its_slack_as_due():
    assert is_due(None, EVERY_30M, NOW)
    assert is_due(NOW - timedelta(seconds=1), EVERY_30M, NOW)
    assert is_due(NOW + timedelta(seconds=30), EVERY_30M, NOW)  # cron woke us a little early
    assert not is_due(NOW + timedelta(minutes=5), EVERY_30M, NOW)


def test_store_times_round_trip():
    assert parse_time(store_time(NOW)) == NOW
    assert store_time(NOW) == "2026-11-23T08:00:00Z"


# -- the store's side ----------------------------------------------------------------------


def test_schedule_state_is_kept_per_source(store):
    store.operations.schedule_source(
        "forum", "forum", "http://f", "every 30m", "2026-11-23T08:30:00Z"
    )
    store.operations.source_started("forum", "forum", "http://f", "2026-11-23T08:30:01Z")
    store.operations.set_next_run("forum", "2026-11-23T09:00:00Z")
    assert store.operations.next_runs() == {"forum": "2026-11-23T09:00:00Z"}
    [row] = store.operations.source_status()
    assert row["schedule"] == "every 30m" and row["last_started_at"] == "2026-11-23T08:30:01Z"
    assert row["last_run_id"] is None and row["running_since"] is None
    first_seen = store.conn.execute("SELECT first_seen FROM sources").fetchone()[0]
    assert first_seen == "2026-11-23T08:30:01Z"


def test_status_shows_the_last_finished_run_and_one_in_progress(store):
    first = store.runs.start("forum", "forum", None)
    with store.transaction():
        store.runs.finish(first, "ok", {"items": 12, "new": 3})
    store.runs.start("forum", "forum", None)  # this process: still running
    [row] = store.operations.source_status()
    assert row["last_run_id"] == first and row["last_items"] == 12 and row["last_new"] == 3
    assert row["running_since"] is not None


def test_runs_of_a_dead_monitor_are_closed_as_crashed(store):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    run_id = store.runs.start("forum", "forum", None)
    store.conn.execute("UPDATE runs SET pid = ? WHERE id = ?", (int(dead.stdout), run_id))
    assert store.operations.close_abandoned_runs() == 1
    assert store.runs.get(run_id)["status"] == "crashed"


def test_one_live_monitor_per_store(db_path):
    with open_store(db_path) as store:
        mine = store.operations.claim_daemon({"heartbeat": 30})
        assert not mine["live"] and mine["pid"] == os.getpid()
        other = store.operations.claim_daemon({"heartbeat": 30})
        assert other["live"] and other["id"] == mine["id"]
        assert store.operations.latest_daemon()["live"]
        store.operations.daemon_stopped(mine["id"])
        assert not store.operations.latest_daemon()["live"]
        again = store.operations.claim_daemon({"heartbeat": 30})
        assert not again["live"] and again["id"] != mine["id"]


def test_a_monitor_that_died_is_taken_over(db_path):
    with open_store(db_path) as store:
        first = store.operations.claim_daemon({"heartbeat": 30})
        # Its process is gone (another pid on this host) or its heartbeat is long stale.
        store.conn.execute("UPDATE daemon SET pid = 999999999 WHERE id = ?", (first["id"],))
        assert not store.operations.latest_daemon()["live"]
        second = store.operations.claim_daemon({"heartbeat": 30})
        assert not second["live"]
        statuses = dict(store.conn.execute("SELECT id, status FROM daemon").fetchall())
        assert statuses == {first["id"]: "crashed", second["id"]: "running"}
        store.conn.execute(
            "UPDATE daemon SET heartbeat_at = '2000-01-01T00:00:00Z' WHERE id = ?", (second["id"],)
        )
        assert not store.operations.latest_daemon()["live"]


def test_outbox_counts_by_status(store):
    assert store.outbox.counts() == {}
    alert_id = store.conn.execute(
        "INSERT INTO alerts (kind, severity, status, created_at, dedupe_key) "
        "VALUES ('new', 'high', 'open', '2026-11-23T08:00:00Z', 'k')"
    ).lastrowid
    for key, status in (("a", "pending"), ("b", "sent"), ("c", "sent"), ("d", "dead")):
        store.conn.execute(
            "INSERT INTO notifications (alert_id, route, idempotency_key, status, created_at) "
            "VALUES (?, 'ops', ?, ?, '2026-11-23T08:00:00Z')",
            (alert_id, key, status),
        )
    assert store.outbox.counts() == {"pending": 1, "sent": 2, "dead": 1}


def test_the_sources_to_run_skip_demo_disabled_and_broken_site_files(tmp_path):
    from monitor.running.schedule import load_plans
    from tests.servers import PROJECT_ROOT, write_site

    demo = (PROJECT_ROOT / "spiders" / "sites" / "demo_channel.toml").read_text(encoding="utf-8")
    plain = demo.replace('tags = ["demo"]', "")
    write_site(tmp_path, "a", plain.replace('"demo_channel"', '"a"'))
    write_site(tmp_path, "b", plain.replace('"demo_channel"', '"b"') + "enabled = false\n")
    write_site(tmp_path, "c", demo.replace('"demo_channel"', '"c"'))
    write_site(tmp_path, "d", plain.replace('"demo_channel"', '"d"') + "max_pages = 0\n")
    write_site(
        tmp_path, "e", plain.replace('"demo_channel"', '"e"').replace('interval = "15m"', "x = 1")
    )
    plans = load_plans(sites_dir=tmp_path, default_interval=600)
    assert sorted(plans) == ["a"]
    assert plans["a"].schedule.interval_seconds == 900
    named = load_plans(["b", "c"], sites_dir=tmp_path)  # named: disabled and demo too
    assert sorted(named) == ["b", "c"]
    with pytest.raises(HeishiError, match="unknown source"):
        load_plans(["nope"], sites_dir=tmp_path)
    with pytest.raises(HeishiError, match="d.toml"):  # asked for by name: its error
        load_plans(["d"], sites_dir=tmp_path)
