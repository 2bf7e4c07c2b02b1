"""The web page's sessions and log-in throttle, kept in the store so that a restart neither
revives an ended session nor forgets a password guesser.

`users.session_generation` counts the times a user's sessions were ended (log-out, a new
password, disabled or enabled); a session cookie carries the generation it was issued under
and is refused once the number has moved on. `login_failures` counts failed log-ins per key
(a user name, a client address), with the time of the last one; rows expire, and the table is
capped, so names and addresses an attacker invents cannot grow it without bound.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from monitor.store import rows
from monitor.store.base import QueryGroup

if TYPE_CHECKING:
    from monitor.store.connection import Store


def migrate_0013_web_sessions(store: Store) -> None:
    """A session generation per user, and the failed log-ins table."""
    conn = store.conn
    conn.execute("ALTER TABLE users ADD COLUMN session_generation INTEGER NOT NULL DEFAULT 0")
    conn.execute(
        "CREATE TABLE login_failures (key TEXT PRIMARY KEY, failures INTEGER NOT NULL, "
        "last_at REAL NOT NULL)"
    )
    conn.execute("CREATE INDEX login_failures_last_at ON login_failures (last_at)")


class WebAuthQueries(QueryGroup):
    """`store.web_auth`: the queries for web sessions and failed log-ins."""

    def end_sessions(self, name: str) -> int | None:
        """End every session of user `name`; returns the new generation (None: no such user)."""
        with self.store.transaction():
            found = self.conn.execute(
                "UPDATE users SET session_generation = session_generation + 1 WHERE name = ? "
                "RETURNING session_generation",
                (name,),
            ).fetchone()
        return found[0] if found else None

    def claim_login_attempt(
        self,
        keys: dict[str, int],
        now: float,
        *,
        delay: Callable[[int, int], float],
        forget_after: float,
        max_rows: int,
    ) -> float:
        """One log-in attempt against `keys` ({key: failures allowed before waiting}).
        Returns the seconds still to wait (nothing is counted), or 0 after counting the
        attempt as a failure of each key, in one transaction: parallel guesses queue here
        and each sees the others. `delay(failures, free)` is the wait after `failures`.
        A success later takes its count back (`login_succeeded`)."""
        marks = ", ".join("?" * len(keys))
        with self.store.transaction():
            self.conn.execute("DELETE FROM login_failures WHERE last_at < ?", (now - forget_after,))
            rows = self.conn.execute(
                f"SELECT key, failures, last_at FROM login_failures WHERE key IN ({marks})",
                tuple(keys),
            ).fetchall()
            wait = max(
                (last_at + delay(failures, keys[key]) - now for key, failures, last_at in rows),
                default=0.0,
            )
            if wait > 0:
                return wait
            self.conn.executemany(
                "INSERT INTO login_failures (key, failures, last_at) VALUES (?, 1, ?) "
                "ON CONFLICT (key) DO UPDATE SET failures = failures + 1, last_at = excluded.last_at",
                [(key, now) for key in keys],
            )
            excess = self.conn.execute("SELECT count(*) FROM login_failures").fetchone()[0]
            if excess > max_rows:  # the oldest go first: invented keys are not kept forever
                self.conn.execute(
                    "DELETE FROM login_failures WHERE key IN (SELECT key FROM login_failures "
                    "ORDER BY last_at LIMIT ?)",
                    (excess - max_rows,),
                )
        return 0.0

    def login_succeeded(self, cleared: Iterable[str], relieved: Iterable[str]) -> None:
        """A right password: forget the failures of the `cleared` keys (the user's name) and
        take back the attempt counted against the `relieved` ones (the client's address)."""
        with self.store.transaction():
            self.conn.executemany(
                "DELETE FROM login_failures WHERE key = ?", [(key,) for key in cleared]
            )
            self.conn.executemany(
                "UPDATE login_failures SET failures = max(failures - 1, 0) WHERE key = ?",
                [(key,) for key in relieved],
            )

    def login_failure_count(self) -> int:
        return rows.count(self.conn, "SELECT count(*) FROM login_failures")

    def login_wait(
        self, keys: dict[str, int], now: float, *, delay: Callable[[int, int], float]
    ) -> float:
        """Seconds still to wait before an attempt against `keys` (as claim_login_attempt
        counts them), read without counting anything: for a request with a valid token."""
        marks = ", ".join("?" * len(keys))
        found = self.conn.execute(
            f"SELECT key, failures, last_at FROM login_failures WHERE key IN ({marks})",
            tuple(keys),
        ).fetchall()
        return max(
            (last_at + delay(failures, keys[key]) - now for key, failures, last_at in found),
            default=0.0,
        )
