"""The command line: fast help, clear errors, alerts for people and scripts."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers import heishi_here, listing, sweep


def test_help_imports_no_heavy_module():
    code = (
        "import sys; from monitor.cli.app import build_parser; build_parser().format_help();"
        "heavy = {'scrapy', 'jieba', 'rich', 'playwright', 'sqlite_utils', 'twisted'};"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_top_level_help_imports_no_command_module():
    code = (
        "import sys; from monitor.cli.app import build_parser; build_parser().format_help();"
        "print(sorted(m for m in sys.modules if m.startswith('monitor.cli.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['monitor.cli.app']"


def test_command_table_matches_what_each_module_registers():
    """The one-line table behind `heishi --help` says what the modules really register."""
    import argparse
    import importlib

    from monitor.cli.app import COMMAND_MODULES, COMMANDS

    registered = {}
    for module in COMMAND_MODULES:
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(module).register(sub)
        for choice in sub._choices_actions:
            registered[choice.dest] = (module, choice.help)
    assert registered == COMMANDS


def test_each_command_parses_with_only_its_module(db_path):
    from monitor.cli.app import COMMANDS, build_parser

    for name in COMMANDS:
        parser = build_parser(name)
        chosen = parser._subparsers._group_actions[0].choices[name]
        assert chosen.get_default("func") is not None or chosen._subparsers, name


@pytest.mark.slow
def test_alerts_json_lists_alerts_with_filters(db_path):
    sweep(db_path, [listing("1", "身份证四件套"), listing("2", "银行卡料", volume=None)])
    sweep(db_path, [listing("1", "身份证四件套", price="300元")])
    result = heishi_here("alerts", "--db", str(db_path), "--json")
    assert result.returncode == 0, result.stderr
    alerts = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["kind"] for a in alerts] == ["removed", "changed", "new", "new"]
    changed = alerts[1]
    assert changed["diff"]["price_text"] == ["800元", "300元"]
    assert changed["categories"] == ["identity"]
    only_new = heishi_here("alerts", "--db", str(db_path), "--json", "--kind", "new")
    assert len(only_new.stdout.splitlines()) == 2


def test_alerts_rendered_for_people_show_title_diff_and_price(db_path):
    sweep(db_path, [listing("1", "身份证四件套", price="5000元")])
    sweep(db_path, [listing("1", "身份证四件套", price="3000元")])
    result = heishi_here("alerts", "--db", str(db_path))
    assert result.returncode == 0, result.stderr
    assert "Changed listings" in result.stdout and "New listings" in result.stdout
    assert "身份证四件套" in result.stdout
    assert "5000元" in result.stdout and "3000元" in result.stdout


def test_missing_store_is_a_clear_error_not_a_traceback(tmp_path):
    result = heishi_here("alerts", "--db", str(tmp_path / "nope.db"))
    assert result.returncode == 2
    assert "nope.db does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_locked_store_is_retried_then_a_clear_error(db_path, monkeypatch):
    import sqlite3

    import pytest

    from monitor.alerting.ingest import SweepRecorder
    from monitor.errors import StoreError

    sweep(db_path, [listing("1", "身份证四件套")])
    monkeypatch.setenv("HEISHI_DB_TIMEOUT", "0.1")
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match="locked by another process") as caught:
            SweepRecorder(db_path, source="forum", kind="forum").open()
        assert "retry" in (caught.value.hint or "")
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_writing_through_a_read_only_store_is_a_clear_error(db_path):
    import pytest

    from monitor.errors import StoreError
    from monitor.store import open_store

    sweep(db_path, [listing("1", "身份证四件套")])
    with (
        open_store(db_path, readonly=True) as store,
        pytest.raises(StoreError, match="read-only"),
        store.transaction() as conn,
    ):
        conn.execute("DELETE FROM alert_events")


@pytest.mark.slow
def test_alert_set_writes_the_audit_trail_and_show_renders_history(db_path):
    sweep(db_path, [listing("1", "身份证四件套", price="5000元")])
    sweep(db_path, [listing("1", "身份证四件套", price="3000元")])
    changed = json.loads(
        heishi_here("alerts", "--db", str(db_path), "--json").stdout.splitlines()[0]
    )
    result = heishi_here(
        "alert",
        "set",
        str(changed["id"]),
        "confirmed",
        "--note",
        "seller known",
        "--db",
        str(db_path),
        "--actor",
        "analyst1",
    )
    assert result.returncode == 0, result.stderr
    shown = json.loads(
        heishi_here("alert", "show", str(changed["id"]), "--db", str(db_path), "--json").stdout
    )
    assert shown["alert"]["status"] == "confirmed"
    assert [(e["action"], e["new_status"], e["actor"]) for e in shown["events"]] == [
        ("created", "open", "heishi"),
        ("status", "confirmed", "analyst1"),
    ]
    assert shown["events"][1]["note"] == "seller known"
    assert [v["price_text"] for v in shown["versions"]] == ["5000元", "3000元"]
    rendered = heishi_here("alert", "show", str(changed["id"]), "--db", str(db_path))
    assert "Audit trail" in rendered.stdout and "seller known" in rendered.stdout
    history = heishi_here("history", "forum:1", "--db", str(db_path))
    assert history.returncode == 0, history.stderr
    assert "5000元" in history.stdout and "3000元" in history.stdout


@pytest.mark.slow
def test_unknown_alert_and_listing_are_clear_errors(db_path):
    sweep(db_path, [listing("1", "身份证四件套")])
    missing = heishi_here("alert", "set", "999", "confirmed", "--db", str(db_path))
    assert missing.returncode == 2 and "no alert 999" in missing.stderr
    nolisting = heishi_here("history", "forum:nope", "--db", str(db_path))
    assert nolisting.returncode == 2 and "no listing 'forum:nope'" in nolisting.stderr


def test_alerts_of_every_kind_are_listed_for_people(db_path):
    """Retro-hunt alerts, and a kind the renderer has no heading for, are never left out."""
    from monitor.store import open_store

    sweep(db_path, [listing("1", "身份证四件套")])
    with open_store(db_path) as store, store.transaction():
        for kind in ("retrohunt", "some_future_kind"):
            store.alerts.insert(
                {
                    "kind": kind,
                    "severity": "high",
                    "source": "forum",
                    "title": f"{kind} 银行卡料",
                    "dedupe_key": f"{kind}:1",
                },
                "2026-11-23T00:00:00Z",
            )
    result = heishi_here("alerts", "--db", str(db_path))
    assert result.returncode == 0, result.stderr
    assert "retro-hunt" in result.stdout and "retrohunt 银行卡料" in result.stdout
    assert "some_future_kind" in result.stdout
