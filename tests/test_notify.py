"""Notifications through the outbox: real webhook and SMTP receivers on 127.0.0.1, a receiver
that is down and comes back, nothing lost and nothing sent twice."""

from __future__ import annotations

import email
import sqlite3

import pytest

from monitor.alerting.notify import drain_outbox
from monitor.alerting.notify_config import load_notify_config
from monitor.errors import ConfigError
from monitor.store.outbox import later
from tests.helpers import listing, sweep
from tests.receivers import SmtpReceiver, WebhookReceiver


def write_config(path, body):
    path.write_text(body, encoding="utf-8")
    return path


@pytest.fixture
def webhook():
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


def test_new_alert_reaches_a_real_webhook_once_with_its_idempotency_key(
    db_path, tmp_path, webhook, monkeypatch
):
    config = write_config(
        tmp_path / "notify.toml",
        f'[[routes]]\nname = "team"\nurls = ["{webhook.url}"]\nmin_severity = "medium"\n',
    )
    monkeypatch.setenv("HEISHI_NOTIFY_FILE", str(config))
    sweep(db_path, [listing("1", "身份证四件套 出售", price="3000元")])
    first = drain_outbox(db_path)
    again = drain_outbox(db_path)
    assert (first.sent, again.sent) == (1, 0)
    assert len(webhook.received) == 1
    message = webhook.received[0]
    assert message["path"] == "/hook"
    assert "身份证四件套" in message["json"]["title"]
    assert "3000元" in message["json"]["message"]
    key = message["headers"]["X-Heishi-Idempotency-Key"]
    assert key.startswith("heishi:") and key.endswith(":alert:1:team:0")


def test_receiver_down_then_back_loses_nothing_and_sends_once(db_path, tmp_path, monkeypatch):
    receiver = WebhookReceiver().start()
    port = receiver.port
    receiver.stop()  # down: the port is closed
    config = write_config(
        tmp_path / "notify.toml",
        f'[settings]\nbackoff = 60\n\n[[routes]]\nname = "team"\nurls = ["json://127.0.0.1:{port}/hook"]\n',
    )
    monkeypatch.setenv("HEISHI_NOTIFY_FILE", str(config))
    sweep(db_path, [listing("1", "身份证四件套"), listing("2", "银行卡料")])
    now = "2030-01-01T00:00:00Z"
    down = drain_outbox(db_path, now=now)
    # One try reached the receiver that is down; the other message waits with it.
    assert (down.sent, down.failed, down.deferred) == (0, 1, 1)
    too_soon = drain_outbox(db_path, now=later(now, 30))  # backoff not over: nothing tried
    assert (too_soon.sent, too_soon.failed) == (0, 0)
    back = WebhookReceiver(port).start()
    try:
        recovered = drain_outbox(db_path, now=later(now, 61))
        assert recovered.sent == 2
        assert drain_outbox(db_path, now=later(now, 7200)).sent == 0
        keys = sorted(m["headers"]["X-Heishi-Idempotency-Key"] for m in back.received)
        assert [k.split(":", 2)[2] for k in keys] == ["alert:1:team:0", "alert:2:team:0"]
    finally:
        back.stop()
    with sqlite3.connect(db_path) as conn:
        # The message deferred behind the failed one counted no attempt of its own.
        assert conn.execute("SELECT status, attempts FROM notifications").fetchall() == [
            ("sent", 2),
            ("sent", 1),
        ]


def test_a_crashed_sender_leaves_rows_that_are_sent_after_the_lease(
    db_path, tmp_path, webhook, monkeypatch
):
    from monitor.store import open_store

    config = write_config(tmp_path / "notify.toml", f'[[routes]]\nurls = ["{webhook.url}"]\n')
    monkeypatch.setenv("HEISHI_NOTIFY_FILE", str(config))
    sweep(db_path, [listing("1", "身份证四件套")])
    now = "2030-01-01T00:00:00Z"
    with open_store(db_path) as store, store.transaction():
        claimed = store.outbox.claim(now, 10, 300)  # ... and the sender dies here
    assert len(claimed) == 1
    assert drain_outbox(db_path, now=later(now, 10)).sent == 0  # still leased: not twice
    assert drain_outbox(db_path, now=later(now, 301)).sent == 1
    assert len(webhook.received) == 1


