"""Reads of sellers, contacts, links, actors and watches (monitor/store/actors.py has the
tables). Every read of one actor is bounded by a limit, so a very large actor still answers
at once; "every listing with this contact" is an index range, not a scan."""

from __future__ import annotations

from typing import Any

from monitor.store import rows
from monitor.store.base import QueryGroup

ACTOR_SORTS = {
    "alerts": "alerts DESC, listings DESC, actor_id",
    "listings": "listings DESC, actor_id",
    "recent": "last_seen DESC, actor_id",
    "sources": "sources DESC, listings DESC, actor_id",
}


class ActorReadQueries(QueryGroup):
    """`store.actor_reads`: reads of the actor tables."""

    def has_actor_tables(self) -> bool:
        """False for a store opened read-only that predates migration 0021_actors."""
        return (
            self.conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sellers'"
            ).fetchone()
            is not None
        )

    def listing_cluster(self, listing_id: int) -> int | None:
        row = self.conn.execute(
            "SELECT cluster_id FROM listings WHERE id = ?", (listing_id,)
        ).fetchone()
        return row[0] if row else None

    def contact(self, contact_id: int) -> dict[str, Any] | None:
        return rows.one(self.conn, "SELECT * FROM contacts WHERE id = ?", (contact_id,))

    def find_contact(self, kind: str, key: str) -> dict[str, Any] | None:
        """A contact by kind and its value (or keyed hash, for a personal number)."""
        return rows.one(
            self.conn,
            "SELECT * FROM contacts WHERE kind = ? AND coalesce(digest, value) = ?",
            (kind, key),
        )

    def seller(self, seller_id: int) -> dict[str, Any] | None:
        return rows.one(self.conn, "SELECT * FROM sellers WHERE id = ?", (seller_id,))

    def resolve_actor(self, actor_id: int) -> int | None:
        """The actor that `actor_id` names now: an actor merged into another keeps answering
        for it (an actor id is the id of one of its sellers)."""
        row = self.conn.execute("SELECT actor_id FROM sellers WHERE id = ?", (actor_id,)).fetchone()
        return int(row[0]) if row else None

    def listing_actor(self, listing_id: int) -> dict[str, Any] | None:
        """The seller a listing's current version names, and its actor."""
        return rows.one(
            self.conn,
            "SELECT s.id AS seller_id, s.handle, s.source, s.actor_id, "
            "(SELECT count(*) FROM sellers n WHERE n.actor_id = s.actor_id) AS sellers "
            "FROM listings l JOIN sellers s ON s.id = l.seller_id WHERE l.id = ?",
            (listing_id,),
        )

    def actor_sellers(self, actor_id: int, limit: int | None = None) -> list[dict[str, Any]]:
        """The actor's sellers (its aliases), the most active first."""
        sql = "SELECT * FROM sellers WHERE actor_id = ? ORDER BY listings DESC, id"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return rows.many(self.conn, sql, (actor_id,))

    def actor_contacts(self, actor_id: int, limit: int = 200) -> list[dict[str, Any]]:
        """Contacts its sellers named, with how many of the actor's listings and which of
        its aliases named each, and on how many sellers anywhere."""
        return rows.many(
            self.conn,
            "SELECT c.id, c.kind, c.value, c.digest IS NOT NULL AS hashed, c.sellers, "
            "c.listings AS all_listings, sum(sc.listings) AS listings, "
            "group_concat(s.handle || ' @ ' || s.source, ', ') AS used_by, min(sc.first_seen) AS first_seen, "
            "max(sc.last_seen) AS last_seen "
            "FROM sellers s JOIN seller_contacts sc ON sc.seller_id = s.id "
            "JOIN contacts c ON c.id = sc.contact_id WHERE s.actor_id = ? "
            f"GROUP BY c.id ORDER BY listings DESC, c.id LIMIT {int(limit)}",
            (actor_id,),
        )

    def actor_links(self, actor_id: int, limit: int = 500) -> list[dict[str, Any]]:
        """The links between its sellers: why and since when, oldest first."""
        return rows.many(
            self.conn,
            "SELECT k.id, k.seller_id, k.other_id, k.reason, k.contact_id, k.cluster_id, "
            "k.listing_id, k.since, a.handle AS seller, a.source AS seller_source, "
            "b.handle AS other, b.source AS other_source, c.kind AS contact_kind, "
            "c.value AS contact_value FROM sellers a "
            "JOIN seller_links k ON k.seller_id = a.id JOIN sellers b ON b.id = k.other_id "
            "LEFT JOIN contacts c ON c.id = k.contact_id WHERE a.actor_id = ? "
            f"ORDER BY k.since, k.id LIMIT {int(limit)}",
            (actor_id,),
        )

    def actor_listings(self, actor_id: int, limit: int = 200) -> list[dict[str, Any]]:
        """Listings whose current version names one of its sellers, the latest seen first,
        with their latest alert."""
        return rows.many(
            self.conn,
            "SELECT l.id, l.source, l.site_id, l.title, l.price, l.currency, l.price_text, "
            "l.volume, l.volume_text, l.categories, l.status, l.matched, l.first_seen, "
            "l.last_seen, l.url, s.handle AS seller, s.id AS seller_id, "
            "(SELECT max(a.id) FROM alerts a WHERE a.listing_id = l.id) AS alert_id "
            "FROM sellers s JOIN listings l ON l.seller_id = s.id WHERE s.actor_id = ? "
            f"ORDER BY l.last_seen DESC, l.id DESC LIMIT {int(limit)}",
            (actor_id,),
        )

    def actor_versions(self, actor_id: int, limit: int = 2000) -> list[dict[str, Any]]:
        """The latest versions (at most `limit`) its sellers were named in, oldest first:
        prices, volumes and categories over time."""
        found = rows.many(
            self.conn,
            "SELECT v.id, v.listing_id, v.version, v.seen_at, v.price, v.currency, "
            "v.price_text, v.volume, v.volume_text, v.categories, v.title, s.source "
            "FROM sellers s JOIN listing_sellers ls ON ls.seller_id = s.id "
            "JOIN listing_versions v ON v.id = ls.version_id WHERE s.actor_id = ? "
            f"ORDER BY v.id DESC LIMIT {int(limit)}",
            (actor_id,),
        )
        return found[::-1]

    def actor_weeks(self, actor_id: int, weeks: int = 26) -> list[dict[str, Any]]:
        """Per week (starting Monday, UTC): listings first seen, versions written, alerts
        raised; the latest `weeks` weeks that had any."""
        return rows.many(
            self.conn,
            "WITH activity AS ("
            " SELECT date(v.seen_at, '-6 days', 'weekday 1') AS week, v.version = 1 AS new, "
            " 0 AS alert FROM sellers s JOIN listing_sellers ls ON ls.seller_id = s.id "
            " JOIN listing_versions v ON v.id = ls.version_id WHERE s.actor_id = ? "
            " UNION ALL SELECT date(a.created_at, '-6 days', 'weekday 1'), 0, 1 "
            " FROM sellers s JOIN listings l ON l.seller_id = s.id "
            " JOIN alerts a ON a.listing_id = l.id WHERE s.actor_id = ?) "
            "SELECT week, sum(new) AS new_listings, sum(1 - alert) AS versions, "
            "sum(alert) AS alerts FROM activity WHERE week IS NOT NULL "
            f"GROUP BY week ORDER BY week DESC LIMIT {int(weeks)}",
            (actor_id, actor_id),
        )[::-1]

    def actor_alerts(self, actor_id: int, limit: int = 200) -> list[dict[str, Any]]:
        """Alerts on its listings, newest first."""
        return rows.many(
            self.conn,
            "SELECT a.id, a.kind, a.severity, a.status, a.assignee, a.created_at, a.title, "
            "a.listing_id, a.source FROM sellers s JOIN listings l ON l.seller_id = s.id "
            "JOIN alerts a ON a.listing_id = l.id WHERE s.actor_id = ? "
            f"ORDER BY a.id DESC LIMIT {int(limit)}",
            (actor_id,),
        )

    def actor_triage(self, actor_id: int) -> dict[str, int]:
        """How many of its alerts are in each review status."""
        return dict(
            self.conn.execute(
                "SELECT a.status, count(*) FROM sellers s JOIN listings l ON l.seller_id = s.id "
                "JOIN alerts a ON a.listing_id = l.id WHERE s.actor_id = ? GROUP BY a.status",
                (actor_id,),
            ).fetchall()
        )

    def actors(
        self,
        *,
        source: str | None = None,
        contact_id: int | None = None,
        min_sellers: int = 1,
        sort: str = "alerts",
        limit: int | None = 50,
    ) -> list[dict[str, Any]]:
        """Actors as `v_actors` has them: those with a seller on `source`, that named this
        contact, with at least `min_sellers` aliases."""
        sql = "SELECT * FROM v_actors WHERE sellers >= ?"
        params: list[Any] = [min_sellers]
        if source:
            sql += " AND actor_id IN (SELECT actor_id FROM sellers WHERE source = ?)"
            params.append(source)
        if contact_id is not None:
            sql += (
                " AND actor_id IN (SELECT s.actor_id FROM seller_contacts sc "
                "JOIN sellers s ON s.id = sc.seller_id WHERE sc.contact_id = ?)"
            )
            params.append(contact_id)
        sql += f" ORDER BY {ACTOR_SORTS[sort]}"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return rows.many(self.conn, sql, tuple(params))

    def actor_summary(self, actor_id: int) -> dict[str, Any] | None:
        """One actor's `v_actors` row, computed for this actor alone."""
        return rows.one(
            self.conn,
            "SELECT count(*) AS sellers, count(DISTINCT source) AS sources, "
            "group_concat(DISTINCT source) AS source_names, sum(listings) AS listings, "
            "sum(versions) AS versions, min(first_seen) AS first_seen, "
            "max(last_seen) AS last_seen FROM sellers WHERE actor_id = ? HAVING count(*) > 0",
            (actor_id,),
        )

    def contact_listings(self, kind: str, key: str, limit: int = 1000) -> list[dict[str, Any]]:
        """Every listing any version of which named this contact (by value, or keyed hash
        for a personal number), the latest seen first, with its seller and actor."""
        return rows.many(
            self.conn,
            "SELECT l.id AS listing_id, l.source, l.site_id, l.title, l.status, l.first_seen, "
            "l.last_seen, s.handle AS seller, s.actor_id FROM contacts c "
            "JOIN listing_contacts lc ON lc.contact_id = c.id "
            "JOIN listings l ON l.id = lc.listing_id LEFT JOIN sellers s ON s.id = l.seller_id "
            "WHERE c.kind = ? AND coalesce(c.digest, c.value) = ? "
            f"GROUP BY l.id ORDER BY l.last_seen DESC, l.id DESC LIMIT {int(limit)}",
            (kind, key),
        )

    def watches(self, *, open_only: bool = True) -> list[dict[str, Any]]:
        """Watches, newest first, with what they watch: the actor (as it is now) or the
        contact."""
        sql = (
            "SELECT w.*, s.actor_id, s.handle, s.source, c.kind AS contact_kind, "
            "c.value AS contact_value FROM actor_watches w "
            "LEFT JOIN sellers s ON s.id = w.seller_id LEFT JOIN contacts c ON c.id = w.contact_id"
        )
        if open_only:
            sql += " WHERE w.ended_at IS NULL"
        return rows.many(self.conn, sql + " ORDER BY w.id DESC")

    def watches_of_actor(self, actor_id: int) -> list[dict[str, Any]]:
        """Open watches on this actor, or on a contact its sellers named."""
        return rows.many(
            self.conn,
            "SELECT w.*, c.kind AS contact_kind, c.value AS contact_value FROM actor_watches w "
            "LEFT JOIN sellers s ON s.id = w.seller_id LEFT JOIN contacts c ON c.id = w.contact_id "
            "WHERE w.ended_at IS NULL AND (s.actor_id = ? OR w.contact_id IN ("
            "SELECT sc.contact_id FROM sellers m JOIN seller_contacts sc ON sc.seller_id = m.id "
            "WHERE m.actor_id = ?)) ORDER BY w.id",
            (actor_id, actor_id),
        )
