"""Opening the store: WAL, foreign keys, busy timeout, migrations, clear errors."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import sqlite_utils

from monitor import settings
from monitor.errors import StoreError, StoreFullError
from monitor.privacy.file_modes import create_private_file, no_world_access, private_folder
from monitor.store import (
    actor_reads,
    actors,
    alerts,
    analyst,
    api_tokens,
    clusters,
    desk,
    forwards,
    listing_ids,
    listings,
    maintenance,
    observations,
    operations,
    outbox,
    pii_keys,
    retrohunt,
    review,
    runs,
    search,
    search_backfill,
    stats,
    web_auth,
)
from monitor.store.base import StoreConnection
from monitor.store.clock import utc_now  # noqa: F401  (re-exported)
from monitor.store.schema import migrate


def busy_timeout_ms() -> int:
    """How long a write waits for another writer: $HEISHI_DB_TIMEOUT seconds, default 30."""
    return int(settings.current().db_timeout * 1000)


class Store(StoreConnection):
    """A heishi store: one SQLite file, its queries grouped by family of tables as attributes
    (`store.alerts.set_status(...)`, `store.runs.start(...)`)."""

    def __init__(self, db: sqlite_utils.Database, path: Path) -> None:
        super().__init__(db, path)
        # Crawling: sources and runs, listings and their versions, the search index.
        self.runs = runs.RunQueries(self)
        self.operations = operations.OperationsQueries(self)
        self.listings = listings.ListingQueries(self)
        self.listing_ids = listing_ids.ListingIdQueries(self)
        self.observations = observations.ObservationQueries(self)
        self.forwards = forwards.ForwardQueries(self)
        self.pii_keys = pii_keys.PiiKeyQueries(self)
        self.search = search.SearchQueries(self)
        self.clusters = clusters.ClusterQueries(self)
        self.actors = actors.ActorQueries(self)
        self.actor_reads = actor_reads.ActorReadQueries(self)
        # Alerts and the people who review them.
        self.alerts = alerts.AlertQueries(self)
        self.review = review.ReviewQueries(self)
        self.desk = desk.DeskQueries(self)
        self.outbox = outbox.OutboxQueries(self)
        self.web_auth = web_auth.WebAuthQueries(self)
        self.api_tokens = api_tokens.ApiTokenQueries(self)
        # Analyst tools.
        self.analyst = analyst.AnalystQueries(self)
        self.retrohunt = retrohunt.RetrohuntQueries(self)
        self.stats = stats.StatsQueries(self)
        self.maintenance = maintenance.MaintenanceQueries(self)
        self.search_backfill = search_backfill.SearchBackfillQueries(self)

    def before_commit(self) -> None:
        self.search.write_pending()  # the versions' search rows, in this transaction
        self.listing_ids.write_pending()
        self.clusters.forget_bands()
        self.actors.forget_watching()

    def after_rollback(self) -> None:
        self.search.drop_pending()
        self.listing_ids.drop_pending()
        self.clusters.forget_bands()
        self.actors.forget_watching()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def store_error(path: Path, exc: sqlite3.Error) -> StoreError:
    text = str(exc)
    if "database or disk is full" in text or "disk is full" in text:
        return StoreFullError(
            f"disk full ({path}): {text}",
            hint="free space on that disk (nothing was half-written; the next sweep retries)",
        )
    if "readonly" in text or "read-only" in text:
        return StoreError(
            f"store {path} is read-only: {text}", hint="check the file's permissions or use --db"
        )
    if "not a database" in text or "malformed" in text:
        return StoreError(
            f"store {path} is not a usable SQLite store: {text}",
            hint="check --db and $HEISHI_DB; a damaged store: restore it from a backup",
        )
    if "unable to open" in text and not (
        os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
    ):
        return StoreError(
            f"store {path} is read-only here (the file or its folder cannot be written): {text}",
            hint="check the permissions, or use a command that only reads",
        )
    if "unable to open" in text:
        return StoreError(
            f"store {path} cannot be opened: {text}",
            hint="check --db, and that its folder exists and can be read (and written)",
        )
    if "locked" in text:
        return StoreError(
            f"store {path} is locked by another process: {text}",
            hint="wait for the other heishi process to finish, then retry",
        )
    return StoreError(f"store {path}: {text}")


# Beside the store, `<store>-reserve` holds this much disk: when the disk fills up, heishi
# deletes it to close the runs it was writing as failed (a run left `running` would look in
# progress), and makes it again once there is room.
RESERVE_BYTES = 1 << 20


def reserve_path(db: Path) -> Path:
    return db.with_name(db.name + "-reserve")


def keep_reserve(db: Path) -> bool:
    """Make sure the reserve beside the store exists; False when the disk has no room."""
    path = reserve_path(db)
    try:
        if path.stat().st_size >= RESERVE_BYTES:
            return True
    except FileNotFoundError:
        pass
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.posix_fallocate(fd, 0, RESERVE_BYTES)
        finally:
            os.close(fd)
    except OSError:
        path.unlink(missing_ok=True)
        return False
    return True


def has_room(db: Path) -> bool:
    """Is there room on the store's disk: its reserve in place and as much again free?"""
    import shutil

    try:
        return keep_reserve(db) and shutil.disk_usage(db.parent).free >= RESERVE_BYTES
    except OSError:
        return False


def release_reserve(db: Path) -> bool:
    """Free the reserve (the disk is full); True when there was one to free."""
    try:
        reserve_path(db).unlink()
    except FileNotFoundError:
        return False
    return True


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection. A store in a folder nobody may write (a read-only mount, a
    backup) cannot get the shared-memory file WAL reading needs: it is then read as
    immutable, which is safe there because nothing can change it."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError as exc:
        if "unable to open" not in str(exc) or os.access(path.parent, os.W_OK):
            raise
        conn.close()
        conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, isolation_level=None)
    return conn


def open_store(path: str | Path, *, readonly: bool = False) -> Store:
    """Open (creating and upgrading as needed) the store at `path`."""
    path = Path(path)
    try:
        if readonly:
            if not path.exists():
                raise StoreError(f"store {path} does not exist", hint="run a sweep first")
            conn = _connect_read_only(path)
        else:
            # The store holds password hashes: created 0600 (its WAL and shared-memory files
            # take the store's mode), an older world-readable one is closed to others.
            private_folder(path.parent)
            if not create_private_file(path):
                no_world_access(path, f"{path}-wal", f"{path}-shm")
            conn = sqlite3.connect(str(path), isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms()}")
        conn.execute("PRAGMA foreign_keys = ON")
        # Reads the header and the schema: a file that is not SQLite fails here, clearly.
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if readonly and not tables:
            raise StoreError(
                f"store {path} is not a heishi store (an empty SQLite file)",
                hint="check --db and $HEISHI_DB",
            )
        if not readonly:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA wal_autocheckpoint = 16384")  # 64 MB: fewer fsyncs mid-sweep
        db = sqlite_utils.Database(conn)
        store = Store(db, path)
        if not readonly:
            migrate(store)
            store.reserve_kept = keep_reserve(path)
        return store
    except sqlite3.DatabaseError as exc:
        raise store_error(path, exc) from exc
