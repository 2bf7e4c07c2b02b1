"""Filling the search index with versions stored before it existed (an old store upgraded)
or before `heishi search --reindex` emptied it: in small batches, each its own short
transaction, so neither opening the store nor a sweep waits for it.

`search_backfill` holds one row: the versions up to `upto` (the newest version id when the
backfill began) are to be indexed, and those up to `done_through` are. Versions written after
it began are indexed by the sweeps that write them (`SearchQueries.index_version`), so the
index is complete once `done_through` reaches `upto`; an interrupted backfill resumes from
`done_through`. No row, or a finished one, means the index is complete.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from monitor.store.base import QueryGroup
from monitor.store.clock import utc_now

BATCH = 2000  # versions read per transaction: a few hundred milliseconds of word cuts

_TABLE = (
    "CREATE TABLE IF NOT EXISTS search_backfill (id INTEGER PRIMARY KEY CHECK (id = 1), "
    "upto INTEGER NOT NULL, done_through INTEGER NOT NULL, indexed INTEGER NOT NULL, "
    "started_at TEXT NOT NULL, finished_at TEXT)"
)


def migrate_0022_search_backfill(store: Any) -> None:
    """`search_backfill`; a store upgraded before this one was indexed whole, so it has no row
    (migration 0006 of an older store makes the table and its row itself)."""
    store.conn.execute(_TABLE)


@dataclass(frozen=True)
class BackfillState:
    """How far the search index's backfill has come."""

    upto: int
    done_through: int
    indexed: int
    started_at: str
    finished_at: str | None

    @property
    def complete(self) -> bool:
        return self.finished_at is not None

    def as_json(self) -> dict[str, Any]:
        return {
            "complete": self.complete,
            "versions_up_to": self.upto,
            "done_through": self.done_through,
            "indexed": self.indexed,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }


class SearchBackfillQueries(QueryGroup):
    """store.search_backfill: start, state, and the next batch of the backfill."""

    def start(self) -> BackfillState:
        """Index every stored version from the first (inside the caller's transaction): the
        versions stored so far are to be backfilled, later ones are indexed as written."""
        self.conn.execute(_TABLE)
        upto = self.conn.execute("SELECT coalesce(max(id), 0) FROM listing_versions").fetchone()[0]
        now = utc_now()
        self.conn.execute(
            "INSERT OR REPLACE INTO search_backfill (id, upto, done_through, indexed, started_at, "
            "finished_at) VALUES (1, ?, 0, 0, ?, ?)",
            (upto, now, now if upto == 0 else None),
        )
        state = self.state()
        assert state is not None
        return state

    def restart(self) -> BackfillState:
        """Empty the index and backfill it anew from the first version (`--reindex`), in one
        short transaction: what sweeps write meanwhile is indexed as they write it."""
        from monitor.store.search import _create_table

        with self.store.transaction():
            self.conn.execute("DROP TABLE IF EXISTS listing_search")
            _create_table(self.store)
            return self.start()

    def state(self) -> BackfillState | None:
        """The backfill's progress; None when there never was one (the index is complete)."""
        try:
            row = self.conn.execute(
                "SELECT upto, done_through, indexed, started_at, finished_at "
                "FROM search_backfill WHERE id = 1"
            ).fetchone()
        except sqlite3.OperationalError as exc:  # a store older than the table, read-only
            if "no such table" in str(exc):
                return None
            raise
        return BackfillState(*row) if row else None

    def finish(self) -> None:
        """The whole index was just built some other way (`rebuild_search_index`)."""
        self.conn.execute(_TABLE)
        self.conn.execute("DELETE FROM search_backfill")

    def index_next(self, limit: int = BATCH) -> BackfillState | None:
        """Index the next `limit` versions of the backfill in one transaction; returns the
        new state (None when there is nothing to backfill). Versions whose title and text
        are their previous version's add no row, as when a sweep writes them."""
        store = self.store
        with store.transaction():
            state = self.state()
            if state is None or state.complete:
                return state
            found = self.conn.execute(
                "SELECT v.id, l.source, v.title, v.text, l.categories, "
                "p.id IS NOT NULL AND p.title IS v.title AND p.text IS v.text "
                "FROM listing_versions v JOIN listings l ON l.id = v.listing_id "
                "LEFT JOIN listing_versions p ON p.listing_id = v.listing_id "
                "AND p.version = v.version - 1 "
                "WHERE v.id > ? AND v.id <= ? ORDER BY v.id LIMIT ?",
                (state.done_through, state.upto, limit),
            ).fetchall()
            rows = [tuple(row[:5]) for row in found if not row[5]]
            if rows:
                store.search._insert_rows(rows)
            done_through = found[-1][0] if found else state.upto
            finished = done_through >= state.upto or len(found) < limit
            self.conn.execute(
                "UPDATE search_backfill SET done_through = ?, indexed = indexed + ?, "
                "finished_at = ? WHERE id = 1",
                (
                    state.upto if finished else done_through,
                    len(rows),
                    utc_now() if finished else None,
                ),
            )
            if finished:
                store.search.record_segmentation()
        return self.state()

    def pending_versions(self) -> int:
        """Stored versions the backfill has still to read (an estimate from their ids)."""
        state = self.state()
        if state is None or state.complete:
            return 0
        return int(
            self.conn.execute(
                "SELECT count(*) FROM listing_versions WHERE id > ? AND id <= ?",
                (state.done_through, state.upto),
            ).fetchone()[0]
        )
