"""Views for analysts' common questions (migration 0008_views), documented in docs/schema.md.

Each view is plain SQL over the tables, so `sqlite3`, Datasette and any SQL client read them
alike. They are created by a migration; changing one later is a new migration that drops and
recreates it with `replace_views` (a view holds no data, so this loses nothing).

A sighting of a contact or seller is a listing version that carried it. Its latest sighting is
the listing's `last_seen` when that version is still the current one, else the version's own
`seen_at` (a later version dropped it): the latest sweep known to have seen it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.store.ranks import severity_rank_sql, status_rank_sql

if TYPE_CHECKING:
    from monitor.store.connection import Store

_LAST_SIGHTING = "CASE WHEN v.version = l.version THEN l.last_seen ELSE v.seen_at END"

VIEWS: dict[str, str] = {
    # One row per (category, live matched listing): what is on offer now, by category.
    "v_live_listings_by_category": """
SELECT c.value AS category, l.id AS listing_id, l.source, l.site_id, l.title, l.seller,
       l.price, l.currency, l.price_text, l.volume, l.volume_text, l.contacts, l.score,
       l.first_seen, l.last_seen, l.version, l.url
FROM listings l, json_each(l.categories) c
WHERE l.status = 'live' AND l.matched = 1
ORDER BY c.value, l.last_seen DESC, l.id""",
    # Per category: how many live matched listings, on how many sources, at what prices.
    "v_live_category_summary": """
SELECT c.value AS category, count(*) AS listings, count(DISTINCT l.source) AS sources,
       count(DISTINCT l.seller) AS sellers, sum(l.volume) AS volume_total,
       min(l.price) AS price_min, max(l.price) AS price_max, max(l.first_seen) AS newest
FROM listings l, json_each(l.categories) c
WHERE l.status = 'live' AND l.matched = 1
GROUP BY c.value
ORDER BY listings DESC, category""",
    # Every version of every listing with its price and volume, and the change from the last.
    "v_listing_price_history": """
SELECT v.listing_id, l.source, l.site_id, v.version, v.seen_at,
       lead(v.seen_at) OVER w AS replaced_at, v.run_id, v.title, v.price, v.currency,
       v.price_text, v.volume, v.volume_text,
       v.price - lag(v.price) OVER w AS price_change,
       v.volume - lag(v.volume) OVER w AS volume_change,
       (SELECT group_concat(key, ',') FROM json_each(v.diff)) AS changed_fields,
       l.status AS listing_status
FROM listing_versions v JOIN listings l ON l.id = v.listing_id
WINDOW w AS (PARTITION BY v.listing_id ORDER BY v.version)
ORDER BY v.listing_id, v.version""",
    # Seller names and where they were seen: sources, listings, categories, first and last.
    "v_sellers_across_sources": """
WITH sightings AS (
  SELECT v.seller, l.id AS listing_id, l.source, l.status, v.categories,
         v.seen_at, """
    + _LAST_SIGHTING
    + """ AS last_seen
  FROM listing_versions v JOIN listings l ON l.id = v.listing_id
  WHERE v.seller IS NOT NULL AND v.seller != '' AND v.matched = 1
)
, seller_categories AS (
  SELECT s.seller, group_concat(DISTINCT c.value) AS categories
  FROM sightings s, json_each(s.categories) c
  GROUP BY s.seller
)
SELECT s.seller, count(DISTINCT s.source) AS sources,
       group_concat(DISTINCT s.source) AS source_names,
       count(DISTINCT s.listing_id) AS listings,
       count(DISTINCT CASE WHEN s.status = 'live' THEN s.listing_id END) AS live_listings,
       sc.categories, min(s.seen_at) AS first_seen, max(s.last_seen) AS last_seen
FROM sightings s LEFT JOIN seller_categories sc ON sc.seller = s.seller
GROUP BY s.seller
ORDER BY sources DESC, listings DESC, s.seller""",
    # Contacts (qq:..., wechat:..., telegram:...) and where they were seen.
    "v_contacts_across_sources": """
WITH sightings AS (
  SELECT c.value AS contact, l.id AS listing_id, l.source, l.status, v.seller, v.matched,
         v.seen_at, """
    + _LAST_SIGHTING
    + """ AS last_seen
  FROM listing_versions v JOIN listings l ON l.id = v.listing_id, json_each(v.contacts) c
  WHERE v.contacts IS NOT NULL
)
SELECT contact, substr(contact, 1, instr(contact, ':') - 1) AS contact_kind,
       substr(contact, instr(contact, ':') + 1) AS contact_value,
       count(DISTINCT source) AS sources, group_concat(DISTINCT source) AS source_names,
       count(DISTINCT seller) AS sellers, group_concat(DISTINCT seller) AS seller_names,
       count(DISTINCT listing_id) AS listings,
       count(DISTINCT CASE WHEN status = 'live' THEN listing_id END) AS live_listings,
       count(DISTINCT CASE WHEN matched = 1 THEN listing_id END) AS matched_listings,
       min(seen_at) AS first_seen, max(last_seen) AS last_seen
FROM sightings
GROUP BY contact
ORDER BY sources DESC, listings DESC, contact""",
    # Matched listings first seen in the last seven days, with their `new` alert.
    "v_new_this_week": """
SELECT l.id AS listing_id, l.source, l.site_id, l.title, l.seller, l.categories, l.price,
       l.currency, l.price_text, l.volume, l.volume_text, l.status, l.first_seen, l.last_seen,
       a.id AS alert_id, a.severity, a.status AS alert_status, l.url
FROM listings l
LEFT JOIN alerts a ON a.listing_id = l.id AND a.kind = 'new'
WHERE l.matched = 1
  AND l.first_seen >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-7 days')
ORDER BY l.first_seen DESC, l.id""",
    # Alerts counted by review status, severity and kind, with their time span.
    "v_alerts_by_status": """
SELECT status, severity, kind, count(*) AS alerts,
       count(DISTINCT listing_id) AS listings, count(DISTINCT source) AS sources,
       min(created_at) AS oldest, max(created_at) AS newest, max(updated_at) AS last_updated
FROM alerts
GROUP BY status, severity, kind
ORDER BY """
    + status_rank_sql("status")
    + ", "
    + severity_rank_sql("severity")
    + " DESC, kind",
}


def create_views(store: Store, names: list[str] | None = None) -> None:
    """CREATE VIEW for each named view (default: all), inside the caller's transaction."""
    for name in names or list(VIEWS):
        store.conn.execute(f"CREATE VIEW {name} AS {VIEWS[name].strip()}")


def replace_views(store: Store, names: list[str]) -> None:
    """Drop and recreate views: what a later migration that changes a view calls."""
    for name in names:
        store.conn.execute(f"DROP VIEW IF EXISTS {name}")
    create_views(store, names)


def migrate_0008_views(store: Store) -> None:
    create_views(store)
