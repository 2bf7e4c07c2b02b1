"""Near-duplicate clusters: MinHash signatures and their LSH bands (see monitor/alerting/reposts.py)."""

from __future__ import annotations

import json
import logging
import sqlite3
from array import array
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from monitor.store import rows
from monitor.store.base import QueryGroup
from monitor.store.ranks import sql_list
from monitor.vocabulary import UNDECIDED_STATUSES

if TYPE_CHECKING:
    from monitor.alerting.reposts import BandFilter
    from monitor.store.connection import Store

log = logging.getLogger(__name__)


def migrate_0005_clusters(store: Store) -> None:
    db = store.db
    db.table("listing_signatures").create(
        {"listing_id": int, "version_id": int, "signature": bytes},
        pk="listing_id",
        foreign_keys=[("listing_id", "listings", "id"), ("version_id", "listing_versions", "id")],
    )
    db.table("lsh_bands").create(
        {"band": int, "key": int, "listing_id": int},
        foreign_keys=[("listing_id", "listings", "id")],
    )
    db.table("lsh_bands").create_index(["band", "key"])
    db.table("lsh_bands").create_index(["listing_id"])
    db.table("listings").create_index(["cluster_id"], if_not_exists=True)


def migrate_0010_compact_bands(store: Store) -> None:
    """`lsh_bands` as one B-tree: a WITHOUT ROWID table keyed (band, key, listing_id) instead
    of a rowid table with two indexes, about a third of the size. A listing's old bands are
    deleted by their keys, which its saved signature gives, so no index on listing_id."""
    conn = store.conn
    count = conn.execute("SELECT count(*) FROM lsh_bands").fetchone()[0]
    if count > 1_000_000:
        log.warning("store %s: rewriting %d LSH band rows, once", store.path, count)
    conn.execute(
        "CREATE TABLE lsh_bands_compact (band INTEGER NOT NULL, key INTEGER NOT NULL, "
        "listing_id INTEGER NOT NULL REFERENCES listings(id), "
        "PRIMARY KEY (band, key, listing_id)) WITHOUT ROWID"
    )
    conn.execute(
        "INSERT OR IGNORE INTO lsh_bands_compact (band, key, listing_id) "
        "SELECT band, key, listing_id FROM lsh_bands ORDER BY band, key, listing_id"
    )
    conn.execute("DROP TABLE lsh_bands")
    conn.execute("ALTER TABLE lsh_bands_compact RENAME TO lsh_bands")


def migrate_0024_recent_bands(store: Store) -> None:
    """`lsh_bands_recent`: the LSH bands of the listings signed since the last fold, in a
    small table of their own, moved into `lsh_bands` in key order once it holds
    RECENT_BANDS_LIMIT rows (`fold_recent_bands`). A listing's 16 band keys land on 16
    random pages of `lsh_bands` (one in ten of its pages written for each 1,000 new listings
    at 1M listings); in the small table they land on few, and the fold writes the big one
    in one ordered pass."""
    store.conn.execute(
        "CREATE TABLE lsh_bands_recent (band INTEGER NOT NULL, key INTEGER NOT NULL, "
        "listing_id INTEGER NOT NULL REFERENCES listings(id))"
    )
    store.conn.execute(
        "CREATE UNIQUE INDEX idx_lsh_bands_recent_key ON lsh_bands_recent (band, key, listing_id)"
    )


