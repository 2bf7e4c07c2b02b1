"""Sellers, contacts, the links between sellers and the actors they form (migration
`0021_actors`), and the watches on them: the tables and every write.

A seller is a (source, handle); a contact a (kind, value), a personal number only as its
keyed hash. `listing_sellers` and `listing_contacts` tie them to every version that named
them, `seller_contacts` to each other. Two sellers are linked (`seller_links`) when they share
a contact, a payment address or a near-duplicate cluster; an actor is a connected group of
linked sellers, named by the smallest seller id in it (`sellers.actor_id`, kept as groups
merge, as `listings.cluster_id` is). monitor/actors/linking.py decides; this module writes.
Reads are in monitor/store/actor_reads.py.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from monitor.store import rows
from monitor.store.base import QueryGroup

if TYPE_CHECKING:
    from monitor.actors.identities import ContactRef
    from monitor.store.connection import Store

log = logging.getLogger(__name__)

_TABLES = (
    """CREATE TABLE sellers (
  id INTEGER PRIMARY KEY,
  source TEXT NOT NULL REFERENCES sources(name),
  handle TEXT NOT NULL,
  actor_id INTEGER NOT NULL,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  listings INTEGER NOT NULL DEFAULT 0,
  versions INTEGER NOT NULL DEFAULT 0)""",
    "CREATE UNIQUE INDEX idx_sellers_source_handle ON sellers (source, handle)",
    "CREATE INDEX idx_sellers_actor_id ON sellers (actor_id)",
    """CREATE TABLE contacts (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  value TEXT NOT NULL,
  digest TEXT,
  first_seen TEXT,
  last_seen TEXT,
  listings INTEGER NOT NULL DEFAULT 0,
  versions INTEGER NOT NULL DEFAULT 0,
  sellers INTEGER NOT NULL DEFAULT 0,
  sources INTEGER NOT NULL DEFAULT 0)""",
    "CREATE UNIQUE INDEX idx_contacts_kind_key ON contacts (kind, coalesce(digest, value))",
    """CREATE TABLE seller_contacts (
  contact_id INTEGER NOT NULL REFERENCES contacts(id),
  seller_id INTEGER NOT NULL REFERENCES sellers(id),
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  listings INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (contact_id, seller_id)) WITHOUT ROWID""",
    "CREATE INDEX idx_seller_contacts_seller ON seller_contacts (seller_id)",
    """CREATE TABLE listing_sellers (
  listing_id INTEGER NOT NULL REFERENCES listings(id),
  version_id INTEGER NOT NULL REFERENCES listing_versions(id),
  seller_id INTEGER NOT NULL REFERENCES sellers(id),
  PRIMARY KEY (listing_id, version_id)) WITHOUT ROWID""",
    "CREATE INDEX idx_listing_sellers_seller ON listing_sellers (seller_id, listing_id)",
    """CREATE TABLE listing_contacts (
  listing_id INTEGER NOT NULL REFERENCES listings(id),
  version_id INTEGER NOT NULL REFERENCES listing_versions(id),
  contact_id INTEGER NOT NULL REFERENCES contacts(id),
  origin TEXT NOT NULL,
  PRIMARY KEY (listing_id, version_id, contact_id)) WITHOUT ROWID""",
    "CREATE INDEX idx_listing_contacts_contact ON listing_contacts (contact_id, listing_id)",
    """CREATE TABLE seller_links (
  id INTEGER PRIMARY KEY,
  seller_id INTEGER NOT NULL REFERENCES sellers(id),
  other_id INTEGER NOT NULL REFERENCES sellers(id),
  reason TEXT NOT NULL,
  contact_id INTEGER REFERENCES contacts(id),
  cluster_id INTEGER,
  listing_id INTEGER REFERENCES listings(id),
  since TEXT NOT NULL,
  CHECK (seller_id < other_id))""",
    "CREATE UNIQUE INDEX idx_seller_links_pair "
    "ON seller_links (seller_id, other_id, reason, ifnull(contact_id, 0))",
    "CREATE INDEX idx_seller_links_other ON seller_links (other_id)",
    """CREATE TABLE actor_watches (
  id INTEGER PRIMARY KEY,
  seller_id INTEGER REFERENCES sellers(id),
  contact_id INTEGER REFERENCES contacts(id),
  note TEXT,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  ended_by TEXT,
  ended_at TEXT,
  CHECK ((seller_id IS NULL) != (contact_id IS NULL)))""",
    "ALTER TABLE listings ADD COLUMN seller_id INTEGER REFERENCES sellers(id)",
    "CREATE INDEX idx_listings_seller_id ON listings (seller_id)",
    # (the same as migration 0023's, for a store whose 0021 comes after it)
    "CREATE INDEX IF NOT EXISTS idx_listings_cluster_sellers ON listings "
    "(cluster_id, seller_id) WHERE cluster_id IS NOT NULL AND seller_id IS NOT NULL",
)


def migrate_0021_actors(store: Store) -> None:
    """The tables, the analyst views over them, and every stored version linked as a sweep
    would have linked it (monitor/actors/backfill.py), in this migration's transaction."""
    from monitor.actors.backfill import backfill
    from monitor.store.actor_views import create_actor_views

    for statement in _TABLES:
        store.conn.execute(statement)
    create_actor_views(store)
    versions = store.conn.execute("SELECT max(id) FROM listing_versions").fetchone()[0] or 0
    if versions > 50_000:
        # A warning reaches the terminal even where logging is not set up: the wait is long.
        log.warning(
            "store %s: linking the sellers and contacts of %d stored versions, once "
            "(about 3,500 versions per second of CPU: some 6 minutes for a million listings)",
            store.path,
            versions,
        )
    backfill(store)


