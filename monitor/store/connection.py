"""Opening the store: WAL, foreign keys, busy timeout, migrations, clear errors."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from monitor.errors import StoreError
from monitor.file_modes import create_private_file, no_world_access, private_folder
from monitor.store import (
    alerts,
    clusters,
    listing_ids,
    listings,
    operations,
    outbox,
    review,
    runs,
)
from monitor.store.analyst import AnalystQueries
from monitor.store.clock import utc_now  # noqa: F401  (re-exported)
from monitor.store.forwards import ForwardQueries
from monitor.store.observations import ObservationQueries
from monitor.store.pii_keys import PiiKeyQueries
from monitor.store.retrohunt import RetrohuntQueries
from monitor.store.schema import migrate
from monitor.store.search import SearchQueries
from monitor.store.web_auth import WebAuthQueries

LOCK_RETRIES = 5


def busy_timeout_ms() -> int:
    """How long a write waits for another writer: $HEISHI_DB_TIMEOUT seconds, default 30."""
    return int(float(os.environ.get("HEISHI_DB_TIMEOUT") or 30) * 1000)


class Store(
    runs.RunQueries,
    listings.ListingQueries,
    listing_ids.ListingIdQueries,
    alerts.AlertQueries,
    outbox.OutboxQueries,
    review.ReviewQueries,
    operations.OperationsQueries,
    clusters.ClusterQueries,
    AnalystQueries,
    RetrohuntQueries,
    SearchQueries,
    PiiKeyQueries,
    WebAuthQueries,
    ObservationQueries,
    ForwardQueries,
):
    """A heishi store: one SQLite file. Methods come from the per-table mixins."""

    def __init__(self, db: sqlite_utils.Database, path: Path) -> None:
        self.db = db
        self.path = path
        # Search rows of the versions written in the open transaction (SearchQueries).
        self._search_pending: list[tuple] = []

    @property
    def conn(self) -> sqlite3.Connection:
        return self.db.conn

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
                    raise _store_error(self.path, exc) from exc
                time.sleep(0.2 * (attempt + 1))
        try:
            yield conn
            self.write_pending_search()  # the versions' search rows, in this transaction
        except sqlite3.OperationalError as exc:
            self._rollback()
            raise _store_error(self.path, exc) from exc
        except BaseException:
            self._rollback()
            raise
        else:
            try:
                conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                self._rollback()
                raise _store_error(self.path, exc) from exc

    def _rollback(self) -> None:
        self.drop_pending_search()
        self.conn.execute("ROLLBACK")

    def close(self) -> None:
        self.db.close()

    def limit_time(self, seconds: float) -> None:
        """Interrupt any statement still running `seconds` from now (sqlite3.OperationalError
        "interrupted"): for reads a person started, such as a web page's search."""
        deadline = time.monotonic() + seconds
        self.conn.set_progress_handler(lambda: time.monotonic() > deadline, 50_000)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _store_error(path: Path, exc: sqlite3.Error) -> StoreError:
    text = str(exc)
    if "readonly" in text or "read-only" in text:
        return StoreError(
            f"store {path} is read-only: {text}", hint="check the file's permissions or use --db"
        )
    if "locked" in text:
        return StoreError(
            f"store {path} is locked by another process: {text}",
            hint="wait for the other heishi process to finish, then retry",
        )
    return StoreError(f"store {path}: {text}")


def open_store(path: str | Path, *, readonly: bool = False) -> Store:
    """Open (creating and upgrading as needed) the store at `path`."""
    path = Path(path)
    try:
        if readonly:
            if not path.exists():
                raise StoreError(f"store {path} does not exist", hint="run a sweep first")
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
        else:
            # The store holds password hashes: created 0600 (its WAL and shared-memory files
            # take the store's mode), an older world-readable one is closed to others.
            private_folder(path.parent)
            if not create_private_file(path):
                no_world_access(path, f"{path}-wal", f"{path}-shm")
            conn = sqlite3.connect(str(path), isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms()}")
        conn.execute("PRAGMA foreign_keys = ON")
        if not readonly:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA wal_autocheckpoint = 16384")  # 64 MB: fewer fsyncs mid-sweep
        db = sqlite_utils.Database(conn)
        store = Store(db, path)
        if not readonly:
            migrate(store)
        return store
    except sqlite3.DatabaseError as exc:
        raise _store_error(path, exc) from exc
