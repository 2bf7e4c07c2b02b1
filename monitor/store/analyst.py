"""Read-only queries for analysts: number look-ups by keyed hash, streamed exports, views."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from monitor.store import rows
from monitor.store.base import QueryGroup
from monitor.store.filters import Filters, alert_conditions, listing_conditions
from monitor.store.views import VIEWS

if TYPE_CHECKING:
    from monitor.store.connection import Store

# Columns of a listing that exports carry (all masked at ingest; no clear personal data).
_LISTING_COLUMNS = (
    "l.source, l.site_id, l.url, l.title, l.seller, l.price, l.currency, l.price_text, "
    "l.volume, l.volume_text, l.contacts, l.categories AS listing_categories, l.score, "
    "l.matched, l.status AS listing_status, l.first_seen AS listing_first_seen, "
    "l.last_seen AS listing_last_seen, l.version, l.text AS listing_text, "
    "(SELECT count(*) FROM pii_hashes p WHERE p.listing_id = l.id AND p.version_id = "
    " (SELECT cv.id FROM listing_versions cv WHERE cv.listing_id = l.id "
    "  AND cv.version = l.version)) AS pii_quoted"
)
# The listing's seller and actor (migration 0021_actors), NULL in a store opened read-only
# that has not been upgraded to it yet.
_ACTOR_COLUMNS = (
    ", l.seller_id, (SELECT s.actor_id FROM sellers s WHERE s.id = l.seller_id) AS actor_id"
)
_NO_ACTOR_COLUMNS = ", NULL AS seller_id, NULL AS actor_id"


def _actor_columns(store: Store) -> str:
    return _ACTOR_COLUMNS if store.actor_reads.has_actor_tables() else _NO_ACTOR_COLUMNS


def _stream(store: Store, sql: str, params: list[Any]) -> Iterator[dict[str, Any]]:
    """Rows one at a time from the cursor: an export of a big store never sits in memory."""
    cursor = store.conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    for row in cursor:
        yield dict(zip(names, row, strict=True))


class AnalystQueries(QueryGroup):
    """`store.analyst`: reads for `heishi lookup`, `heishi export` and the views."""

    def pii_sightings(self, kind: str, digest: str) -> list[dict[str, Any]]:
        """Listings whose versions quoted the number with this keyed hash, first seen first."""
        return rows.many(
            self.conn,
            "SELECT l.id AS listing_id, l.source, l.site_id, l.title, l.url, l.status, "
            "count(DISTINCT p.version_id) AS versions, min(v.seen_at) AS first_seen, "
            "max(CASE WHEN v.version = l.version THEN l.last_seen ELSE v.seen_at END) "
            "AS last_seen, max(v.version = l.version) AS in_current_version, "
            "group_concat(DISTINCT p.masked) AS masked_as_written "
            "FROM pii_hashes p JOIN listing_versions v ON v.id = p.version_id "
            "JOIN listings l ON l.id = v.listing_id "
            "WHERE p.digest = ? AND p.kind = ? "
            "GROUP BY l.id ORDER BY first_seen, l.id",
            (digest, kind),
        )

    def view_rows(self, name: str, limit: int | None = None) -> list[dict[str, Any]]:
        """The rows of one analyst view (`VIEWS`), in the view's own order."""
        if name not in VIEWS:
            raise KeyError(f"no view {name!r}; views: {', '.join(VIEWS)}")
        sql = f"SELECT * FROM {name}"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return rows.many(self.conn, sql)

    def export_alerts(self, filters: Filters) -> Iterator[dict[str, Any]]:
        """Alerts with their listing's current state, oldest first, filtered as `heishi
        alerts` filters them; streamed."""
        where, params = alert_conditions(filters)
        sql = (
            f"SELECT a.*, {_LISTING_COLUMNS}{_actor_columns(self.store)} FROM alerts a "
            f"LEFT JOIN listings l ON l.id = a.listing_id WHERE 1{where}"
        )
        return _stream(self.store, sql + " ORDER BY a.id", params)

    def export_listings(self, filters: Filters) -> Iterator[dict[str, Any]]:
        """Listings in their current state, by id; streamed (see `Filters` for what each
        filter means over listings)."""
        where, params = listing_conditions(filters)
        sql = (
            f"SELECT l.id AS listing_id, {_LISTING_COLUMNS}{_actor_columns(self.store)} "
            f"FROM listings l WHERE 1{where}"
        )
        return _stream(self.store, sql + " ORDER BY l.id", params)
