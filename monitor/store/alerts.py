"""Alerts and their audit trail (`alert_events`)."""

from __future__ import annotations

import json
from typing import Any

from monitor.store import rows
from monitor.store.base import QueryGroup
from monitor.store.filters import Filters, alert_conditions
from monitor.store.ranks import sql_list
from monitor.vocabulary import SOURCE_ALERT_KINDS


class AlertQueries(QueryGroup):
    """`store.alerts`: the queries for `alerts` and `alert_events`."""

    def insert(self, alert: dict[str, Any], now: str) -> int | None:
        """Raise an alert unless one with the same dedupe_key exists (a retried sweep, a
        crash and rerun); returns the new id or None. Runs inside a transaction."""
        values = dict(alert)
        for key in ("categories", "diff"):
            if values.get(key) is not None and not isinstance(values[key], str):
                values[key] = json.dumps(values[key], ensure_ascii=False, default=str)
        values.setdefault("status", "open")
        values["created_at"] = values["updated_at"] = now
        columns = list(values)
        cursor = self.conn.execute(
            f"INSERT OR IGNORE INTO alerts ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})",
            list(values.values()),
        )
        if cursor.rowcount == 0:
            return None
        alert_id = rows.inserted_id(cursor)
        self.conn.execute(
            "INSERT INTO alert_events (alert_id, at, actor, action, new_status) "
            "VALUES (?, ?, 'heishi', 'created', ?)",
            (alert_id, now, values["status"]),
        )
        return alert_id

    def open_exists(self, kind: str, source: str) -> bool:
        # A source's health alerts name no listing: the listing_id index finds them among
        # the few such alerts, where status = 'open' would walk every open alert.
        where = "kind = ? AND source = ? AND status = 'open'"
        if kind in SOURCE_ALERT_KINDS:
            where = "listing_id IS NULL AND +kind = ? AND source = ? AND +status = 'open'"
        return (
            self.conn.execute(
                f"SELECT 1 FROM alerts WHERE {where} LIMIT 1",
                (kind, source),
            ).fetchone()
            is not None
        )

    def exists(self, kind: str | tuple[str, ...], listing_id: int) -> bool:
        """Whether the listing has an alert of this kind (or of one of these kinds)."""
        kinds = (kind,) if isinstance(kind, str) else tuple(kind)
        marks = ", ".join("?" * len(kinds))
        return (
            self.conn.execute(
                f"SELECT 1 FROM alerts WHERE listing_id = ? AND kind IN ({marks}) LIMIT 1",
                (listing_id, *kinds),
            ).fetchone()
            is not None
        )

    def resolve_source(self, source: str, run_id: int, now: str) -> int:
        """A source that completed a sweep again: its open health alerts are resolved."""
        open_ids = [
            r[0]
            for r in self.conn.execute(
                # Health alerts name no listing: found through the listing_id index among
                # the few such alerts, not by walking every open alert (one per listing).
                "SELECT id FROM alerts WHERE listing_id IS NULL AND source = ? "
                f"AND +status = 'open' AND kind IN {sql_list(SOURCE_ALERT_KINDS)}",
                (source,),
            )
        ]
        for alert_id in open_ids:
            self.set_status(
                alert_id, "resolved", actor="heishi", note=f"run {run_id} completed", now=now
            )
        return len(open_ids)

    def reviewed_listings(self) -> list[dict[str, Any]]:
        """The listings of confirmed and dismissed alerts (the review team's labels): id,
        status, title, text and categories; the latest decision per listing wins."""
        cursor = self.conn.execute(
            "SELECT l.id, a.status, l.title, l.text, a.categories FROM alerts a "
            "JOIN listings l ON l.id = a.listing_id "
            "WHERE a.status IN ('confirmed', 'dismissed') ORDER BY a.updated_at, a.id"
        )
        latest: dict[int, dict[str, Any]] = {}
        for listing_id, status, title, text, categories in cursor:
            latest[listing_id] = {
                "id": f"store-{listing_id}",
                "label": 1 if status == "confirmed" else 0,
                "title": title or "",
                "text": text or "",
                "categories": json.loads(categories)
                if categories and status == "confirmed"
                else [],
            }
        return list(latest.values())

    def set_status(
        self,
        alert_id: int,
        status: str,
        *,
        actor: str,
        note: str | None = None,
        now: str,
    ) -> None:
        old = self.conn.execute("SELECT status FROM alerts WHERE id = ?", (alert_id,)).fetchone()
        self.conn.execute(
            "UPDATE alerts SET status = ?, updated_at = ? WHERE id = ?", (status, now, alert_id)
        )
        self.conn.execute(
            "INSERT INTO alert_events (alert_id, at, actor, action, old_status, new_status, note) "
            "VALUES (?, ?, ?, 'status', ?, ?, ?)",
            (alert_id, now, actor, old[0] if old else None, status, note),
        )
        if status == "dismissed":
            self.store.clusters.mark_twins_of_dismissed(alert_id)

    def where(
        self,
        filters: Filters | None = None,
        *,
        run_ids: list[int] | None = None,
        alert_id: int | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Alerts, newest first, joined with their listing's current state."""
        sql = (
            "SELECT a.*, l.url, l.site_id, l.price_text, l.price, l.currency, l.volume, "
            "l.volume_text, l.seller, l.status AS listing_status, l.text AS listing_text, "
            "l.title AS listing_title "
            "FROM alerts a LEFT JOIN listings l ON l.id = a.listing_id WHERE 1"
        )
        where, params = alert_conditions(filters or Filters())
        sql += where
        if alert_id:
            sql += " AND a.id = ?"
            params.append(alert_id)
        if run_ids is not None:
            sql += f" AND a.run_id IN ({', '.join('?' * len(run_ids))})"
            params.extend(run_ids)
        sql += " ORDER BY a.id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return rows.many(self.conn, sql, tuple(params))

    def by_ids(self, ids: list[int]) -> list[dict[str, Any]]:
        return rows.many(
            self.conn,
            f"SELECT * FROM alerts WHERE id IN ({', '.join('?' * len(ids))})",
            tuple(ids),
        )

    def events(self, alert_id: int) -> list[dict[str, Any]]:
        return rows.many(
            self.conn, "SELECT * FROM alert_events WHERE alert_id = ? ORDER BY id", (alert_id,)
        )
