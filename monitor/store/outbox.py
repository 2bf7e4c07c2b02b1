"""The notification outbox: every message an alert should send, until it is sent.

Rows are written in the same transaction as their alert, so a crash loses nothing; the
idempotency key (alert, route, URL) is unique, so nothing is queued twice; a sender claims
rows with a lease, so two senders never send the same row, and a sender that died mid-way
leaves rows that become due again when the lease runs out.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from monitor.store import rows

if TYPE_CHECKING:
    from monitor.store.connection import Store


def later(now: str, seconds: float) -> str:
    moment = datetime.strptime(now, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return (moment + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


class OutboxQueries:
    """Methods of Store for `notifications`."""

    def enqueue_notification(
        self: Store, alert_id: int | None, route: str, key: str, payload: dict[str, Any], now: str
    ) -> bool:
        """Queue one message (inside the alert's transaction); False if already queued."""
        cursor = self.conn.execute(
            "INSERT OR IGNORE INTO notifications (alert_id, route, idempotency_key, status, "
            "attempts, next_attempt_at, created_at, payload) VALUES (?, ?, ?, 'pending', 0, ?, ?, ?)",
            (alert_id, route, key, now, now, json.dumps(payload, ensure_ascii=False, default=str)),
        )
        return cursor.rowcount == 1

    def claim_notifications(
        self: Store, now: str, limit: int, lease_seconds: float
    ) -> list[dict[str, Any]]:
        """Due rows (pending, or sending with a lapsed lease), marked sending until the lease
        ends. Call inside a transaction."""
        due = rows.many(
            self.conn,
            "SELECT * FROM notifications WHERE status IN ('pending', 'sending') "
            "AND next_attempt_at <= ? ORDER BY id LIMIT ?",
            (now, limit),
        )
        lease_end = later(now, lease_seconds)
        self.conn.executemany(
            "UPDATE notifications SET status = 'sending', next_attempt_at = ? WHERE id = ?",
            [(lease_end, row["id"]) for row in due],
        )
        return due

    def mark_notification_sent(self: Store, ids: list[int], now: str) -> None:
        self.conn.executemany(
            "UPDATE notifications SET status = 'sent', sent_at = ?, attempts = attempts + 1, "
            "last_error = NULL WHERE id = ?",
            [(now, i) for i in ids],
        )

    def mark_notification_failed(
        self: Store, ids: list[int], error: str, retry_at: str | None
    ) -> None:
        """One more failed attempt; due again at `retry_at`, or dead when it is None."""
        status = "pending" if retry_at else "dead"
        self.conn.executemany(
            "UPDATE notifications SET status = ?, attempts = attempts + 1, last_error = ?, "
            "next_attempt_at = COALESCE(?, next_attempt_at) WHERE id = ?",
            [(status, error[:1000], retry_at, i) for i in ids],
        )

    def release_notifications(self: Store, ids: list[int], due_at: str) -> None:
        """Give claimed rows back untouched (a digest that is not due yet)."""
        self.conn.executemany(
            "UPDATE notifications SET status = 'pending', next_attempt_at = ? WHERE id = ?",
            [(due_at, i) for i in ids],
        )

    def outbox_counts(self: Store) -> dict[str, int]:
        return dict(self.conn.execute("SELECT status, count(*) FROM notifications GROUP BY status"))

    def notifications(self: Store, status: str | None = None) -> list[dict[str, Any]]:
        if status:
            return rows.many(
                self.conn, "SELECT * FROM notifications WHERE status = ? ORDER BY id", (status,)
            )
        return rows.many(self.conn, "SELECT * FROM notifications ORDER BY id")
