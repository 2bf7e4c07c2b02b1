"""Keeping the store's file in shape: VACUUM (space left by migrations and deletions given
back to the disk), ANALYZE and PRAGMA optimize (fresh statistics for the query planner),
merging the search index's segments and folding the recent near-duplicate bands into
their index (monitor/store/clusters.py).

VACUUM rewrites the whole file and holds the write lock while it does, so a sweep that
writes meanwhile waits and then fails for a lock; `busy_reason` says what would be in its way
(a sweep's run open, the monitor running, another writer in a transaction) so the command
refuses instead.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from monitor.store import rows
from monitor.store.base import QueryGroup


@dataclass(frozen=True)
class StoreSize:
    """How big the store is on disk, and how much of it is free pages."""

    file_bytes: int
    wal_bytes: int
    page_size: int
    pages: int
    free_pages: int

    @property
    def free_bytes(self) -> int:
        return self.free_pages * self.page_size

    def as_json(self) -> dict[str, int]:
        return {**asdict(self), "free_bytes": self.free_bytes}


# The steps of each command, in order: (name, what it does).
VACUUM_STEPS = (
    ("checkpoint", "write the WAL into the file"),
    ("vacuum", "rewrite the file without its free pages"),
    ("checkpoint", "write the rewritten pages into the file"),
)
OPTIMIZE_STEPS = (
    ("search", "merge the search index's segments"),
    ("bands", "fold the recent near-duplicate bands into their index"),
    ("analyze", "ANALYZE: statistics of every index for the query planner"),
    ("optimize", "PRAGMA optimize"),
    ("checkpoint", "write the WAL into the file"),
)


class MaintenanceQueries(QueryGroup):
    """store.maintenance: sizes, VACUUM, ANALYZE and PRAGMA optimize."""

    def size(self) -> StoreSize:
        """The store's file, its WAL, and its pages (free ones too)."""
        path = self.store.path
        wal = path.with_name(path.name + "-wal")
        return StoreSize(
            file_bytes=path.stat().st_size,
            wal_bytes=wal.stat().st_size if wal.exists() else 0,
            page_size=self.conn.execute("PRAGMA page_size").fetchone()[0],
            pages=self.conn.execute("PRAGMA page_count").fetchone()[0],
            free_pages=self.conn.execute("PRAGMA freelist_count").fetchone()[0],
        )

    def busy_reason(self) -> str | None:
        """Why the store cannot be rewritten now (a sweep's run is open, the monitor runs,
        another process is writing), or None when nothing is in the way."""
        from monitor.store.operations import daemon_alive
        from monitor.store.runs import owner_alive

        running = rows.many(self.conn, "SELECT * FROM runs WHERE status = 'running'")
        live = [run for run in running if owner_alive(run)]
        if live:
            run = live[0]
            more = f" and {len(live) - 1} more" if len(live) > 1 else ""
            return (
                f"a sweep of {run['source']} is running (run {run['id']}, pid {run['pid']}, "
                f"since {run['started_at']}){more}"
            )
        daemon = rows.one(self.conn, "SELECT * FROM daemon ORDER BY id DESC LIMIT 1")
        if daemon is not None and daemon["status"] == "running" and daemon_alive(daemon):
            return f"the monitor (heishi run, pid {daemon['pid']}) is running and starts sweeps"
        # Another writer inside a transaction right now (a writer, a retro-hunt, a migration).
        self.conn.execute("PRAGMA busy_timeout = 0")
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            return "another process holds the store's write lock"
        finally:
            from monitor.store.connection import busy_timeout_ms

            self.conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms()}")
        return None

    def vacuum(self, on_step: Callable[[str], None] = lambda step: None) -> None:
        """Rewrite the file without its free pages (VACUUM), WAL written in before and after."""
        on_step("checkpoint")
        self.checkpoint()
        on_step("vacuum")
        self.conn.execute("VACUUM")
        on_step("checkpoint")
        self.checkpoint()

    def optimize(self, on_step: Callable[[str], None] = lambda step: None) -> dict[str, Any]:
        """Merge the search index into one segment, fold the recent near-duplicate bands (and
        make their filter if the store has none), ANALYZE, PRAGMA optimize, checkpoint; returns the indexes ANALYZE gave statistics
        for and the band rows folded."""
        on_step("search")
        has_search = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'listing_search'"
        ).fetchone()
        if has_search:
            with self.store.transaction():
                self.conn.execute("INSERT INTO listing_search (listing_search) VALUES ('optimize')")
        on_step("bands")
        folded = self.store.clusters.fold_recent_bands()
        if self.store.clusters.band_filter() is None:  # bands from before the filter
            with self.store.transaction():
                self.store.clusters.rebuild_band_filter()
        on_step("analyze")
        self.conn.execute("ANALYZE")
        on_step("optimize")
        self.conn.execute("PRAGMA optimize")
        on_step("checkpoint")
        self.checkpoint()
        analyzed = self.conn.execute("SELECT count(DISTINCT idx) FROM sqlite_stat1").fetchone()[0]
        return {
            "indexes_analyzed": analyzed,
            "search_index_merged": bool(has_search),
            "bands_folded": folded,
        }

    def checkpoint(self) -> None:
        """Write the WAL into the file and empty it (TRUNCATE)."""
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
