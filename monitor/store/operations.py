"""Running unattended: each source's schedule state, the daemon's heartbeat, and what
`heishi status` reads (sources with their last and current run, the outbox, the daemon)."""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from monitor.store import rows
from monitor.store.base import QueryGroup
from monitor.store.clock import utc_now
from monitor.store.runs import _pid_alive

if TYPE_CHECKING:
    from monitor.store.connection import Store

# A daemon whose heartbeat is older than this many heartbeat periods is taken for dead.
STALE_HEARTBEATS = 3


def migrate_0003_schedule(store: Store) -> None:
    """The daemon's settings (heartbeat period, parallelism, log file) as JSON, for status."""
    store.db.table("daemon").add_column("settings", str)


class OperationsQueries(QueryGroup):
    """`store.operations`: the queries for scheduling state (`sources`), `daemon`, and status reports."""

    # -- schedule state --------------------------------------------------------------------

    def schedule_source(
        self,
        name: str,
        kind: str,
        url: str | None,
        schedule: str,
        next_run_at: str | None,
    ) -> None:
        """Record a source's schedule and its next run (a source never swept gets its row)."""
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO sources (name, kind, url, schedule, next_run_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
                "schedule = excluded.schedule, next_run_at = excluded.next_run_at",
                (name, kind, url, schedule, next_run_at),
            )

    def source_started(self, name: str, kind: str, url: str | None, at: str) -> None:
        """A crawl of `name` starts now; a source swept for the first time is first seen now."""
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO sources (name, kind, url, first_seen, last_started_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
                "last_started_at = excluded.last_started_at, "
                "first_seen = COALESCE(sources.first_seen, excluded.first_seen)",
                (name, kind, url, at, at),
            )

    def set_next_run(self, name: str, next_run_at: str | None) -> None:
        with self.store.transaction() as conn:
            conn.execute("UPDATE sources SET next_run_at = ? WHERE name = ?", (next_run_at, name))

    def next_runs(self) -> dict[str, str | None]:
        """Each source's stored next run, by name."""
        return dict(self.conn.execute("SELECT name, next_run_at FROM sources").fetchall())

    def consecutive_failures(self, name: str) -> int:
        """Failed runs of `name` in a row, as of its latest finished run."""
        row = self.conn.execute(
            "SELECT consecutive_failures FROM sources WHERE name = ?", (name,)
        ).fetchone()
        return int(row[0] or 0) if row else 0

    def close_abandoned_runs(self) -> int:
        """Runs left `running` by processes that are gone (a monitor killed with its crawls)
        become crashed, so status never shows a dead crawl as running."""
        sources = [
            r[0]
            for r in self.conn.execute("SELECT DISTINCT source FROM runs WHERE status = 'running'")
        ]
        closed = 0
        with self.store.transaction():
            for source in sources:
                closed += self.store.runs.mark_crashed(source)
        return closed

    # -- the daemon ------------------------------------------------------------------------

    def claim_daemon(self, settings: dict[str, Any]) -> dict[str, Any]:
        """Register this process as the store's monitor; returns its `daemon` row. If another
        live monitor holds the store, returns that one's row instead (with `live` true) and
        registers nothing: one monitor per store, checked and claimed in one transaction."""
        now = utc_now()
        host = socket.gethostname()
        with self.store.transaction() as conn:
            current = rows.one(
                conn, "SELECT * FROM daemon WHERE status = 'running' ORDER BY id DESC LIMIT 1"
            )
            if current and daemon_alive(current, host=host):
                return {**current, "live": True}
            conn.execute(
                "UPDATE daemon SET status = 'crashed' WHERE status = 'running'",
            )
            cursor = conn.execute(
                "INSERT INTO daemon (pid, host, started_at, heartbeat_at, status, settings) "
                "VALUES (?, ?, ?, ?, 'running', ?)",
                (os.getpid(), host, now, now, json.dumps(settings, default=str)),
            )
            row = rows.one(conn, "SELECT * FROM daemon WHERE id = ?", (cursor.lastrowid,))
        assert row is not None
        return {**row, "live": False}

    def daemon_heartbeat(self, daemon_id: int) -> None:
        with self.store.transaction() as conn:
            conn.execute("UPDATE daemon SET heartbeat_at = ? WHERE id = ?", (utc_now(), daemon_id))

    def daemon_stopped(self, daemon_id: int, status: str = "stopped") -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE daemon SET heartbeat_at = ?, status = ? WHERE id = ?",
                (utc_now(), status, daemon_id),
            )

    def latest_daemon(self) -> dict[str, Any] | None:
        """The latest monitor to run on this store, with `live` (is it still running?)."""
        row = rows.one(self.conn, "SELECT * FROM daemon ORDER BY id DESC LIMIT 1")
        if row is None:
            return None
        return {**row, "live": row["status"] == "running" and daemon_alive(row)}

    # -- status ----------------------------------------------------------------------------

    def source_status(self) -> list[dict[str, Any]]:
        """Every source with its schedule state, its latest finished run and any run now
        in progress (`running_since`)."""
        return rows.many(
            self.conn,
            "SELECT s.name, s.kind, s.url, s.schedule, s.health, s.consecutive_failures, "
            "s.last_started_at, s.last_ok_at, s.next_run_at, "
            "r.id AS last_run_id, r.status AS last_status, r.started_at AS last_run_started, "
            "r.finished_at AS last_run_finished, r.duration AS last_duration, "
            "r.items AS last_items, r.new AS last_new, r.changed AS last_changed, "
            "r.removed AS last_removed, r.error AS last_error, "
            "(SELECT MIN(started_at) FROM runs WHERE source = s.name AND status = 'running') "
            "AS running_since "
            "FROM sources s LEFT JOIN runs r ON r.id = ("
            "  SELECT MAX(id) FROM runs WHERE source = s.name AND status != 'running') "
            "ORDER BY s.name",
        )


def daemon_alive(row: dict[str, Any], *, host: str | None = None) -> bool:
    """Is the monitor of this `daemon` row running? On this host: its process exists and its
    heartbeat is fresh (a reused pid after a reboot has a stale one); elsewhere: the heartbeat."""
    host = host or socket.gethostname()
    settings = json.loads(row.get("settings") or "{}")
    period = float(settings.get("heartbeat") or 30)
    fresh = False
    if row.get("heartbeat_at"):
        beat = datetime.fromisoformat(row["heartbeat_at"].replace("Z", "+00:00"))
        fresh = (datetime.now(UTC) - beat).total_seconds() < STALE_HEARTBEATS * period + 5
    if row.get("host") == host:
        return _pid_alive(row.get("pid")) and fresh
    return fresh
