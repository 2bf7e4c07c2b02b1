"""Near-duplicate clusters: MinHash signatures and their LSH bands (see monitor/alerting/reposts.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from monitor.store import rows
from monitor.store.base import QueryGroup
from monitor.store.ranks import sql_list
from monitor.vocabulary import UNDECIDED_STATUSES

if TYPE_CHECKING:
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


def migrate_0020_dismissed_twins(store: Store) -> None:
    """`alerts.dismissed_twin_of`: the dismissed alert whose listing is a near-duplicate (same
    cluster) of this alert's listing, so the queue can show "the team dismissed its twin"."""
    store.db.table("alerts").add_column("dismissed_twin_of", int)


_UNDECIDED = sql_list(UNDECIDED_STATUSES)


class ClusterQueries(QueryGroup):
    """`store.clusters`: the queries for `listing_signatures`, `lsh_bands` and `listings.cluster_id`."""

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
        self.conn.execute(
            "INSERT OR REPLACE INTO listing_signatures (listing_id, version_id, signature) "
            "VALUES (?, ?, ?)",
            (listing_id, version_id, blob),
        )
        self.conn.executemany(
            "DELETE FROM lsh_bands WHERE band = ? AND key = ? AND listing_id = ?",
            [(band, key, listing_id) for band, key in old_bands],
        )
        self.conn.executemany(
            "INSERT OR IGNORE INTO lsh_bands (band, key, listing_id) VALUES (?, ?, ?)",
            [(band, key, listing_id) for band, key in bands],
        )

    def saved_signature(self, listing_id: int) -> bytes | None:
        """The signature this listing was last linked with, if any."""
        row = self.conn.execute(
            "SELECT signature FROM listing_signatures WHERE listing_id = ?", (listing_id,)
        ).fetchone()
        return row[0] if row else None

    def signature_candidates(
        self, listing_id: int, bands: list[tuple[int, int]]
    ) -> list[dict[str, Any]]:
        """Live matched listings sharing an LSH band with these bands, with their signature."""
        where = " OR ".join("(b.band = ? AND b.key = ?)" for _ in bands)
        params = [value for pair in bands for value in pair]
        return rows.many(
            self.conn,
            "SELECT l.id, l.source, l.seller, l.cluster_id, l.categories, l.title, s.signature "
            "FROM listings l JOIN listing_signatures s ON s.listing_id = l.id "
            f"WHERE l.id IN (SELECT DISTINCT b.listing_id FROM lsh_bands b WHERE {where}) "
            "AND l.id != ? AND l.status = 'live' AND l.matched = 1",
            (*params, listing_id),
        )

    def join_cluster(self, listing_ids: list[int], cluster_ids: list[int]) -> int:
        """Put these listings, and every member of these clusters, in one cluster."""
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
            [(cluster, m, cluster) for m in set(listing_ids)],
        )
        return cluster
