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
from monitor.store.base import QueryGroup

if TYPE_CHECKING:
    from monitor.store.connection import Store


def later(now: str, seconds: float) -> str:
    moment = datetime.strptime(now, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return (moment + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def migrate_0016_outbox(store: Store) -> None:
    """A random id for this store (`store_info`), so idempotency keys differ between stores
    and installs; and when a notification first failed in its current series of attempts
    (`retry_since`, reset by `heishi notify retry --dead`): it is given up after days."""
    import secrets

    conn = store.conn
    conn.execute("CREATE TABLE store_info (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("INSERT INTO store_info VALUES ('store_id', ?)", (secrets.token_hex(8),))
    conn.execute("ALTER TABLE notifications ADD COLUMN retry_since TEXT")
    conn.execute(
        "UPDATE notifications SET retry_since = next_attempt_at WHERE status = 'pending' "
        "AND attempts > 0"
    )


class OutboxQueries(QueryGroup):
    """`store.outbox`: the queries for `notifications`."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self._store_id: str | None = None  # read once

    def store_id(self) -> str:
        """This store's random id (in every idempotency key it makes)."""
        if self._store_id is None:
            row = self.conn.execute(
                "SELECT value FROM store_info WHERE name = 'store_id'"
            ).fetchone()
            store_id = str(row[0]) if row else "unknown"
            self._store_id = store_id
            return store_id
        return self._store_id

    def enqueue(
        self, alert_id: int | None, route: str, key: str, payload: dict[str, Any], now: str
    ) -> bool:
        """Queue one message (inside the alert's transaction); False if already queued."""
        cursor = self.conn.execute(
            "INSERT OR IGNORE INTO notifications (alert_id, route, idempotency_key, status, "
            "attempts, next_attempt_at, created_at, payload) VALUES (?, ?, ?, 'pending', 0, ?, ?, ?)",
            (alert_id, route, key, now, now, json.dumps(payload, ensure_ascii=False, default=str)),
        )
        return cursor.rowcount == 1

    def claim(self, now: str, limit: int, lease_seconds: float) -> list[dict[str, Any]]:
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

    def extend_claims(self, ids: list[int], until: str) -> None:
        """Keep rows this sender still holds leased until `until` (a long drain renews them
        before each send, so no other sender takes them meanwhile)."""
        with self.store.transaction() as conn:
            conn.executemany(
                "UPDATE notifications SET next_attempt_at = ? WHERE id = ? AND status = 'sending'",
                [(until, i) for i in ids],
            )

    def mark_sent(self, ids: list[int], now: str) -> None:
        self.conn.executemany(
            "UPDATE notifications SET status = 'sent', sent_at = ?, attempts = attempts + 1, "
            "last_error = NULL WHERE id = ?",
            [(now, i) for i in ids],
        )

    def mark_failed(
        self, ids: list[int], error: str, retry_at: str | None, now: str | None = None
    ) -> None:
        """One more failed attempt (at `now`); due again at `retry_at`, or dead when None."""
        status = "pending" if retry_at else "dead"
        self.conn.executemany(
            "UPDATE notifications SET status = ?, attempts = attempts + 1, last_error = ?, "
            "next_attempt_at = COALESCE(?, next_attempt_at), "
            "retry_since = COALESCE(retry_since, ?) WHERE id = ?",
            [(status, error[:1000], retry_at, now, i) for i in ids],
        )

    def release(self, ids: list[int], due_at: str) -> None:
        """Give claimed rows back untouched (a digest that is not due yet)."""
        self.conn.executemany(
            "UPDATE notifications SET status = 'pending', next_attempt_at = ? WHERE id = ?",
            [(due_at, i) for i in ids],
        )

    def requeue(
        self,
        now: str,
        *,
        dead: bool = False,
        since: str | None = None,
        route: str | None = None,
    ) -> int:
        """`heishi notify retry`: messages waiting for a later try (a retry's backoff, a
        receiver that failed earlier in a drain) are due now; with `dead`, given-up messages
        too, as new (no attempts counted, given up again only after a new series of
        failures). Only those created since `since`, of `route`, when given. Returns how
        many."""
        waiting = "(status = 'pending' AND next_attempt_at > ?)"
        sql = "UPDATE notifications SET next_attempt_at = ?, " + (
            "attempts = CASE WHEN status = 'dead' THEN 0 ELSE attempts END, "
            "retry_since = CASE WHEN status = 'dead' THEN NULL ELSE retry_since END, "
            "status = 'pending' "
            if dead
            else "status = status "
        )
        sql += f"WHERE ({waiting}" + (" OR status = 'dead')" if dead else ")")
        params: list[Any] = [now, now]
        if since:
            sql += " AND created_at >= ?"
            params.append(since)
        if route:
            sql += " AND route = ?"
            params.append(route)
        with self.store.transaction() as conn:
            return conn.execute(sql, params).rowcount

    def dead_letters(self) -> dict[str, Any]:
        """Messages given up: how many, the oldest, and the latest error (for status)."""
        row = rows.one(
            self.conn,
            "SELECT count(*) AS count, min(created_at) AS oldest, "
            "(SELECT last_error FROM notifications WHERE status = 'dead' ORDER BY id DESC "
            "LIMIT 1) AS last_error FROM notifications WHERE status = 'dead'",
        )
        return row or {"count": 0, "oldest": None, "last_error": None}

    def counts(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT status, count(*) FROM notifications GROUP BY status"))

    def notifications(self, status: str | None = None) -> list[dict[str, Any]]:
        if status:
            return rows.many(
                self.conn, "SELECT * FROM notifications WHERE status = ? ORDER BY id", (status,)
            )
        return rows.many(self.conn, "SELECT * FROM notifications ORDER BY id")