def migrate_0025_band_filter(store: Store) -> None:
    """`lsh_band_filter`: a Bloom filter of the keys `lsh_bands` holds (one row; see
    monitor/alerting/reposts.py BandFilter), so a new listing's keys that no stored listing
    has skip their look-up in the big table. Only a fold writes `lsh_bands`, and it extends
    the filter (or rebuilds it larger) in the same transaction. A store whose `lsh_bands`
    already has rows gets its filter at the next fold; until then every key is looked up."""
    from monitor.alerting.reposts import BandFilter

    store.conn.execute(
        # `bits` last: a column after a blob of many pages is read by walking all of them.
        "CREATE TABLE lsh_band_filter (id INTEGER PRIMARY KEY CHECK (id = 1), "
        "capacity INTEGER NOT NULL, keys INTEGER NOT NULL, bits BLOB NOT NULL)"
    )
    if store.conn.execute("SELECT 1 FROM lsh_bands LIMIT 1").fetchone() is None:
        empty = BandFilter.sized_for(0)
        store.conn.execute(
            "INSERT INTO lsh_band_filter (id, capacity, keys, bits) VALUES (1, ?, 0, ?)",
            (empty.capacity, empty.to_bytes()),
        )


def migrate_0020_dismissed_twins(store: Store) -> None:
    """`alerts.dismissed_twin_of`: the dismissed alert whose listing is a near-duplicate (same
    cluster) of this alert's listing, so the queue can show "the team dismissed its twin"."""
    store.db.table("alerts").add_column("dismissed_twin_of", int)


def migrate_0023_cluster_sellers(store: Store) -> None:
    """The sellers of each near-duplicate cluster as an index of their own: linking a new copy
    of a formulaic offer reads its cluster's sellers from it, not from thousands of rows.
    (A store that gains `seller_id` only later, in 0021, gets the index there.)"""
    columns = {row[1] for row in store.conn.execute("PRAGMA table_info(listings)")}
    if "seller_id" in columns:
        store.conn.execute(CLUSTER_SELLERS_INDEX)


CLUSTER_SELLERS_INDEX = (
    "CREATE INDEX IF NOT EXISTS idx_listings_cluster_sellers ON listings "
    "(cluster_id, seller_id) WHERE cluster_id IS NOT NULL AND seller_id IS NOT NULL"
)


# A band shared by many listings is a formulaic offer copied again and again: its copies
# are one cluster already (each was linked when it came), so the newest few of each band
# link a new copy to it as well as all of them would, at a cost that does not grow with it.
CANDIDATES_PER_BAND = 8
# Band rows `lsh_bands_recent` gathers before a sweep's close folds them into `lsh_bands`
# (about 31,000 listings' bands; a fold of this many into the 1M-listing store's 16M rows
# takes a few seconds of one sweep's close).
RECENT_BANDS_LIMIT = 500_000
_BAND_TABLES = ("lsh_bands", "lsh_bands_recent")

_UNDECIDED = sql_list(UNDECIDED_STATUSES)
_PREFETCH_CHUNK = 20_000  # band pairs per statement
FILTER_READ_BYTES_PER_KEY = 65536  # see prefetch_bands


