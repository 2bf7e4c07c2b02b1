"""Views over sellers, contacts and their links (migration 0021_actors), for sqlite3,
Datasette and any SQL client; documented in docs/schema.md. Changing one later is a new
migration that drops and recreates it (monitor.store.views.replace_views does the same)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.store.ranks import sql_list
from monitor.vocabulary import ACTIVE_STATUSES

if TYPE_CHECKING:
    from monitor.store.connection import Store

ACTOR_VIEWS: dict[str, str] = {
    # One row per actor: its aliases, sources, listings, contacts, alerts and time span.
    "v_actors": f"""
WITH members AS (
  SELECT actor_id, count(*) AS sellers, count(DISTINCT source) AS sources,
         group_concat(DISTINCT source) AS source_names,
         group_concat(handle || ' @ ' || source, ', ') AS aliases,
         sum(listings) AS listings, min(first_seen) AS first_seen, max(last_seen) AS last_seen
  FROM sellers GROUP BY actor_id
), alert_counts AS (
  SELECT s.actor_id, count(*) AS alerts,
         sum(a.status IN {sql_list(ACTIVE_STATUSES)}) AS open_alerts
  FROM alerts a JOIN listings l ON l.id = a.listing_id JOIN sellers s ON s.id = l.seller_id
  GROUP BY s.actor_id
), contact_counts AS (
  SELECT s.actor_id, count(DISTINCT sc.contact_id) AS contacts
  FROM seller_contacts sc JOIN sellers s ON s.id = sc.seller_id
  GROUP BY s.actor_id
)
SELECT m.actor_id,
       (SELECT handle FROM sellers n WHERE n.actor_id = m.actor_id
        ORDER BY n.listings DESC, n.id LIMIT 1) AS name,
       m.aliases, m.sellers, m.sources, m.source_names, m.listings,
       coalesce(cc.contacts, 0) AS contacts, coalesce(ac.alerts, 0) AS alerts,
       coalesce(ac.open_alerts, 0) AS open_alerts, m.first_seen, m.last_seen
FROM members m
LEFT JOIN alert_counts ac ON ac.actor_id = m.actor_id
LEFT JOIN contact_counts cc ON cc.actor_id = m.actor_id
ORDER BY alerts DESC, m.listings DESC, m.actor_id""",
    # One row per contact a listing named: on how many sources, by how many sellers and actors
    # it was seen (the counts kept with the contact; names and actors read for each row).
    "v_actor_contacts": """
SELECT c.id AS contact_id, c.kind, c.value, c.sources,
       (SELECT group_concat(source) FROM (SELECT DISTINCT l.source FROM listing_contacts lc
        JOIN listings l ON l.id = lc.listing_id WHERE lc.contact_id = c.id)) AS source_names,
       c.sellers,
       (SELECT count(DISTINCT s.actor_id) FROM seller_contacts sc
        JOIN sellers s ON s.id = sc.seller_id WHERE sc.contact_id = c.id) AS actors,
       c.listings, c.versions, c.first_seen, c.last_seen
FROM contacts c
WHERE c.listings > 0
ORDER BY c.sources DESC, c.listings DESC, c.id""",
    # Every link between two sellers: who, why (the shared contact or cluster), since when.
    "v_seller_links": """
SELECT k.id AS link_id, a.actor_id, k.reason,
       CASE WHEN k.contact_id IS NOT NULL THEN c.kind || ':' || c.value
            ELSE 'cluster ' || k.cluster_id END AS shared,
       k.seller_id, a.handle AS seller, a.source AS seller_source,
       k.other_id, b.handle AS other, b.source AS other_source,
       k.since, k.listing_id
FROM seller_links k
JOIN sellers a ON a.id = k.seller_id
JOIN sellers b ON b.id = k.other_id
LEFT JOIN contacts c ON c.id = k.contact_id
ORDER BY k.since DESC, k.id""",
}


def create_actor_views(store: Store) -> None:
    """CREATE VIEW for each actor view, inside the caller's transaction."""
    for name, sql in ACTOR_VIEWS.items():
        store.conn.execute(f"CREATE VIEW {name} AS {sql.strip()}")
