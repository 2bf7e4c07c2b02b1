"""What the review desk needs from the store beyond the plain queue (monitor/store/review.py).

The desk's queue has one row per listing: the alerts a filter selects are grouped by their
listing (an alert about no listing, a failing source, is a group of its own), so a listing's
new, changed and relisted alerts are read and decided together. A group is keyed by its
listing id (or minus the alert's id) and shown through its newest alert. `desk_queue` is the
one implementation of that grouping: the web queue reads it directly, `heishi alerts --group`
and the API's `group=1` through `alert_groups`, which shapes its rows as they print them.

Each reviewer's last-seen version of each listing (`listing_views`) lets the alert page open
on what changed since they last looked and the queue mark the listings that did; each user's
display name, language and time zone live on `users` (migration 0018_review_desk).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from monitor.store import rows
from monitor.store.base import QueryGroup
from monitor.store.ranks import SEVERITY_OF_RANK, severity_rank_sql
from monitor.store.review import QueueFilters, _queue_where

if TYPE_CHECKING:
    from monitor.store.connection import Store

_SEVERITY_RANK = severity_rank_sql("a.severity")
# How a group sorts, by the queue's sort keys (monitor.store.review.QUEUE_SORTS): by its
# newest alert, its latest change, its most severe alert, or its listing.
GROUP_SORTS = {
    "created": "g.newest",
    "updated": "g.updated",
    "severity": "g.severity",
    "status": "a.status",
    "source": "a.source",
    "price": "l.price",
    "volume": "l.volume",
    "title": "a.title",
}


def migrate_0018_review_desk(store: Store) -> None:
    """The last version of each listing each reviewer saw, and the users' preferences."""
    conn = store.conn
    conn.execute(
        "CREATE TABLE listing_views (user TEXT NOT NULL, listing_id INTEGER NOT NULL "
        "REFERENCES listings (id) ON DELETE CASCADE, version INTEGER NOT NULL, "
        "seen_at TEXT NOT NULL, PRIMARY KEY (user, listing_id)) WITHOUT ROWID"
    )
    conn.execute("CREATE INDEX listing_views_listing ON listing_views (listing_id)")
    for column in ("display_name", "language", "time_zone"):
        conn.execute(f"ALTER TABLE users ADD COLUMN {column} TEXT")


def _groups_sql(filters: QueueFilters) -> tuple[str, list[Any]]:
    """A CTE `g`: one row per group of the alerts `filters` selects."""
    where, params = _queue_where(filters)
    sql = (
        "WITH g AS (SELECT coalesce(a.listing_id, -a.id) AS listing_key, max(a.id) AS newest, "
        f"max({_SEVERITY_RANK}) AS severity, max(a.updated_at) AS updated, "
        "count(*) AS alert_count, json_group_array(a.id) AS alert_ids, "
        "min(a.created_at) AS first_at, max(a.created_at) AS last_at "
        f"FROM alerts a LEFT JOIN listings l ON l.id = a.listing_id{where} "
        "GROUP BY listing_key) "
    )
    return sql, params


def _order(sort: str, descending: bool) -> str:
    column = GROUP_SORTS.get(sort, GROUP_SORTS["created"])
    direction = "DESC" if descending else "ASC"
    return f"ORDER BY {column} IS NULL, {column} {direction}, g.newest {direction}"