def test_email_reaches_a_real_smtp_server(db_path, tmp_path, monkeypatch):
    smtp = SmtpReceiver().start()
    try:
        url = f"mailto://127.0.0.1:{smtp.port}?from=heishi@example.test&to=team@example.test"
        config = write_config(
            tmp_path / "notify.toml",
            f'[[routes]]\nname = "mail"\nurls = ["{url}"]\ncategories = ["identity"]\n',
        )
        monkeypatch.setenv("HEISHI_NOTIFY_FILE", str(config))
        sweep(db_path, [listing("1", "身份证四件套", price="3000元")])
        result = drain_outbox(db_path)
        assert result.sent == 1, result.errors
        assert len(smtp.messages) == 1
        message = email.message_from_string(smtp.messages[0]["data"])
        assert smtp.messages[0]["to"] == ["team@example.test"]
        subject = str(email.header.make_header(email.header.decode_header(message["Subject"])))
        assert "身份证四件套" in subject
    finally:
        smtp.stop()


def test_routes_filter_by_severity_category_and_kind(db_path, tmp_path, webhook, monkeypatch):
    config = write_config(
        tmp_path / "notify.toml",
        f'[[routes]]\nname = "finance-only"\nurls = ["{webhook.url}"]\ncategories = ["finance"]\n\n'
        f'[[routes]]\nname = "critical"\nurls = ["{webhook.url}"]\nmin_severity = "critical"\n\n'
        f'[[routes]]\nname = "changes"\nurls = ["{webhook.url}"]\nkinds = ["changed"]\n',
    )
    monkeypatch.setenv("HEISHI_NOTIFY_FILE", str(config))
    sweep(db_path, [listing("1", "身份证四件套", price="5000元")])
    sweep(db_path, [listing("1", "身份证四件套", price="3000元")])
    assert drain_outbox(db_path).sent == 1
    assert "listing changed" in webhook.received[0]["json"]["title"]


def test_digest_route_sends_one_message_when_the_digest_is_due(
    db_path, tmp_path, webhook, monkeypatch
):
    config = write_config(
        tmp_path / "notify.toml",
        f'[[routes]]\nname = "daily"\nurls = ["{webhook.url}"]\ndigest = "1h"\n',
    )
    monkeypatch.setenv("HEISHI_NOTIFY_FILE", str(config))
    sweep(db_path, [listing(str(i), f"身份证料 第{i}批") for i in range(3)])
    with sqlite3.connect(db_path) as conn:
        created = conn.execute("SELECT min(created_at) FROM notifications").fetchone()[0]
    early = drain_outbox(db_path, now=later(created, 60))
    assert (early.sent, early.waiting) == (0, 3)
    due = drain_outbox(db_path, now=later(created, 3601))
    assert due.sent == 3
    assert len(webhook.received) == 1
    assert "3 alert(s)" in webhook.received[0]["json"]["title"]


def test_malformed_notify_config_names_file_and_line(tmp_path):
    config = write_config(
        tmp_path / "notify.toml",
        '[[routes]]\nname = "x"\nurls = ["json://127.0.0.1/"]\nmin_severity = "urgent"\n',
    )
    with pytest.raises(ConfigError, match=r"notify.toml:4 \[routes.min_severity\]"):
        load_notify_config(config)


def test_notify_commands_send_and_show_the_outbox(db_path, tmp_path, webhook, monkeypatch):
    from tests.helpers import heishi_here

    config = write_config(tmp_path / "notify.toml", f'[[routes]]\nurls = ["{webhook.url}"]\n')
    env = {"HEISHI_NOTIFY_FILE": str(config)}
    monkeypatch.setenv("HEISHI_NOTIFY_FILE", str(config))
    sweep(db_path, [listing("1", "身份证四件套")])
    status = heishi_here("notify", "status", "--db", str(db_path), "--json", env=env)
    assert '"pending": 1' in status.stdout
    sent = heishi_here("notify", "send", "--db", str(db_path), env=env)
    assert sent.returncode == 0 and "sent 1" in sent.stdout
    assert len(webhook.received) == 1