class ClusterQueries(QueryGroup):
    """`store.clusters`: the queries for `listing_signatures`, `lsh_bands` (and
    `lsh_bands_recent`) and `listings.cluster_id`."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        # The newest listings of each LSH band read in the open transaction (prefetch_bands).
        self._newest: dict[tuple[int, int], list[int]] | None = None
        self._per_band = CANDIDATES_PER_BAND

    def mark_dismissed_twins(self, listing_id: int) -> int:
        """Mark the undecided alerts of `listing_id` as twins of the latest dismissed alert on
        another listing of its cluster; returns how many were marked."""
        row = self.conn.execute(
            "SELECT a.id FROM listings l "
            "JOIN listings other ON other.cluster_id = l.cluster_id AND other.id != l.id "
            "JOIN alerts a ON a.listing_id = other.id AND a.status = 'dismissed' "
            "WHERE l.id = ? AND l.cluster_id IS NOT NULL ORDER BY a.updated_at DESC, a.id DESC "
            "LIMIT 1",
            (listing_id,),
        ).fetchone()
        if row is None:
            return 0
        cursor = self.conn.execute(
            f"UPDATE alerts SET dismissed_twin_of = ? WHERE listing_id = ? "
            f"AND status IN {_UNDECIDED} AND dismissed_twin_of IS NULL",
            (row[0], listing_id),
        )
        return cursor.rowcount

    def mark_twins_of_dismissed(self, alert_id: int) -> int:
        """After alert `alert_id` was dismissed: mark the undecided alerts of the other
        listings of its listing's cluster; returns how many were marked."""
        cursor = self.conn.execute(
            f"UPDATE alerts SET dismissed_twin_of = ? WHERE status IN {_UNDECIDED} "
            "AND dismissed_twin_of IS NULL AND listing_id IN ("
            "SELECT other.id FROM alerts a JOIN listings l ON l.id = a.listing_id "
            "JOIN listings other ON other.cluster_id = l.cluster_id AND other.id != l.id "
            "WHERE a.id = ? AND l.cluster_id IS NOT NULL)",
            (alert_id, alert_id),
        )
        return cursor.rowcount

    def save_signature(
        self,
        listing_id: int,
        version_id: int,
        blob: bytes,
        bands: list[tuple[int, int]],
        old_bands: Iterable[tuple[int, int]] = (),
    ) -> None:
        """Save a listing's signature and its LSH bands in place of `old_bands` (those of the
        signature saved before, if any)."""
        old_bands = list(old_bands)
        self.conn.execute(
            "INSERT OR REPLACE INTO listing_signatures (listing_id, version_id, signature) "
            "VALUES (?, ?, ?)",
            (listing_id, version_id, blob),
        )
        if old_bands:
            for table in _BAND_TABLES:  # folded or not yet
                self.conn.executemany(
                    f"DELETE FROM {table} WHERE band = ? AND key = ? AND listing_id = ?",
                    [(band, key, listing_id) for band, key in old_bands],
                )
        # Into the small table: see migrate_0024_recent_bands.
        self.conn.executemany(
            "INSERT OR IGNORE INTO lsh_bands_recent (band, key, listing_id) VALUES (?, ?, ?)",
            [(band, key, listing_id) for band, key in bands],
        )
        newest = self._newest
        if newest is not None:
            for pair in old_bands:  # the next listing of that band is not in memory
                if listing_id in newest.get(pair, ()):
                    del newest[pair]
            for pair in bands:
                ids = newest.get(pair)
                if ids is not None and listing_id not in ids:
                    ids.append(listing_id)
                    ids.sort(reverse=True)
                    del ids[self._per_band :]

    def saved_signature_and_text(
        self, listing_id: int
    ) -> tuple[bytes, str | None, str | None] | None:
        """The signature this listing was last linked with, and the title and text of the
        version it was made from; None if it has none."""
        row = self.conn.execute(
            "SELECT s.signature, v.title, v.text FROM listing_signatures s "
            "JOIN listing_versions v ON v.id = s.version_id WHERE s.listing_id = ?",
            (listing_id,),
        ).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def prefetch_bands(
        self, bands: Iterable[tuple[int, int]], per_band: int = CANDIDATES_PER_BAND
    ) -> None:
        """Read the newest `per_band` listings of each of these LSH bands (one statement for
        each band table), and keep them for the rest of the open transaction: a sweep's batch
        looks up the bands of all its listings at once instead of one query per listing.
        Bands written in the transaction (`save_signature`) are kept current in memory."""
        newest = self._newest
        if newest is None or per_band != self._per_band:
            newest = self._newest = {}
            self._per_band = per_band
        wanted = sorted({pair for pair in bands if pair not in newest})
        for pair in wanted:
            newest[pair] = []
        # Keys the filter says `lsh_bands` does not hold are looked up in the small table only.
        # Opening the filter costs about what looking up a key for each 64 KB of it does (1M
        # listings: 32 MB, 500 keys), so a batch with fewer keys looks them all up.
        band_filter = self.band_filter() if wanted else None
        folded = wanted
        if band_filter is not None and len(wanted) * FILTER_READ_BYTES_PER_KEY >= band_filter.size:
            held = band_filter.maybe_held([key for _, key in wanted])
            folded = [pair for pair, maybe in zip(wanted, held, strict=True) if maybe]
        for table, pairs in (("lsh_bands", folded), ("lsh_bands_recent", wanted)):
            for start in range(0, len(pairs), _PREFETCH_CHUNK):
                chunk = json.dumps(pairs[start : start + _PREFETCH_CHUNK])
                # Each band's key read backwards from its top: the listings at or above its
                # `per_band`-th newest, however many listings share it.
                for band, key, listing_id in self.conn.execute(
                    "SELECT p.band, p.key, b.listing_id FROM (SELECT value ->> 0 AS band, "
                    "value ->> 1 AS key FROM json_each(?)) AS p "
                    f"CROSS JOIN {table} AS b ON b.band = p.band AND b.key = p.key "
                    "AND b.listing_id >= coalesce((SELECT listing_id FROM "
                    f"{table} WHERE band = p.band AND key = p.key ORDER BY listing_id DESC "
                    "LIMIT 1 OFFSET ?), 0)",
                    (chunk, per_band - 1),
                ):
                    newest[(band, key)].append(listing_id)
        for pair in wanted:
            ids = newest[pair]
            if len(ids) > 1:
                # The newest of both tables (a listing is in one of them: see fold).
                ids[:] = sorted(set(ids), reverse=True)[:per_band]

    def recent_bands_held(self) -> int:
        """About how many rows `lsh_bands_recent` holds (at least as many as it does)."""
        found = self.conn.execute("SELECT coalesce(max(rowid), 0) FROM lsh_bands_recent")
        return int(found.fetchone()[0])

    def fold_recent_bands(self, limit: int = 0) -> int:
        """Move the rows of `lsh_bands_recent` into `lsh_bands` in key order, if it holds more
        than `limit`; returns how many moved. Its own transaction (not inside another)."""
        if self.recent_bands_held() <= limit:
            return 0
        # Every row was checked against `listings` when it was written, and listings are
        # never deleted: checking again would read a random listing page for each row (four
        # times the fold's time). The pragma is a no-op inside a transaction, so it is set
        # around this one.
        self.conn.execute("PRAGMA foreign_keys = OFF")
        try:
            with self.store.transaction():
                # The keys moved, for the filter (8 bytes each, not a Python int each).
                keys = array(
                    "q", (key for (key,) in self.conn.execute("SELECT key FROM lsh_bands_recent"))
                )
                moved = self.conn.execute(
                    "INSERT OR IGNORE INTO lsh_bands (band, key, listing_id) SELECT band, key, "
                    "listing_id FROM lsh_bands_recent ORDER BY band, key, listing_id"
                ).rowcount
                self.conn.execute("DELETE FROM lsh_bands_recent")
                self._extend_band_filter(keys)
        finally:
            self.conn.execute("PRAGMA foreign_keys = ON")
        self._newest = None
        return int(moved)

    def rebuild_band_filter(self, capacity: int | None = None) -> int:
        """Make the filter of `lsh_bands`' keys anew from the table (sized for `capacity`
        keys, default twice those it holds); returns how many keys it holds. In the caller's
        transaction; a fold calls it when the filter is full or missing."""
        from monitor.alerting.reposts import BandFilter

        held = int(self.conn.execute("SELECT count(*) FROM lsh_bands").fetchone()[0])
        band_filter = BandFilter.sized_for(max(capacity or 0, 2 * held))
        cursor = self.conn.execute("SELECT key FROM lsh_bands")
        while chunk := cursor.fetchmany(100_000):
            band_filter.add(key for (key,) in chunk)
        self._save_band_filter(band_filter, held)
        return held

    def _extend_band_filter(self, keys: array[int]) -> None:
        """Add keys just folded into `lsh_bands` to its filter; rebuild it when it has no room
        (or there is none: a store that had bands before the filter)."""
        from monitor.alerting.reposts import BandFilter

        row = self.conn.execute(
            "SELECT bits, capacity, keys FROM lsh_band_filter WHERE id = 1"
        ).fetchone()
        if row is None or row[2] + len(keys) > row[1]:
            held = self.rebuild_band_filter()
            log.info("near-duplicate band filter rebuilt for %d keys", held)
            return
        held = row[2] + len(keys)
        band_filter = BandFilter(bytearray(row[0]), row[1])
        del row  # the blob as read: only its copy is needed
        band_filter.add(keys)
        self._save_band_filter(band_filter, held)

    def _save_band_filter(self, band_filter: BandFilter, keys: int) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO lsh_band_filter (id, capacity, keys, bits) VALUES (1, ?, ?, ?)",
            (band_filter.capacity, keys, band_filter.buffer()),
        )

    def band_filter(self) -> BandFilter | None:
        """The filter of `lsh_bands`' keys (None: there is none, every key is looked up). It
        reads from the store the blocks of the keys it is asked about."""
        from monitor.alerting.reposts import BandFilter

        try:
            row = self.conn.execute("SELECT capacity FROM lsh_band_filter WHERE id = 1").fetchone()
        except sqlite3.OperationalError:  # a read-only store older than migration 0025
            row = None
        if row is None:
            return None
        return BandFilter(b"", row[0], reader=self._filter_blocks)

    def _filter_blocks(self, blocks: list[int]) -> bytes:
        """These 64-byte blocks of the band filter, one after another. Opening the blob walks
        its chain of pages once (about 1 ms for 8 MB); each block is then one page's read."""
        from monitor.alerting.reposts import FILTER_BLOCK

        parts = []
        with self.conn.blobopen("lsh_band_filter", "bits", 1, readonly=True) as blob:
            for block in blocks:
                blob.seek(block * FILTER_BLOCK)
                parts.append(blob.read(FILTER_BLOCK))
        return b"".join(parts)

    def forget_bands(self) -> None:
        """The transaction ended: what `prefetch_bands` read may change now."""
        self._newest = None

    def signature_candidates(
        self, listing_id: int, bands: list[tuple[int, int]], per_band: int = CANDIDATES_PER_BAND
    ) -> list[dict[str, Any]]:
        """Live matched listings sharing an LSH band with these bands, with their signature:
        the newest `per_band` of each band, so the lookup costs the same in a store of a
        million listings as in a small one. Bands not prefetched are read here."""
        self.prefetch_bands(bands, per_band)
        assert self._newest is not None
        ids = sorted({i for pair in bands for i in self._newest[pair][:per_band]} - {listing_id})
        if not self.conn.in_transaction:  # nothing keeps them current outside a transaction
            self.forget_bands()
        if not ids:
            return []
        return rows.many(
            self.conn,
            "SELECT l.id, l.source, l.seller, l.cluster_id, l.categories, l.title, s.signature "
            "FROM listings l JOIN listing_signatures s ON s.listing_id = l.id "
            "WHERE l.id IN (SELECT value FROM json_each(?)) AND l.status = 'live' "
            "AND l.matched = 1 ORDER BY l.id",
            (json.dumps(ids),),
        )

    def join_cluster(
        self, listing_ids: list[int], cluster_ids: list[int], clustered: Iterable[int] = ()
    ) -> int:
        """Put these listings, and every member of these clusters, in one cluster.
        `clustered`: those of the listings known to be in one of `cluster_ids` already (the
        clusters' own update moves them), so they are not written one by one."""
        cluster = min([*listing_ids, *cluster_ids])
        # Only rows whose cluster changes are written: joining a big cluster stays cheap.
        others = sorted(set(cluster_ids) - {cluster})
        if others:
            marks = ", ".join("?" * len(others))
            self.conn.execute(
                f"UPDATE listings SET cluster_id = ? WHERE cluster_id IN ({marks})",
                (cluster, *others),
            )
        self.conn.executemany(
            "UPDATE listings SET cluster_id = ? WHERE id = ? AND cluster_id IS NOT ?",
            [(cluster, m, cluster) for m in sorted(set(listing_ids) - set(clustered))],
        )
        return cluster