class DeskQueries(QueryGroup):
    """`store.desk`: the queries for the review desk."""

    def queue(
        self,
        filters: QueueFilters,
        *,
        sort: str = "created",
        descending: bool = True,
        limit: int | None = 50,
        offset: int = 0,
        viewer: str | None = None,
        with_text: bool = False,
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of the queue (`limit` None: all of it), a row per listing, and how many
        rows there are in all. Each row is its newest alert's, with `severity` the group's
        highest, `alert_count`, `first_at` and `last_at` (its oldest and newest alert's
        times), `alerts`: the group's alerts (id, kind, severity, status, created_at,
        categories), oldest first, `seen_version`: the listing's version `viewer` last saw
        (None: never), and with `with_text`, `listing_text`: the listing's current text."""
        groups, params = _groups_sql(filters)
        total = self.conn.execute(f"{groups}SELECT count(*) FROM g", params).fetchone()[0]
        sql = (
            f"{groups}SELECT a.id, a.kind, g.severity AS severity_rank, a.status, a.assignee, "
            "a.source, a.listing_id, a.version_id, a.created_at, a.updated_at, a.title, "
            "a.summary, a.categories, a.brands, a.dismissed_twin_of, g.alert_count, "
            "g.alert_ids, g.listing_key, g.first_at, g.last_at, l.site_id, "
            "l.price_text, l.price, l.currency, l.volume, l.volume_text, l.seller, "
            "l.status AS listing_status, l.url, l.version AS listing_version, "
            f"lv.version AS seen_version{', l.text AS listing_text' if with_text else ''} "
            "FROM g JOIN alerts a ON a.id = g.newest LEFT JOIN listings l ON l.id = a.listing_id "
            "LEFT JOIN listing_views lv ON lv.listing_id = a.listing_id AND lv.user = ? "
            f"{_order(sort, descending)} LIMIT ? OFFSET ?"
        )
        page = (*params, viewer, -1 if limit is None else int(limit), int(offset))
        found = rows.many(self.conn, sql, page)
        members = self._alerts_by_id([i for row in found for i in json.loads(row["alert_ids"])])
        for row in found:
            row["severity"] = SEVERITY_OF_RANK.get(row.pop("severity_rank"))
            ids = sorted(json.loads(row.pop("alert_ids")))
            row["alerts"] = [members[i] for i in ids if i in members]
        return found, total

    def queue_order(
        self, filters: QueueFilters, *, sort: str = "created", descending: bool = True
    ) -> list[tuple[int, int]]:
        """The queue's rows in order, as (listing key, newest alert id): where a listing
        stands in its queue, and which comes next."""
        groups, params = _groups_sql(filters)
        sql = (
            f"{groups}SELECT g.listing_key, g.newest FROM g JOIN alerts a ON a.id = g.newest "
            f"LEFT JOIN listings l ON l.id = a.listing_id {_order(sort, descending)}"
        )
        return [(key, newest) for key, newest in self.conn.execute(sql, params)]

    def queue_group(self, filters: QueueFilters, alert: dict[str, Any]) -> list[dict[str, Any]]:
        """The alerts of `alert`'s listing that `filters` selects (the queue's row of it),
        and `alert` itself, oldest first."""
        if not alert.get("listing_id"):
            return list(self._alerts_by_id([alert["id"]]).values())
        where, params = _queue_where(filters)
        ids = {
            row[0]
            for row in self.conn.execute(
                "SELECT a.id FROM alerts a LEFT JOIN listings l ON l.id = a.listing_id"
                f"{where} AND a.listing_id = ?",
                (*params, alert["listing_id"]),
            )
        }
        ids.add(alert["id"])
        found = self._alerts_by_id(sorted(ids))
        return [found[i] for i in sorted(found)]

    def alerts_of_same_listing(self, alert_id: int, candidates: list[int]) -> list[int]:
        """Those of `candidates` that are alerts about the same listing as `alert_id`."""
        if not candidates:
            return []
        marks = ", ".join("?" * len(candidates))
        return [
            row[0]
            for row in self.conn.execute(
                f"SELECT b.id FROM alerts a JOIN alerts b ON b.listing_id = a.listing_id "
                f"WHERE a.id = ? AND b.id IN ({marks}) ORDER BY b.id",
                (alert_id, *candidates),
            )
        ]

    def _alerts_by_id(self, ids: list[int]) -> dict[int, dict[str, Any]]:
        found: dict[int, dict[str, Any]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            for row in rows.many(
                self.conn,
                "SELECT id, kind, severity, status, created_at, listing_id, version_id, "
                f"categories FROM alerts WHERE id IN ({marks})",
                tuple(chunk),
            ):
                row["categories"] = _json_list(row["categories"])
                found[row["id"]] = row
        return found

    def alert_groups(
        self, filters: QueueFilters, *, limit: int | None = None, offset: int = 0
    ) -> tuple[list[dict[str, Any]], int]:
        """The queue's rows (desk_queue, newest first) as `heishi alerts --group` and the
        API's `group=1` give them: each the group's `latest_id`, `alert_count`, highest
        `severity`, `first_at` and `last_at`, `alert_ids`, `kinds` and `alerts` (oldest
        first), every category of its alerts, and the listing's title, seller and state from
        its newest alert; and how many groups there are."""
        found, total = self.queue(filters, limit=limit, offset=offset)
        return [_group_entry(row) for row in found], total

    # --- users' preferences ------------------------------------------------------------

    def set_user_preferences(self, name: str, **changes: str | None) -> None:
        """Set a user's `display_name`, `language` or `time_zone` (None clears one)."""
        allowed = {
            k: v for k, v in changes.items() if k in ("display_name", "language", "time_zone")
        }
        if not allowed:
            return
        assignments = ", ".join(f"{column} = ?" for column in allowed)
        with self.store.transaction():
            self.conn.execute(
                f"UPDATE users SET {assignments} WHERE name = ?", (*allowed.values(), name)
            )

    # --- since you last looked -----------------------------------------------------------

    def seen_version(self, user: str, listing_id: int) -> dict[str, Any] | None:
        """The version of a listing `user` last saw, and when (None: never)."""
        return rows.one(
            self.conn,
            "SELECT version, seen_at FROM listing_views WHERE user = ? AND listing_id = ?",
            (user, listing_id),
        )

    def mark_seen(self, user: str, listing_id: int, version: int, *, now: str) -> None:
        """`user` has now seen `version` of a listing (a later one is never taken back)."""
        with self.store.transaction():
            self.conn.execute(
                "INSERT INTO listing_views (user, listing_id, version, seen_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (user, listing_id) DO UPDATE SET "
                "version = max(version, excluded.version), seen_at = excluded.seen_at",
                (user, listing_id, version, now),
            )


def _group_entry(row: dict[str, Any]) -> dict[str, Any]:
    members = row["alerts"]
    return {
        "listing_id": row["listing_id"],
        "latest_id": row["id"],
        "alert_count": row["alert_count"],
        "severity": row["severity"],
        "first_at": row["first_at"],
        "last_at": row["last_at"],
        "source": row["source"],
        "title": row["title"],
        "categories": sorted({c for member in members for c in member["categories"]}),
        "seller": row["seller"],
        "url": row["url"],
        "site_id": row["site_id"],
        "price_text": row["price_text"],
        "volume_text": row["volume_text"],
        "listing_status": row["listing_status"],
        "alerts": [
            {key: member[key] for key in ("id", "kind", "severity", "status", "created_at")}
            | {"categories": member["categories"]}
            for member in members
        ],
        "alert_ids": [member["id"] for member in members],
        "kinds": [member["kind"] for member in members],
    }


def _json_list(value: str | None) -> list[str]:
    try:
        found = json.loads(value) if value else []
    except ValueError:
        return []
    return [str(v) for v in found] if isinstance(found, list) else []
