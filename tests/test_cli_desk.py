"""The review desk's command line: triage verbs and several ids, bulk triage from the queue's
filters, closed vocabularies refused with their choices, one `--since` everywhere, alerts
grouped per listing, `alert show` with listing and seller and JSON values as JSON, and one
clear line instead of a traceback."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import pytest

from monitor.cli.app import run
from tests.desk_store import build_desk_store
from tests.helpers import heishi


@pytest.fixture
def desk(db_path):
    return db_path, build_desk_store(db_path)


def status_of(db_path, alert_id):
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT status FROM alerts WHERE id = ?", (alert_id,)).fetchone()[0]


def status_events(db_path, alert_id):
    with sqlite3.connect(db_path) as conn:
        return conn.execute(
            "SELECT actor, old_status, new_status, note, reason FROM alert_events "
            "WHERE alert_id = ? AND action = 'status' ORDER BY id",
            (alert_id,),
        ).fetchall()


def alerts_json(capsys, *args):
    assert run(["alerts", *args, "--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


# --- alert set ---------------------------------------------------------------------------


def test_alert_set_takes_verbs_and_several_ids(desk, capsys):
    db, ids = desk
    f3, f1_changed = ids[("f3", "new")], ids[("f1", "changed")]
    code = run(
        ["alert", "set", str(f3), str(f1_changed), "confirm", "--note", "same seller",
         "--actor", "rita", "--db", str(db)]
    )  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert f"alert {f3}: confirmed" in out and "2 of 2 alert(s) set to confirmed" in out
    for alert_id in (f3, f1_changed):
        assert status_events(db, alert_id) == [("rita", "open", "confirmed", "same seller", None)]
    assert run(["alert", "set", str(f3), "ack", "--db", str(db)]) == 0
    assert status_of(db, f3) == "acknowledged"
    assert run(["alert", "set", str(f3), "escalated", "--db", str(db)]) == 0  # a status word
    assert status_of(db, f3) == "escalated"


def test_dismissing_records_the_reason(desk, capsys):
    db, ids = desk
    f3 = ids[("f3", "new")]
    assert run(
        ["alert", "set", str(f3), "dismiss", "--reason", "duplicate", "--actor", "ana",
         "--db", str(db)]
    ) == 0  # fmt: skip
    assert status_events(db, f3) == [("ana", "open", "dismissed", None, "duplicate")]
    assert run(["alert", "set", str(f3), "confirm", "--reason", "duplicate", "--db", str(db)]) == 2
    assert "--reason is for dismissing" in capsys.readouterr().err


def test_unknown_verbs_and_ids_change_nothing(desk, capsys):
    db, ids = desk
    f3 = ids[("f3", "new")]
    assert run(["alert", "set", str(f3), "approve", "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert "'approve' is not a triage verb" in err and "confirm, dismiss, ack" in err
    assert run(["alert", "set", str(f3), "999", "confirm", "--db", str(db)]) == 2
    assert "no alert 999" in capsys.readouterr().err
    assert status_of(db, f3) == "open"
    assert run(["alert", "set", "confirm", "--db", str(db)]) == 2
    assert "which alerts?" in capsys.readouterr().err
    assert run(["alert", "set", str(f3), "confirm", "--source", "forum_a", "--db", str(db)]) == 2
    assert "only with --from-queue" in capsys.readouterr().err


def test_from_queue_triages_every_open_alert_the_filters_select(desk, capsys):
    db, ids = desk
    args = ["alert", "set", "--from-queue", "resolve", "--source", "forum_a", "--db", str(db)]
    assert run([*args, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would set 2 of 2 alert(s) to resolved" in out
    assert status_of(db, ids[("f3", "new")]) == "open"
    assert run(args) == 0
    # Only the open ones: the confirmed and escalated alerts of forum_a are left alone.
    assert status_of(db, ids[("f3", "new")]) == "resolved"
    assert status_of(db, ids[("f1", "changed")]) == "resolved"
    assert status_of(db, ids[("f1", "new")]) == "confirmed"
    assert status_of(db, ids[("f2", "new")]) == "escalated"
    assert status_of(db, ids[("m1", "new")]) == "dismissed"
    assert (
        run(["alert", "set", "--from-queue", "ack", "--category", "finance", "--db", str(db)]) == 0
    )
    assert "no alert matches" in capsys.readouterr().out


# --- closed vocabularies and --since ------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "choice"),
    [
        ("--status", "opne", "acknowledged"),
        ("--category", "identiy", "education_jobs"),
        ("--severity", "urgent", "critical"),
        ("--kind", "created", "relisted"),
    ],
)
def test_unknown_filter_values_exit_2_with_the_valid_choices(desk, option, value, choice):
    db, _ = desk
    result = heishi("alerts", option, value, "--db", str(db))
    assert result.returncode == 2
    assert "invalid choice" in result.stderr and choice in result.stderr
    assert "Traceback" not in result.stderr


def test_since_is_read_the_same_way_by_every_command(desk, capsys):
    db, _ = desk
    assert len(alerts_json(capsys, "--db", str(db), "--since", "2026-11-02")) == 4
    assert len(alerts_json(capsys, "--db", str(db), "--since", "2026-11-02T04:00:00Z")) == 3
    # a time with a zone: 12:00 in Beijing is 04:00 UTC
    assert len(alerts_json(capsys, "--db", str(db), "--since", "2026-11-02T12:00+08:00")) == 3
    # durations count back from now: the fixed times are long past ...
    assert alerts_json(capsys, "--db", str(db), "--since", "7d") == []
    # ... and a fresh alert is within 24h
    with sqlite3.connect(db) as conn:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        conn.execute("UPDATE alerts SET created_at = ? WHERE id = 3", (now,))
    assert [a["id"] for a in alerts_json(capsys, "--db", str(db), "--since", "24h")] == [3]
    for command in (
        ["alerts"],
        ["export", "--format", "jsonl"],
        ["search", "身份证"],
        ["retrohunt", "--dry-run"],
        ["notify", "retry"],
    ):
        assert run([*command, "--db", str(db), "--since", "last tuesday"]) == 2, command
        err = capsys.readouterr().err
        assert "--since 'last tuesday' is not a date, a time or a duration" in err, command


def test_one_duration_parser_reads_every_form():
    from monitor.timespec import duration_seconds, parse_duration, since_timestamp

    assert duration_seconds("90") == duration_seconds("90s") == 90
    assert duration_seconds("1h30m") == 5400
    assert duration_seconds("2w") == 14 * 86400
    assert duration_seconds("2.5s") == 2.5
    assert duration_seconds("soon") is None and duration_seconds("") is None
    with pytest.raises(Exception, match="longer than zero"):
        parse_duration("0s")
    now = datetime(2026, 11, 8, 12, 0, tzinfo=UTC)
    assert since_timestamp("7d", now) == "2026-11-01T12:00:00Z"
    assert since_timestamp("24h", now) == "2026-11-07T12:00:00Z"
    assert since_timestamp("2026-11-01", now) == "2026-11-01T00:00:00Z"
    assert since_timestamp("20261101", now) == "2026-11-01T00:00:00Z"
    assert since_timestamp("2026-11-01T08:00:00+08:00", now) == "2026-11-01T00:00:00Z"


# --- grouping, show ----------------------------------------------------------------------


def test_alerts_group_puts_a_listings_alerts_in_one_row(desk, capsys):
    db, ids = desk
    assert run(["alert", "set", str(ids[("f1", "new")]), "reopen", "--db", str(db)]) == 0
    capsys.readouterr()
    groups = alerts_json(capsys, "--db", str(db), "--group")
    f1 = next(g for g in groups if g["alert_ids"] == [ids[("f1", "new")], ids[("f1", "changed")]])
    assert f1["kinds"] == ["new", "changed"] and f1["severity"] == "high"
    assert f1["seller"] == "老猫数据" and f1["categories"] == ["identity"]
    assert f1["alerts"][1]["categories"] == ["identity"]  # JSON values, not JSON text
    assert len(groups) == 2  # f1 (two open alerts) and f3; the rest are triaged
    assert run(["alerts", "--group", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "new → changed" in out and "2 listing(s) with alerts" in out


def test_alert_show_names_listing_and_seller_and_json_holds_json_values(desk, capsys):
    db, ids = desk
    changed = ids[("f1", "changed")]
    result = heishi("alert", "show", str(changed), "--db", str(db))
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(db) as conn:
        listing_id = conn.execute("SELECT id FROM listings WHERE site_id = 'f1'").fetchone()[0]
    assert f"listing {listing_id} (forum_a:f1)" in result.stdout
    assert "seller 老猫数据" in result.stdout
    assert run(["alert", "show", str(changed), "--db", str(db), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["alert"]["categories"] == ["identity"]
    assert shown["alert"]["diff"]["price_text"] == ["800元", "600元"]
    assert shown["alert"]["listing_id"] == listing_id and shown["alert"]["seller"] == "老猫数据"
    assert shown["listing"]["contacts"] == ["wechat:laomao"]
    assert shown["versions"][1]["diff"]["price_text"] == ["800元", "600元"]
    assert {m["term"] for m in shown["matches"]} == {"身份证", "四件套"}
    alerts = alerts_json(capsys, "--db", str(db), "--kind", "changed")
    assert alerts[0]["diff"]["price_text"] == ["800元", "600元"]


# --- no tracebacks -----------------------------------------------------------------------


def test_users_add_without_a_terminal_says_how_instead_of_a_traceback(tmp_path):
    db = str(tmp_path / "h.db")
    result = heishi("users", "add", "wangfang", "--role", "reviewer", "--db", db, "--create")
    assert result.returncode == 2
    assert "no terminal to ask for the password on" in result.stderr
    assert "--password-stdin" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_an_unforeseen_error_is_one_line_and_debug_shows_the_traceback(desk):
    db, _ = desk
    # /proc/version cannot be replaced: nothing checks for that before writing the export.
    args = ("export", "--format", "csv", "--db", str(db), "-o", "/proc/version")
    result = heishi(*args)
    assert result.returncode == 1
    assert result.stderr.splitlines()[0].startswith("heishi: error: ")
    assert "--debug" in result.stderr and "Traceback" not in result.stderr
    debug = heishi("--debug", *args)
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_sources_list_prints_long_urls_whole_in_80_columns(tmp_path):
    sites = tmp_path / "sites"
    sites.mkdir()
    url = "http://127.0.0.1:8701/forum.php?mod=forumdisplay&fid=2&" + "x" * 90 + "=1"
    (sites / "long_forum.toml").write_text(
        f'name = "long_forum"\nkind = "forum"\npreset = "discuz"\nstart_urls = ["{url}"]\n'
        "network = { allow_private = true }\n"
    )
    result = heishi(
        "sources", "list", "--db", str(tmp_path / "none.db"),
        env={"HEISHI_SITES_DIR": str(sites), "COLUMNS": "80"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert url in result.stdout
