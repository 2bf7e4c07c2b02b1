"""Per-user API tokens for the JSON API under /api/: only a SHA-256 of each token is kept (the
token is 32 random bytes: a hash of it cannot be guessed back), with its first characters to
tell tokens apart, when it was made and last used, and when it was revoked."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from monitor.store import rows
from monitor.store.base import QueryGroup

if TYPE_CHECKING:
    from monitor.store.connection import Store


def migrate_0019_api_tokens(store: Store) -> None:
    """0019_api_tokens: the api_tokens table."""
    conn = store.conn
    conn.execute(
        "CREATE TABLE api_tokens (id INTEGER PRIMARY KEY, "
        "user TEXT NOT NULL REFERENCES users(name), token_hash TEXT NOT NULL UNIQUE, "
        "prefix TEXT NOT NULL, created_at TEXT NOT NULL, last_used_at TEXT, revoked_at TEXT)"
    )
    conn.execute("CREATE INDEX api_tokens_user ON api_tokens (user)")


class ApiTokenQueries(QueryGroup):
    """`store.api_tokens`: the queries for API tokens."""

    def add(self, user: str, token_hash: str, prefix: str, *, now: str) -> int:
        with self.store.transaction():
            cursor = self.conn.execute(
                "INSERT INTO api_tokens (user, token_hash, prefix, created_at) VALUES (?, ?, ?, ?)",
                (user, token_hash, prefix, now),
            )
        return int(cursor.lastrowid or 0)

    def revoke(self, user: str, *, now: str) -> int:
        """Revoke every live token of `user`; returns how many."""
        with self.store.transaction():
            cursor = self.conn.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE user = ? AND revoked_at IS NULL",
                (now, user),
            )
        return cursor.rowcount

    def of_user(self, user: str) -> list[dict[str, Any]]:
        """A user's tokens (never their hashes), newest first."""
        return rows.many(
            self.conn,
            "SELECT id, prefix, created_at, last_used_at, revoked_at FROM api_tokens "
            "WHERE user = ? ORDER BY id DESC",
            (user,),
        )

    def owner(self, token_hash: str) -> dict[str, Any] | None:
        """The token with this hash and its user's name, role and state, or None."""
        return rows.one(
            self.conn,
            "SELECT t.id AS token_id, t.revoked_at, t.last_used_at, u.name, u.role, u.disabled "
            "FROM api_tokens t JOIN users u ON u.name = t.user WHERE t.token_hash = ?",
            (token_hash,),
        )

    def mark_used(self, token_id: int, *, now: str, unless_since: str) -> None:
        """Note the token's use, at most once per minute (`unless_since`: a minute ago)."""
        with self.store.transaction():
            self.conn.execute(
                "UPDATE api_tokens SET last_used_at = ? WHERE id = ? "
                "AND (last_used_at IS NULL OR last_used_at < ?)",
                (now, token_id, unless_since),
            )
