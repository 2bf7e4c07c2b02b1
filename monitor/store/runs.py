"""Sources and runs: one `runs` row per sweep of a source, and each source's health.

One live run per source (the run lease): a run is `running` only while the process that
opened it (pid, its start time and host in the row) is alive; `start_run` refuses a second
one while it is, and takes over only from an owner that is gone. A partial unique index
makes two running runs of one source impossible. Each batch a run writes first checks that
the run is still running (and moves its heartbeat), so a crawl whose run was closed under it
writes nothing more, and removals are judged only against the run's own sightings.
"""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.errors import RunLeaseLost, SourceBusyError
from monitor.store import rows
from monitor.store.base import QueryGroup
from monitor.store.clock import utc_now

if TYPE_CHECKING:
    from monitor.store.connection import Store

# A run owned by another host (a store on a shared disk) is taken for dead when its heartbeat
# (moved at each batch it writes) is older than this.
FOREIGN_RUN_STALE_SECONDS = 900


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


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first), or None."""
    try:
        with Path(f"/proc/{pid}/stat").open(encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_started(pid: int) -> str | None:
    """When process `pid` started (clock ticks since boot, from /proc), or None where /proc
    cannot tell: with the pid it names one process, so a reused pid is not taken for it."""
    fields = _proc_stat(pid)
    return fields[19] if fields and len(fields) > 19 else None


def this_process() -> dict[str, Any]:
    """The owner fields of a run opened (or taken over) by this process."""
    pid = os.getpid()
    return {"pid": pid, "pid_started": process_started(pid), "host": socket.gethostname()}


def owner_alive(run: dict[str, Any]) -> bool:
    """Is the process that owns this running run still there? On this host: its pid exists
    and, where known, started when the run's owner did; on another host: its heartbeat."""
    host = run.get("host")
    if host and host != socket.gethostname():
        beat = run.get("heartbeat_at") or run.get("started_at")
        if not beat:
            return False
        moment = datetime.fromisoformat(beat.replace("Z", "+00:00"))
        return (datetime.now(UTC) - moment).total_seconds() < FOREIGN_RUN_STALE_SECONDS
    pid = run.get("pid")
    if pid is None or not _pid_alive(pid):
        return False
    fields = _proc_stat(int(pid))
    if fields and fields[0] == "Z":  # exited, not yet reaped by its parent
        return False
    recorded = run.get("pid_started")
    current = fields[19] if fields and len(fields) > 19 else None
    return recorded is None or current is None or current == recorded


def migrate_0014_run_leases(store: Store) -> None:
    """Who owns a running run (host, the process's start time) and its heartbeat; at most one
    running run per source. A store with two running runs of a source keeps the newest."""
    conn = store.conn
    for column in ("host", "pid_started", "heartbeat_at"):
        conn.execute(f"ALTER TABLE runs ADD COLUMN {column} TEXT")
    conn.execute(
        "UPDATE runs SET status = 'crashed', finished_at = COALESCE(finished_at, started_at), "
        "error = 'another run of this source was running (closed by migration 0014)' "
        "WHERE status = 'running' AND id < (SELECT max(id) FROM runs AS newer "
        "WHERE newer.source = runs.source AND newer.status = 'running')"
    )
    conn.execute(
        "CREATE UNIQUE INDEX runs_one_running_per_source ON runs (source) WHERE status = 'running'"
    )


def migrate_0015_list_coverage(store: Store) -> None:
    """How much of its source's list each run read (monitor.alerting.changes.ListCoverage)."""
    for column in ("list_pages", "empty_list_pages"):
        store.conn.execute(f"ALTER TABLE runs ADD COLUMN {column} INTEGER")


