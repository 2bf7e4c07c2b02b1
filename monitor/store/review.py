"""What reviewers need from the store: the alert queue (filters, sorting, paging), related
listings, triage written to the audit trail, and the web users.

Every triage action writes one `alert_events` row in the same transaction as the change it
records, so the trail never misses a change and never shows one that did not happen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from monitor.store import rows
from monitor.store.base import QueryGroup
from monitor.store.filters import Filters, alert_conditions
from monitor.store.ranks import severity_rank_sql

if TYPE_CHECKING:
    from monitor.store.connection import Store

USER_ROLES = ("viewer", "reviewer", "admin")
QUEUE_SORTS = {
    "created": "a.id",
    "updated": "a.updated_at",
    "severity": severity_rank_sql("a.severity"),
    "status": "a.status",
    "source": "a.source",
    "price": "l.price",
    "volume": "l.volume",
    "title": "a.title",
}
RELATED_LIMIT = 25


@dataclass
class QueueFilters(Filters):
    """What the reviewer asked the queue for: the alert filters and the queue's own; empty
    fields do not filter."""

    brand: str | None = None
    assignee: str | None = None
    until: str | None = None  # created_at < the day after `until`
    text: str | None = None  # words in the title or the listing's text (LIKE)
    # The same words as a full-text search (monitor.analysis.search.parse_query's FTS5 expression):
    # alerts whose listing has, or had, a version that matches; replaces `text` when set.
    match: str | None = None
    ids: list[int] = field(default_factory=list)


def _queue_where(filters: QueueFilters) -> tuple[str, list[Any]]:
    where, params = alert_conditions(filters)
    sql = " WHERE 1" + where
    if filters.assignee == "-":
        sql += " AND a.assignee IS NULL"
    elif filters.assignee:
        sql += " AND a.assignee = ?"
        params.append(filters.assignee)
    if filters.brand == "*":
        sql += " AND a.brands IS NOT NULL AND a.brands NOT IN ('', '[]')"
    elif filters.brand:
        sql += " AND EXISTS (SELECT 1 FROM json_each(a.brands) WHERE value = ?)"
        params.append(filters.brand)
    if filters.until:
        # A date means the whole day: everything before the next day starts.
        sql += " AND a.created_at < date(?, '+1 day')"
        params.append(filters.until[:10])
    if filters.match:
        sql += (
            " AND a.listing_id IN (SELECT v.listing_id FROM listing_search s "
            "JOIN listing_versions v ON v.id = s.rowid WHERE listing_search MATCH ?)"
        )
        params.append(filters.match)
    elif filters.text:
        like = "%" + filters.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like += "%"
        sql += " AND (a.title LIKE ? ESCAPE '\\' OR l.text LIKE ? ESCAPE '\\')"
        params += [like, like]
    if filters.ids:
        sql += f" AND a.id IN ({', '.join('?' * len(filters.ids))})"
        params += filters.ids
    return sql, params


class ReviewQueries(QueryGroup):
    """`store.review`: the queries for reviewing alerts and for the web users."""

    # --- the queue -----------------------------------------------------------------------

    def review_queue(
        self,
        filters: QueueFilters,
        *,
        sort: str = "created",
        descending: bool = True,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of alerts matching `filters`, and how many match in all."""
        where, params = _queue_where(filters)
        joined = " FROM alerts a LEFT JOIN listings l ON l.id = a.listing_id"
        total = self.conn.execute(f"SELECT COUNT(*){joined}{where}", params).fetchone()[0]
        order = QUEUE_SORTS.get(sort, QUEUE_SORTS["created"])
        direction = "DESC" if descending else "ASC"
        sql = (
            "SELECT a.id, a.kind, a.severity, a.status, a.assignee, a.source, a.listing_id, "
            "a.version_id, a.created_at, a.updated_at, a.title, a.summary, a.categories, "
            "a.brands, a.dismissed_twin_of, l.price_text, l.price, l.currency, l.volume, "
            "l.volume_text, l.seller, "
            f"l.status AS listing_status, l.url{joined}{where} "
            f"ORDER BY {order} IS NULL, {order} {direction}, a.id {direction} "
            "LIMIT ? OFFSET ?"
        )
        found = rows.many(self.conn, sql, (*params, int(limit), int(offset)))
        return found, total

    def queue_choices(self) -> dict[str, list[str]]:
        """The values the queue's filters can take in this store."""
        conn = self.conn

        def column(sql: str) -> list[str]:
            return [r[0] for r in conn.execute(sql) if r[0]]

        return {
            "sources": column("SELECT DISTINCT source FROM alerts ORDER BY 1"),
            "categories": column(
                "SELECT DISTINCT c.value FROM alerts, json_each(alerts.categories) c ORDER BY 1"
            ),
            "brands": column(
                "SELECT DISTINCT b.value FROM alerts, json_each(alerts.brands) b "
                "WHERE alerts.brands IS NOT NULL AND json_valid(alerts.brands) ORDER BY 1"
            ),
            "assignees": column("SELECT DISTINCT assignee FROM alerts ORDER BY 1"),
            "kinds": column("SELECT DISTINCT kind FROM alerts ORDER BY 1"),
        }

    def alert_status_counts(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT status, COUNT(*) FROM alerts GROUP BY status"))

    def alert(self, alert_id: int) -> dict[str, Any] | None:
        return rows.one(self.conn, "SELECT * FROM alerts WHERE id = ?", (alert_id,))

    def alerts_of_listing(self, listing_id: int) -> list[dict[str, Any]]:
        return rows.many(
            self.conn,
            "SELECT id, kind, severity, status, created_at, version_id FROM alerts "
            "WHERE listing_id = ? ORDER BY id",
            (listing_id,),
        )

    # --- one listing ---------------------------------------------------------------------

    def version(self, version_id: int) -> dict[str, Any] | None:
        return rows.one(self.conn, "SELECT * FROM listing_versions WHERE id = ?", (version_id,))

    def pii_of_version(self, version_id: int) -> list[dict[str, Any]]:
        """Personal data quoted in a version: kind and masked form (never the digest)."""
        return rows.many(
            self.conn,
            "SELECT kind, masked FROM pii_hashes WHERE version_id = ? ORDER BY id",
            (version_id,),
        )

    def related_listings(self, listing_id: int) -> dict[str, list[dict[str, Any]]]:
        """Other listings with the same seller, a shared contact, in the same cluster, or
        forwarded from or to it, each with its latest alert."""
        this = self.store.listings.get(listing_id)
        if this is None:
            return {"seller": [], "contact": [], "cluster": [], "forward": []}
        columns = (
            "SELECT l.id, l.source, l.site_id, l.title, l.seller, l.price_text, l.volume_text, "
            "l.status, l.last_seen, l.contacts, l.seller_id, "
            "(SELECT MAX(a.id) FROM alerts a WHERE a.listing_id = l.id) AS alert_id "
            "FROM listings l WHERE l.id != ?"
        )
        found: dict[str, list[dict[str, Any]]] = {
            "seller": [],
            "contact": [],
            "cluster": [],
            "forward": self.store.forwards.links(listing_id),
        }
        if this.get("seller"):
            found["seller"] = rows.many(
                self.conn,
                f"{columns} AND l.seller = ? ORDER BY l.last_seen DESC LIMIT {RELATED_LIMIT}",
                (listing_id, this["seller"]),
            )
        # Through the contacts index (monitor/store/actors.py): the contacts written in this
        # listing's current version (not the channel it was posted in, which every message
        # there shares), and the listings any version of which named one.
        found["contact"] = rows.many(
            self.conn,
            f"{columns} AND l.id IN (SELECT other.listing_id FROM listing_contacts mine "
            "JOIN listing_contacts other ON other.contact_id = mine.contact_id "
            "WHERE mine.listing_id = ? AND mine.origin = 'text' AND mine.version_id = ("
            "SELECT v.id FROM listing_versions v WHERE v.listing_id = ? AND v.version = ?)) "
            f"ORDER BY l.last_seen DESC LIMIT {RELATED_LIMIT}",
            (listing_id, listing_id, listing_id, this["version"]),
        )
        if this.get("cluster_id") is not None:
            found["cluster"] = rows.many(
                self.conn,
                f"{columns} AND l.cluster_id = ? ORDER BY l.last_seen DESC LIMIT {RELATED_LIMIT}",
                (listing_id, this["cluster_id"]),
            )
        return found

    # --- triage --------------------------------------------------------------------------

    def triage_alerts(
        self,
        alert_ids: list[int],
        status: str,
        *,
        actor: str,
        now: str,
        note: str | None = None,
        reason: str | None = None,
    ) -> int:
        """Set the status of each alert, one audit event each; returns how many changed.
        An alert already in `status` is left alone (no event)."""
        changed = 0
        with self.store.transaction():
            for alert_id in alert_ids:
                old = self.conn.execute(
                    "SELECT status FROM alerts WHERE id = ?", (alert_id,)
                ).fetchone()
                if old is None or old[0] == status:
                    continue
                self.conn.execute(
                    "UPDATE alerts SET status = ?, updated_at = ? WHERE id = ?",
                    (status, now, alert_id),
                )
                self._event(alert_id, "status", actor, now, old[0], status, note, reason)
                changed += 1
        return changed

    def assign_alerts(
        self, alert_ids: list[int], assignee: str | None, *, actor: str, now: str
    ) -> int:
        """Give alerts to `assignee` (None: to nobody); the trail notes who had them before."""
        changed = 0
        with self.store.transaction():
            for alert_id in alert_ids:
                old = self.conn.execute(
                    "SELECT assignee, status FROM alerts WHERE id = ?", (alert_id,)
                ).fetchone()
                if old is None or old[0] == assignee:
                    continue
                self.conn.execute(
                    "UPDATE alerts SET assignee = ?, updated_at = ? WHERE id = ?",
                    (assignee, now, alert_id),
                )
                note = f"{old[0] or 'nobody'} → {assignee or 'nobody'}"
                self._event(alert_id, "assign", actor, now, old[1], old[1], note, None)
                changed += 1
        return changed

    def add_alert_note(self, alert_id: int, note: str, *, actor: str, now: str) -> None:
        with self.store.transaction():
            status = self.conn.execute(
                "SELECT status FROM alerts WHERE id = ?", (alert_id,)
            ).fetchone()
            if status is not None:
                self.conn.execute("UPDATE alerts SET updated_at = ? WHERE id = ?", (now, alert_id))
                self._event(alert_id, "note", actor, now, status[0], status[0], note, None)

    def _event(
        self,
        alert_id: int,
        action: str,
        actor: str,
        now: str,
        old_status: str | None,
        new_status: str | None,
        note: str | None,
        reason: str | None,
    ) -> None:
        self.conn.execute(
            "INSERT INTO alert_events (alert_id, at, actor, action, old_status, new_status, "
            "note, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (alert_id, now, actor, action, old_status, new_status, note or None, reason),
        )

    # --- sources -------------------------------------------------------------------------

    def source_health(self, recent: int = 8) -> list[dict[str, Any]]:
        """Each source with its latest run and the items of its last `recent` runs."""
        sources = rows.many(
            self.conn,
            "SELECT s.*, r.started_at AS last_started, r.finished_at AS last_finished, "
            "r.items AS last_items, r.pages AS last_pages, r.errors AS last_errors, "
            "r.duration AS last_duration, r.error AS last_error, "
            "(SELECT COUNT(*) FROM listings l WHERE l.source = s.name AND l.status = 'live') "
            "AS live_listings, "
            "(SELECT COUNT(*) FROM alerts a WHERE a.source = s.name AND a.status = 'open') "
            "AS open_alerts "
            "FROM sources s LEFT JOIN runs r ON r.id = s.last_run_id ORDER BY s.name",
        )
        for source in sources:
            source["recent_runs"] = rows.many(
                self.conn,
                "SELECT id, started_at, status, items, errors, new, changed, removed, error "
                "FROM runs WHERE source = ? ORDER BY id DESC LIMIT ?",
                (source["name"], recent),
            )
        return sources

    # --- users ---------------------------------------------------------------------------

    def user(self, name: str) -> dict[str, Any] | None:
        return rows.one(self.conn, "SELECT * FROM users WHERE name = ?", (name,))

    def users(self) -> list[dict[str, Any]]:
        return rows.many(
            self.conn,
            "SELECT name, role, created_at, disabled, display_name, language, time_zone "
            "FROM users ORDER BY name",
        )

    def add_user(self, name: str, role: str, password_hash: str, *, now: str) -> None:
        with self.store.transaction():
            self.conn.execute(
                "INSERT INTO users (name, role, password_hash, created_at, disabled) "
                "VALUES (?, ?, ?, ?, 0)",
                (name, role, password_hash, now),
            )

    def update_user(
        self,
        name: str,
        *,
        role: str | None = None,
        disabled: bool | None = None,
        password_hash: str | None = None,
    ) -> None:
        """Change a user; a new password, disabling or enabling ends their sessions."""
        sets: dict[str, Any] = {}
        if role is not None:
            sets["role"] = role
        if disabled is not None:
            sets["disabled"] = int(disabled)
        if password_hash is not None:
            sets["password_hash"] = password_hash
        if not sets:
            return
        assignments = [f"{column} = ?" for column in sets]
        if disabled is not None or password_hash is not None:
            assignments.append("session_generation = session_generation + 1")
        with self.store.transaction():
            self.conn.execute(
                f"UPDATE users SET {', '.join(assignments)} WHERE name = ?",
                (*sets.values(), name),
            )


def review_migration(store: Store) -> None:
    """0004_review: why an alert was dismissed, and indexes for the review pages."""
    db = store.db
    db.table("alert_events").add_column("reason", str)  # dismissal reason: false_positive, ...
    db.table("alerts").create_index(["assignee"], if_not_exists=True)
    db.table("listings").create_index(["seller"], if_not_exists=True)
    db.table("listings").create_index(["cluster_id"], if_not_exists=True)
