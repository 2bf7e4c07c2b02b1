"""The connection a store's query groups share, and the base class of those groups.

A `Store` (monitor/store/connection.py) is a `StoreConnection` holding one query group per
family of tables as an attribute (`store.alerts`, `store.runs`, ...), as sqlite-utils holds
`Table` objects: each group's SQL lives in its own module and reaches the file through
`self.conn`.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import sqlite_utils

if TYPE_CHECKING:
    from monitor.errors import StoreError
    from monitor.store.connection import Store

LOCK_RETRIES = 5


class StoreConnection:
    """One SQLite file: its connection, write transactions and time limit."""

    def __init__(self, db: sqlite_utils.Database, path: Path) -> None:
        self.db = db
        self.path = path
        self.reserve_kept = False  # is the disk reserve beside the store in place?

    @property
    def conn(self) -> sqlite3.Connection:
        return self.db.conn

    def before_commit(self) -> None:
        """Write what the open transaction kept back for its end (Store: search rows)."""

    def after_rollback(self) -> None:
        """Forget what the rolled-back transaction kept back."""

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; BEGIN IMMEDIATE so concurrent writers queue, not deadlock."""
        conn = self.conn
        for attempt in range(LOCK_RETRIES):
            try:
                conn.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == LOCK_RETRIES - 1:
                    raise self.error(exc) from exc
                time.sleep(0.2 * (attempt + 1))
        try:
            yield conn
            self.before_commit()
        except sqlite3.OperationalError as exc:
            self._rollback()
            raise self.error(exc) from exc
        except BaseException:
            self._rollback()
            raise
        else:
            try:
                conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                self._rollback()
                raise self.error(exc) from exc

    def error(self, exc: sqlite3.Error) -> StoreError:
        """The clear error for a failure of this store's file."""
        from monitor.store.connection import store_error

        return store_error(self.path, exc)

    def _rollback(self) -> None:
        """Roll back the open transaction, if SQLite has not already: after a failed COMMIT
        (a full disk) it has, and ROLLBACK would raise an error that hides the real one."""
        self.after_rollback()
        if not self.conn.in_transaction:
            return
        with contextlib.suppress(
            sqlite3.Error
        ):  # the error being raised says what went wrong, not this one
            self.conn.execute("ROLLBACK")

    def close(self) -> None:
        self.db.close()

    def set_cache(self, megabytes: int) -> None:
        """SQLite's page cache for this connection, at most `megabytes` (filled as used)."""
        self.conn.execute(f"PRAGMA cache_size = {-1024 * int(megabytes)}")

    def limit_time(self, seconds: float) -> None:
        """Interrupt any statement still running `seconds` from now (sqlite3.OperationalError
        "interrupted"): for reads a person started, such as a web page's search."""
        deadline = time.monotonic() + seconds
        self.conn.set_progress_handler(lambda: time.monotonic() > deadline, 50_000)


class QueryGroup:
    """The queries of one family of tables, held by the store as an attribute."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @property
    def conn(self) -> sqlite3.Connection:
        return self.store.conn