class RunQueries(QueryGroup):
    """`store.runs`: the queries for `sources` and `runs`."""

    def ensure_source(self, name: str, kind: str, url: str | None) -> None:
        self.conn.execute(
            "INSERT INTO sources (name, kind, url, first_seen) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, url = excluded.url",
            (name, kind, url, utc_now()),
        )

    def start(self, source: str, kind: str, url: str | None) -> int:
        """Open a run (status running) owned by this process. Raises SourceBusyError while
        another live process has a run of `source` open; runs left running by processes that
        are gone are marked crashed first, so they never count as complete sweeps."""
        with self.store.transaction() as conn:
            self.ensure_source(source, kind, url)
            holder = self.live(source)
            if holder is not None:
                raise SourceBusyError(source, holder)
            owner = this_process()
            now = utc_now()
            cursor = conn.execute(
                "INSERT INTO runs (source, started_at, status, pid, pid_started, host, "
                "heartbeat_at) VALUES (?, ?, 'running', ?, ?, ?, ?)",
                (source, now, owner["pid"], owner["pid_started"], owner["host"], now),
            )
            return rows.inserted_id(cursor)

    def live(self, source: str) -> dict[str, Any] | None:
        """The running run of `source` whose owner is alive, if any; running runs of owners
        that are gone are marked crashed on the way (call inside a transaction)."""
        self.mark_crashed(source)
        return rows.one(
            self.conn,
            "SELECT * FROM runs WHERE source = ? AND status = 'running' ORDER BY id DESC LIMIT 1",
            (source,),
        )

    def running(self, source: str) -> dict[str, Any] | None:
        """The running run of `source` whose owner is alive, read only (a pre-check: the
        lease itself is taken by start_run)."""
        found = rows.many(
            self.conn, "SELECT * FROM runs WHERE source = ? AND status = 'running'", (source,)
        )
        return next((run for run in found if owner_alive(run)), None)

    def mark_crashed(self, source: str) -> int:
        """Runs of `source` left running by a process that is gone become crashed."""
        stale = rows.many(
            self.conn, "SELECT * FROM runs WHERE source = ? AND status = 'running'", (source,)
        )
        crashed = 0
        for run in stale:
            if not owner_alive(run):
                self.conn.execute(
                    "UPDATE runs SET status = 'crashed', finished_at = ?, "
                    "error = 'the crawl process ended without closing its run' WHERE id = ?",
                    (utc_now(), run["id"]),
                )
                crashed += 1
        return crashed

    def crash(self, run_id: int) -> bool:
        """Run `run_id`, if still running, becomes crashed: its crawl ended without closing
        it while the process that owns it (a warm crawl worker) lives on."""
        cursor = self.conn.execute(
            "UPDATE runs SET status = 'crashed', finished_at = ?, "
            "error = 'the crawl ended without closing its run' "
            "WHERE id = ? AND status = 'running'",
            (utc_now(), run_id),
        )
        return cursor.rowcount > 0

    def hold(
        self, run_id: int, progress: dict[str, Any] | None = None, now: str | None = None
    ) -> None:
        """Check, inside the caller's transaction, that `run_id` is still running (this
        process's to write), moving its heartbeat and recording `progress` (items and
        counts so far, so a resumed run continues from them). Raises RunLeaseLost when the
        run was closed meanwhile: the transaction is then rolled back, nothing written."""
        values = {**(progress or {}), "heartbeat_at": now or utc_now()}
        columns = ", ".join(f"{name} = ?" for name in values)
        cursor = self.conn.execute(
            f"UPDATE runs SET {columns} WHERE id = ? AND status = 'running'",
            (*values.values(), run_id),
        )
        if cursor.rowcount == 0:
            run = self.get(run_id)
            state = run["status"] if run else "gone"
            raise RunLeaseLost(
                f"run {run_id} is no longer running ({state}): another process closed it, "
                "so this crawl writes nothing more"
            )

    def take_over(self, run_id: int) -> dict[str, Any] | None:
        """Make this process the owner of running run `run_id` when its owner is gone (or is
        this process): a restarted writer resuming its sweep. Returns the run, or None when
        it is not running or its owner is alive."""
        with self.store.transaction() as conn:
            run = self.get(run_id)
            if run is None or run["status"] != "running":
                return None
            owner = this_process()
            mine = run["pid"] == owner["pid"] and run.get("host") in (None, owner["host"])
            if not mine and owner_alive(run):
                return None
            conn.execute(
                "UPDATE runs SET pid = ?, pid_started = ?, host = ?, heartbeat_at = ? WHERE id = ?",
                (owner["pid"], owner["pid_started"], owner["host"], utc_now(), run_id),
            )
            return self.get(run_id)

    def finish(
        self, run_id: int, status: str, fields: dict[str, Any], health: str | None = None
    ) -> None:
        """Close a run with its status and figures, and update its source's health (`health`
        names its cause: monitor.running.source_health). Runs inside the caller's transaction,
        together with the removals it allows; raises RunLeaseLost (rolling all of it back)
        when the run is no longer running."""
        now = utc_now()
        values = {**fields, "status": status, "finished_at": now}
        if isinstance(values.get("stats"), dict):
            values["stats"] = json.dumps(values["stats"], default=str, ensure_ascii=False)
        columns = ", ".join(f"{name} = ?" for name in values)
        closed = self.conn.execute(
            f"UPDATE runs SET {columns} WHERE id = ? AND status = 'running'",
            (*values.values(), run_id),
        )
        if closed.rowcount == 0:
            self.hold(run_id)  # raises RunLeaseLost, naming what the run became
        self.count(run_id, status, now, health)

    def record_closed(
        self, source: str, kind: str, url: str | None, status: str, fields: dict[str, Any]
    ) -> int:
        """A run that is closed as it is written: a crawl that died before it could record
        its own (the runner records it). Takes no lease, so it is recorded even while another
        crawl of the source runs. Inside the caller's transaction; `count_run` then counts it
        in the source's health."""
        self.ensure_source(source, kind, url)
        now = utc_now()
        values = {"source": source, "started_at": now, **fields, "status": status}
        values["finished_at"] = now
        names = ", ".join(values)
        cursor = self.conn.execute(
            f"INSERT INTO runs ({names}) VALUES ({', '.join('?' * len(values))})",
            tuple(values.values()),
        )
        return rows.inserted_id(cursor)

    def set_outcome(self, run_id: int, status: str, error: str | None) -> None:
        """Correct how a closed run ended (the runner knows what the crawl could not: that
        it was killed at a timeout, or by a stopping monitor)."""
        self.conn.execute(
            "UPDATE runs SET status = ?, error = ?, finished_at = COALESCE(finished_at, ?) "
            "WHERE id = ?",
            (status, error, utc_now(), run_id),
        )

    def count(self, run_id: int, status: str, now: str, health: str | None = None) -> None:
        """A closed run in its source's health: a complete run resets the failures, a failed
        one adds one, an interrupted one changes neither."""
        source = self.conn.execute("SELECT source FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
        if status == "interrupted":  # stopped: neither a success nor a failure of the source
            self.conn.execute(
                "UPDATE sources SET last_run_id = ?, last_status = ? WHERE name = ?",
                (run_id, status, source),
            )
        elif status in ("ok", "partial"):
            self.conn.execute(
                "UPDATE sources SET last_run_id = ?, last_status = ?, last_ok_at = ?, "
                "consecutive_failures = 0, health = ? WHERE name = ?",
                (run_id, status, now, health or ("ok" if status == "ok" else "degraded"), source),
            )
        else:
            self.conn.execute(
                "UPDATE sources SET last_run_id = ?, last_status = ?, "
                "consecutive_failures = consecutive_failures + 1, health = ? "
                "WHERE name = ?",
                (run_id, status, health or "failing", source),
            )

    def get(self, run_id: int) -> dict[str, Any] | None:
        return rows.one(self.conn, "SELECT * FROM runs WHERE id = ?", (run_id,))

    def last_good(self, source: str, before_run: int) -> dict[str, Any] | None:
        """The latest run of `source` before `before_run` that completed (ok)."""
        return rows.one(
            self.conn,
            "SELECT * FROM runs WHERE source = ? AND id < ? AND status = 'ok' "
            "ORDER BY id DESC LIMIT 1",
            (source, before_run),
        )

    def latest(self, since_id: int = 0) -> list[dict[str, Any]]:
        return rows.many(self.conn, "SELECT * FROM runs WHERE id > ? ORDER BY id", (since_id,))

    def max_id(self) -> int:
        return rows.count(self.conn, "SELECT COALESCE(MAX(id), 0) FROM runs")

    def sources(self) -> list[dict[str, Any]]:
        return rows.many(self.conn, "SELECT * FROM sources ORDER BY name")