class ActorQueries(QueryGroup):
    """`store.actors`: writes sellers, contacts, their links and watches. They expect to
    run inside `Store.transaction()` (the sweep's, for a version being ingested)."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        # Whether any watch is open, as read in the open transaction (None: not read yet):
        # a sweep asks for each listing it links, and no one else writes meanwhile.
        self._watching: bool | None = None

    def seller_id(self, source: str, handle: str, now: str) -> int:
        """The seller (source, handle), made on first sight (its own actor)."""
        found = self.conn.execute(
            "SELECT id FROM sellers WHERE source = ? AND handle = ?", (source, handle)
        ).fetchone()
        if found:
            return int(found[0])
        cursor = self.conn.execute(
            "INSERT INTO sellers (source, handle, actor_id, first_seen, last_seen) "
            "VALUES (?, ?, 0, ?, ?)",
            (source, handle, now, now),
        )
        seller_id = rows.inserted_id(cursor)
        self.conn.execute("UPDATE sellers SET actor_id = id WHERE id = ?", (seller_id,))
        return seller_id

    def contact_id(self, ref: ContactRef, now: str | None) -> int:
        """The contact, made on first sight (`now` None: made for a watch, never seen)."""
        found = self.conn.execute(
            "SELECT id FROM contacts WHERE kind = ? AND coalesce(digest, value) = ?",
            (ref.kind, ref.key),
        ).fetchone()
        if found:
            return int(found[0])
        cursor = self.conn.execute(
            "INSERT INTO contacts (kind, value, digest, first_seen, last_seen) "
            "VALUES (?, ?, ?, ?, ?)",
            (ref.kind, ref.value, ref.digest, now, now),
        )
        return rows.inserted_id(cursor)

    def name_seller(
        self,
        listing_id: int,
        version_id: int,
        seller_id: int,
        now: str,
        counters: bool = True,
        new_listing: bool = False,
    ) -> bool:
        """This version (the listing's current one) names this seller. Returns whether the
        listing never named it before (its count of listings grows then). `counters` False:
        the seller's counts and times are left for `recount_actors`; `new_listing`: its
        first version, which names nothing before it."""
        self.conn.execute(
            "INSERT OR IGNORE INTO listing_sellers (listing_id, version_id, seller_id) "
            "VALUES (?, ?, ?)",
            (listing_id, version_id, seller_id),
        )
        # The common case, a listing that keeps its seller, costs no look-up: only a listing
        # whose seller changed can be naming this one for the first time.
        changed = self.conn.execute(
            "UPDATE listings SET seller_id = ? WHERE id = ? AND seller_id IS NOT ?",
            (seller_id, listing_id, seller_id),
        ).rowcount
        new_for_listing = bool(changed) and (
            new_listing
            or self.conn.execute(
                "SELECT 1 FROM listing_sellers WHERE seller_id = ? AND listing_id = ? "
                "AND version_id != ? LIMIT 1",
                (seller_id, listing_id, version_id),
            ).fetchone()
            is None
        )
        if counters:
            self.conn.execute(
                "UPDATE sellers SET versions = versions + 1, listings = listings + ?, "
                "first_seen = min(first_seen, ?), last_seen = max(last_seen, ?) WHERE id = ?",
                (int(new_for_listing), now, now, seller_id),
            )
        return new_for_listing

    def clear_listing_seller(self, listing_id: int) -> None:
        """The listing's current version names no seller (an anonymous post)."""
        self.conn.execute(
            "UPDATE listings SET seller_id = NULL WHERE id = ? AND seller_id IS NOT NULL",
            (listing_id,),
        )

    def listing_contact_ids(self, listing_id: int) -> set[int]:
        """The contacts any version of this listing named so far."""
        return {
            row[0]
            for row in self.conn.execute(
                "SELECT contact_id FROM listing_contacts WHERE listing_id = ?", (listing_id,)
            )
        }

    def name_contact(
        self,
        listing_id: int,
        version_id: int,
        contact_id: int,
        origin: str,
        seller_id: int | None,
        source: str,
        now: str,
        new_for_listing: bool,
        counters: bool = True,
    ) -> bool:
        """This version names this contact (by this seller, if any), which the listing named
        before or not (`new_for_listing`, from `listing_contact_ids`). Returns whether the
        seller never named it before. `counters` False: counts and times are left for
        `recount_actors`."""
        self.conn.execute(
            "INSERT OR IGNORE INTO listing_contacts (listing_id, version_id, contact_id, origin) "
            "VALUES (?, ?, ?, ?)",
            (listing_id, version_id, contact_id, origin),
        )
        new_for_seller = False
        if seller_id is not None:
            cursor = self.conn.execute(
                "INSERT OR IGNORE INTO seller_contacts (contact_id, seller_id, first_seen, "
                "last_seen, listings) VALUES (?, ?, ?, ?, ?)",
                (contact_id, seller_id, now, now, int(new_for_listing)),
            )
            new_for_seller = cursor.rowcount == 1
            if counters and not new_for_seller:
                self.conn.execute(
                    "UPDATE seller_contacts SET listings = listings + ?, "
                    "last_seen = max(last_seen, ?) WHERE contact_id = ? AND seller_id = ?",
                    (int(new_for_listing), now, contact_id, seller_id),
                )
        if counters:
            # A listing new to the contact may bring it to a source no other listing of it is on.
            new_source = new_for_listing and (
                self.conn.execute(
                    "SELECT 1 FROM listing_contacts lc JOIN listings l ON l.id = lc.listing_id "
                    "WHERE lc.contact_id = ? AND lc.listing_id != ? AND l.source = ? LIMIT 1",
                    (contact_id, listing_id, source),
                ).fetchone()
                is None
            )
            self.conn.execute(
                "UPDATE contacts SET versions = versions + 1, listings = listings + ?, "
                "sellers = sellers + ?, sources = sources + ?, "
                "first_seen = coalesce(min(first_seen, ?), ?), "
                "last_seen = coalesce(max(last_seen, ?), ?) WHERE id = ?",
                (
                    int(new_for_listing),
                    int(new_for_seller),
                    int(new_source),
                    now,
                    now,
                    now,
                    now,
                    contact_id,
                ),
            )
        return new_for_seller

    def recount_actors(self) -> None:
        """Counts, first and last seen of every seller, contact and seller-contact pair from
        the rows that tie them to versions (what a sweep keeps up one version at a time). A
        sighting's time is its version's, or the listing's last sweep for a current version."""
        sighting = (
            "CASE WHEN v.version = l.version THEN max(l.last_seen, v.seen_at) ELSE v.seen_at END"
        )
        self.conn.execute(
            "UPDATE sellers SET (listings, versions, first_seen, last_seen) = ("
            f"SELECT count(DISTINCT ls.listing_id), count(*), min(v.seen_at), max({sighting}) "
            "FROM listing_sellers ls JOIN listing_versions v ON v.id = ls.version_id "
            "JOIN listings l ON l.id = ls.listing_id WHERE ls.seller_id = sellers.id) "
            "WHERE EXISTS (SELECT 1 FROM listing_sellers WHERE seller_id = sellers.id)"
        )
        self.conn.execute(
            "UPDATE contacts SET (listings, versions, sources, first_seen, last_seen) = ("
            "SELECT count(DISTINCT lc.listing_id), count(*), count(DISTINCT l.source), "
            f"min(v.seen_at), max({sighting}) "
            "FROM listing_contacts lc JOIN listing_versions v ON v.id = lc.version_id "
            "JOIN listings l ON l.id = lc.listing_id WHERE lc.contact_id = contacts.id) "
            "WHERE EXISTS (SELECT 1 FROM listing_contacts WHERE contact_id = contacts.id)"
        )
        self.conn.execute(
            "UPDATE contacts SET sellers = (SELECT count(*) FROM seller_contacts "
            "WHERE contact_id = contacts.id)"
        )
        self.conn.execute(
            "UPDATE seller_contacts SET (listings, first_seen, last_seen) = ("
            f"SELECT count(DISTINCT lc.listing_id), min(v.seen_at), max({sighting}) "
            "FROM listing_contacts lc JOIN listing_sellers ls ON ls.listing_id = lc.listing_id "
            "AND ls.version_id = lc.version_id JOIN listing_versions v ON v.id = lc.version_id "
            "JOIN listings l ON l.id = lc.listing_id WHERE lc.contact_id = "
            "seller_contacts.contact_id AND ls.seller_id = seller_contacts.seller_id)"
        )

    def contact_sellers(self, contact_id: int, limit: int) -> list[int]:
        """Sellers that named this contact (at most `limit`), earliest first."""
        return [
            row[0]
            for row in self.conn.execute(
                "SELECT seller_id FROM seller_contacts WHERE contact_id = ? "
                "ORDER BY first_seen, seller_id LIMIT ?",
                (contact_id, limit),
            )
        ]

    def cluster_sellers(self, cluster_id: int, limit: int) -> list[int]:
        """Sellers of the listings in this near-duplicate cluster (at most `limit`)."""
        return [
            row[0]
            for row in self.conn.execute(
                "SELECT DISTINCT seller_id FROM listings WHERE cluster_id = ? "
                "AND seller_id IS NOT NULL LIMIT ?",
                (cluster_id, limit),
            )
        ]

    def link_sellers(
        self,
        a: int,
        b: int,
        reason: str,
        now: str,
        *,
        contact_id: int | None = None,
        cluster_id: int | None = None,
        listing_id: int | None = None,
    ) -> bool:
        """Link two sellers for this reason (once per reason and contact); their actors
        become one. Returns whether the link is new."""
        if a == b:
            return False
        low, high = min(a, b), max(a, b)
        cursor = self.conn.execute(
            "INSERT OR IGNORE INTO seller_links (seller_id, other_id, reason, contact_id, "
            "cluster_id, listing_id, since) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (low, high, reason, contact_id, cluster_id, listing_id, now),
        )
        self.merge_actors(low, high)
        return cursor.rowcount == 1

    def merge_actors(self, a: int, b: int) -> int:
        """The actors of sellers a and b become one, named by the smaller actor id; only
        the sellers whose actor changes are written."""
        found = dict(
            self.conn.execute("SELECT id, actor_id FROM sellers WHERE id IN (?, ?)", (a, b))
        )
        first, second = found[a], found[b]
        if first == second:
            return int(first)
        keep, gone = min(first, second), max(first, second)
        self.conn.execute("UPDATE sellers SET actor_id = ? WHERE actor_id = ?", (keep, gone))
        return int(keep)

    def actor_of(self, seller_id: int) -> int:
        return int(
            self.conn.execute("SELECT actor_id FROM sellers WHERE id = ?", (seller_id,)).fetchone()[
                0
            ]
        )

    def record_actor_sightings(self, source: str, run_id: int, now: str) -> None:
        """A sweep saw these listings again (most of them unchanged): their sellers and the
        contacts of their current versions were seen now."""
        self.conn.execute(
            "UPDATE sellers SET last_seen = ? WHERE last_seen < ? AND id IN (SELECT seller_id "
            "FROM listings WHERE source = ? AND status = 'live' AND last_run_id = ? "
            "AND seller_id IS NOT NULL)",
            (now, now, source, run_id),
        )
        self.conn.execute(
            "UPDATE contacts SET last_seen = ? WHERE last_seen < ? AND id IN ("
            "SELECT lc.contact_id FROM listings l JOIN listing_versions v "
            "ON v.listing_id = l.id AND v.version = l.version JOIN listing_contacts lc "
            "ON lc.listing_id = l.id AND lc.version_id = v.id "
            "WHERE l.source = ? AND l.status = 'live' AND l.last_run_id = ?)",
            (now, now, source, run_id),
        )

    # --- watches ---------------------------------------------------------------------------

    def add_watch(
        self,
        *,
        seller_id: int | None = None,
        contact_id: int | None = None,
        by: str,
        now: str,
        note: str | None = None,
    ) -> int:
        """Watch an actor (through one of its sellers: the watch follows the actor as it
        grows) or a contact; an open watch of the same thing is returned as it is."""
        found = self.conn.execute(
            "SELECT id FROM actor_watches WHERE seller_id IS ? AND contact_id IS ? "
            "AND ended_at IS NULL",
            (seller_id, contact_id),
        ).fetchone()
        if found:
            return int(found[0])
        self._watching = None
        cursor = self.conn.execute(
            "INSERT INTO actor_watches (seller_id, contact_id, note, created_by, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (seller_id, contact_id, note, by, now),
        )
        return rows.inserted_id(cursor)

    def end_watch(self, watch_id: int, *, by: str, now: str) -> bool:
        self._watching = None
        cursor = self.conn.execute(
            "UPDATE actor_watches SET ended_by = ?, ended_at = ? WHERE id = ? AND ended_at IS NULL",
            (by, now, watch_id),
        )
        return cursor.rowcount == 1

    def watching(self) -> bool:
        """Is any watch open? Read once a transaction (see forget_watching)."""
        if self._watching is None or not self.conn.in_transaction:
            self._watching = (
                self.conn.execute(
                    "SELECT 1 FROM actor_watches WHERE ended_at IS NULL LIMIT 1"
                ).fetchone()
                is not None
            )
        return self._watching

    def forget_watching(self) -> None:
        """The transaction ended: watches may be opened or ended now."""
        self._watching = None

    def watches_hit(self, actor_id: int | None, contact_ids: Iterable[int]) -> list[dict[str, Any]]:
        """Open watches on this actor or on any of these contacts."""
        contacts = list(contact_ids)
        if not self.watching():
            return []  # the common case: nothing is watched
        return rows.many(
            self.conn,
            "SELECT w.id, w.seller_id, w.contact_id, w.note, w.created_by FROM actor_watches w "
            "LEFT JOIN sellers s ON s.id = w.seller_id WHERE w.ended_at IS NULL AND ("
            "s.actor_id = ? OR w.contact_id IN (SELECT value FROM json_each(?))) ORDER BY w.id",
            (actor_id, _json_ids(contacts)),
        )


def _json_ids(ids: list[int]) -> str:
    import json

    return json.dumps(ids)
