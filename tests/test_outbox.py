"""The outbox neither loses nor doubles: real webhook receivers on 127.0.0.1 that are slow,
down for days, or failing; keys unique to each store; `heishi notify retry` for given-up
messages; routes checked when they are loaded."""

from __future__ import annotations

import json
import sqlite3

import pytest

from monitor.alerting.notify import drain_outbox
from monitor.alerting.notify_config import load_notify_config
from monitor.errors import ConfigError
from monitor.store.outbox import later
from tests.helpers import heishi_here, listing, sweep
from tests.receivers import WebhookReceiver


def routes(tmp_path, url: str, extra: str = "", settings: str = "") -> str:
    path = tmp_path / "notify.toml"
    text = f"[settings]\n{settings}\n\n" if settings else ""
    path.write_text(text + f'[[routes]]\nname = "team"\nurls = ["{url}"]\n{extra}', "utf-8")
    return str(path)


def statuses(db_path) -> list[tuple]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT status, attempts FROM notifications ORDER BY id").fetchall()


@pytest.mark.slow
def test_a_slow_receiver_gets_each_message_once_and_it_counts_as_sent(
    db_path, tmp_path, monkeypatch
):
    slow = WebhookReceiver(delay=4.5).start()  # slower than Apprise's own 4 s read timeout
    try:
        monkeypatch.setenv("HEISHI_NOTIFY_FILE", routes(tmp_path, slow.url))
        sweep(db_path, [listing("1", "身份证四件套"), listing("2", "银行卡料")])
        now = "2030-01-01T00:00:00Z"
        first = drain_outbox(db_path, now=now)
        for hours in (1, 2, 3):  # any retries there would be
            drain_outbox(db_path, now=later(now, hours * 3600))
    finally:
        slow.stop()
    assert (first.sent, first.failed, first.dead) == (2, 0, 0), first.errors
    assert len(slow.received) == 2 and len(set(slow.keys())) == 2
    assert statuses(db_path) == [("sent", 1), ("sent", 1)]


def test_a_route_timeout_shorter_than_the_receiver_is_a_failure(db_path, tmp_path, monkeypatch):
    slow = WebhookReceiver(delay=3).start()
    try:
        monkeypatch.setenv("HEISHI_NOTIFY_FILE", routes(tmp_path, slow.url, 'timeout = "1s"\n'))
        sweep(db_path, [listing("1", "身份证四件套")])
        result = drain_outbox(db_path, now="2030-01-01T00:00:00Z")
    finally:
        slow.stop()
    assert (result.sent, result.failed) == (0, 1)


def test_idempotency_keys_differ_between_two_stores(tmp_path, monkeypatch):
    receiver = WebhookReceiver().start()
    try:
        monkeypatch.setenv("HEISHI_NOTIFY_FILE", routes(tmp_path, receiver.url))
        for name in ("a.db", "b.db"):  # alert 1 on route "team" in each
            sweep(tmp_path / name, [listing("1", "身份证四件套")])
            assert drain_outbox(tmp_path / name).sent == 1
    finally:
        receiver.stop()
    keys = receiver.keys()
    assert len(keys) == 2 and len(set(keys)) == 2, keys
    assert all(k.startswith("heishi:") and k.endswith(":alert:1:team:0") for k in keys)


def test_a_receiver_down_for_days_gets_every_message_when_it_is_back(
    db_path, tmp_path, monkeypatch
):
    receiver = WebhookReceiver().start()
    port = receiver.port
    receiver.stop()  # down: the port is closed
    url = f"json://127.0.0.1:{port}/hook"
    monkeypatch.setenv("HEISHI_NOTIFY_FILE", routes(tmp_path, url))
    sweep(db_path, [listing("1", "身份证四件套"), listing("2", "银行卡料")])
    now = "2030-01-01T00:00:00Z"
    attempts, gaps = 0, []
    while now < "2030-01-03T00:00:00Z":  # two days down, each retry when it is due
        result = drain_outbox(db_path, now=now)
        assert result.dead == 0 and result.sent == 0
        attempts += 1
        with sqlite3.connect(db_path) as conn:
            due = conn.execute("SELECT min(next_attempt_at) FROM notifications").fetchone()[0]
        gaps.append(due)
        now = due
    assert attempts > 40  # it kept trying ...
    assert max(gaps[-1:]) <= later(now, 3600)  # ... at most an hour apart
    back = WebhookReceiver(port).start()
    try:
        assert drain_outbox(db_path, now=now).sent == 2
    finally:
        back.stop()
    assert len(back.received) == 2


def test_a_failing_receiver_costs_one_attempt_per_drain_not_one_per_message(
    db_path, tmp_path, monkeypatch
):
    failing = WebhookReceiver(status=500).start()
    try:
        monkeypatch.setenv("HEISHI_NOTIFY_FILE", routes(tmp_path, failing.url))
        sweep(db_path, [listing(str(i), f"身份证料 第{i}批") for i in range(5)])
        result = drain_outbox(db_path, now="2030-01-01T00:00:00Z")
    finally:
        failing.stop()
    assert len(failing.received) == 1
    assert (result.failed, result.deferred) == (1, 4)
    # The four not tried wait for the same retry, with no attempt counted against them.
    assert sorted(statuses(db_path)) == [("pending", 0)] * 4 + [("pending", 1)]


@pytest.mark.slow
def test_given_up_messages_show_in_status_and_notify_retry_dead_sends_them(tmp_path, monkeypatch):
    receiver = WebhookReceiver().start()
    port = receiver.port
    receiver.stop()
    db = tmp_path / "heishi.db"
    config = routes(tmp_path, f"json://127.0.0.1:{port}/hook", settings="max_attempts = 1")
    env = {"HEISHI_NOTIFY_FILE": config}
    monkeypatch.setenv("HEISHI_NOTIFY_FILE", config)
    sweep(db, [listing("1", "身份证四件套")])
    down = heishi_here("notify", "send", "--db", str(db), env=env)
    assert down.returncode == 1 and "dead 1" in down.stdout
    status = heishi_here("status", "--db", str(db), env=env)
    assert "1 notification(s) given up" in status.stdout
    assert "heishi notify retry --dead" in status.stdout
    report = json.loads(heishi_here("status", "--db", str(db), "--json", env=env).stdout)
    assert report["dead_letters"]["count"] == 1
    back = WebhookReceiver(port).start()
    try:
        retried = heishi_here("notify", "retry", "--dead", "--db", str(db), env=env)
        again = heishi_here("notify", "retry", "--dead", "--db", str(db), env=env)
    finally:
        back.stop()
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert "requeued 1; sent 1" in retried.stdout
    assert "requeued 0; sent 0" in again.stdout
    assert len(back.received) == 1
    assert statuses(db) == [("sent", 1)]


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("nosuchscheme://127.0.0.1/hook", "Apprise cannot send to this nosuchscheme:// URL"),
        ("127.0.0.1/hook", "not an Apprise URL"),
    ],
)
def test_a_url_apprise_cannot_send_to_is_refused_when_routes_are_loaded(tmp_path, url, problem):
    config = routes(tmp_path, url)
    with pytest.raises(ConfigError, match=r"notify.toml:3 \[routes.urls\]: route 'team', URL 1"):
        load_notify_config(config)
    with pytest.raises(ConfigError, match=problem):
        load_notify_config(config)
