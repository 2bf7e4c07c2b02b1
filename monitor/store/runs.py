"""Sources and runs: one `runs` row per sweep of a source, and each source's health."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from monitor.store import rows
from monitor.store.clock import utc_now

if TYPE_CHECKING:
    from monitor.store.connection import Store


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunQueries:
    """Methods of Store for `sources` and `runs`."""

    def ensure_source(self: Store, name: str, kind: str, url: str | None) -> None:
        self.conn.execute(
            "INSERT INTO sources (name, kind, url, first_seen) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, url = excluded.url",
            (name, kind, url, utc_now()),
        )

    def start_run(self: Store, source: str, kind: str, url: str | None) -> int:
        """Open a run (status running); runs of this source left running by a dead process
        are marked crashed first, so they never count as complete sweeps."""
        with self.transaction() as conn:
            self.ensure_source(source, kind, url)
            self.mark_crashed_runs(source)
            cursor = conn.execute(
                "INSERT INTO runs (source, started_at, status, pid) VALUES (?, ?, 'running', ?)",
                (source, utc_now(), os.getpid()),
            )
            return int(cursor.lastrowid)

    def mark_crashed_runs(self: Store, source: str) -> int:
        """Runs of `source` left running by a process that is gone become crashed."""
        stale = self.conn.execute(
            "SELECT id, pid FROM runs WHERE source = ? AND status = 'running'", (source,)
        ).fetchall()
        crashed = 0
        for run_id, pid in stale:
            if pid != os.getpid() and not _pid_alive(pid):
                self.conn.execute(
                    "UPDATE runs SET status = 'crashed', finished_at = ?, "
                    "error = 'the crawl process ended without closing its run' WHERE id = ?",
                    (utc_now(), run_id),
                )
                crashed += 1
        return crashed

    def finish_run(
        self: Store, run_id: int, status: str, fields: dict[str, Any], health: str | None = None
    ) -> None:
        """Close a run with its status and figures, and update its source's health (`health`
        names its cause: monitor.source_health). Runs inside the caller's transaction,
        together with the removals it allows."""
        now = utc_now()
        values = {**fields, "status": status, "finished_at": now}
        if isinstance(values.get("stats"), dict):
            values["stats"] = json.dumps(values["stats"], default=str, ensure_ascii=False)
        columns = ", ".join(f"{name} = ?" for name in values)
        conn = self.conn
        conn.execute(f"UPDATE runs SET {columns} WHERE id = ?", (*values.values(), run_id))
        source = conn.execute("SELECT source FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
        if status in ("ok", "partial"):
            conn.execute(
                "UPDATE sources SET last_run_id = ?, last_status = ?, last_ok_at = ?, "
                "consecutive_failures = 0, health = ? WHERE name = ?",
                (run_id, status, now, health or ("ok" if status == "ok" else "degraded"), source),
            )
        else:
            conn.execute(
                "UPDATE sources SET last_run_id = ?, last_status = ?, "
                "consecutive_failures = consecutive_failures + 1, health = ? "
                "WHERE name = ?",
                (run_id, status, health or "failing", source),
            )

    def run(self: Store, run_id: int) -> dict[str, Any] | None:
        return rows.one(self.conn, "SELECT * FROM runs WHERE id = ?", (run_id,))

    def last_good_run(self: Store, source: str, before_run: int) -> dict[str, Any] | None:
        """The latest run of `source` before `before_run` that completed (ok)."""
        return rows.one(
            self.conn,
            "SELECT * FROM runs WHERE source = ? AND id < ? AND status = 'ok' "
            "ORDER BY id DESC LIMIT 1",
            (source, before_run),
        )

    def latest_runs(self: Store, since_id: int = 0) -> list[dict[str, Any]]:
        return rows.many(self.conn, "SELECT * FROM runs WHERE id > ? ORDER BY id", (since_id,))

    def max_run_id(self: Store) -> int:
        return self.conn.execute("SELECT COALESCE(MAX(id), 0) FROM runs").fetchone()[0]

    def sources(self: Store) -> list[dict[str, Any]]:
        return rows.many(self.conn, "SELECT * FROM sources ORDER BY name")
