"""Counters a page shows for a listing (views, replies) kept as observations over time.

A channel message's views, a thread's replies: they change every sweep without the listing
changing, so they are not versions. Each sweep writes one observation per listing whose
counters moved since the last (`listing_observations`), and keeps the latest on the listing
(`listings.views`, `listings.replies`): an analyst sees an offer spread, the store does not
grow with listings that sit still.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from monitor.store import rows
from monitor.store.base import QueryGroup

if TYPE_CHECKING:
    from monitor.store.connection import Store

# The counters kept, in the order observations hold them.
COUNTERS = ("views", "replies")

# Of the listings seen (JSON [[id, views, replies], ...]), those whose counters moved. A counter
# the page did not show (null) is no observation and leaves the last one standing.
_MOVED = (
    "SELECT l.id AS listing_id, seen.value ->> 1 AS views, seen.value ->> 2 AS replies "
    "FROM json_each(?) AS seen CROSS JOIN listings AS l ON l.id = seen.value ->> 0 "
    "WHERE (seen.value ->> 1 IS NOT NULL AND seen.value ->> 1 IS NOT l.views) "
    "OR (seen.value ->> 2 IS NOT NULL AND seen.value ->> 2 IS NOT l.replies)"
)


def migrate_0017_observations(store: Store) -> None:
    """Counters over time, the latest counters on the listing, a listing's `extra`, and the
    indexes that tie forwarded messages to their origin."""
    db = store.db
    db.table("listings").add_column("views", int)
    db.table("listings").add_column("replies", int)
    db.table("listings").add_column(
        "extra", str
    )  # JSON: the spider's extra fields (docs/schema.md)
    db.table("listing_versions").add_column("extra", str)
    db.table("listing_observations").create(
        {
            "id": int,
            "listing_id": int,
            "run_id": int,
            "seen_at": str,
            "views": int,
            "replies": int,
        },
        pk="id",
        foreign_keys=[("listing_id", "listings", "id"), ("run_id", "runs", "id")],
        not_null={"listing_id", "seen_at"},
    )
    db.table("listing_observations").create_index(["listing_id", "seen_at"])
    from monitor.store.forwards import forward_indexes

    forward_indexes(store)


class ObservationQueries(QueryGroup):
    """`store.observations`: the queries for `listing_observations`."""

    def record(self, seen: list[tuple[int, int | None, int | None]], run_id: int, now: str) -> int:
        """Keep (listing id, views, replies) as seen by a sweep: an observation for each
        listing whose counters moved, the listing's latest counters updated. Two statements
        for a whole batch, inside the caller's transaction. Returns the observations made."""
        if not seen:
            return 0
        payload = json.dumps(seen)
        moved = self.conn.execute(
            "INSERT INTO listing_observations (listing_id, run_id, seen_at, views, replies) "
            f"SELECT listing_id, ?, ?, views, replies FROM ({_MOVED})",
            (run_id, now, payload),
        ).rowcount
        if moved:
            self.conn.execute(
                "UPDATE listings SET views = COALESCE(moved.views, listings.views), "
                "replies = COALESCE(moved.replies, listings.replies) "
                f"FROM ({_MOVED}) AS moved WHERE listings.id = moved.listing_id",
                (payload,),
            )
        return int(moved)

    def of_listing(self, listing_id: int) -> list[dict[str, Any]]:
        """A listing's counters as they moved, oldest first."""
        return rows.many(
            self.conn,
            "SELECT seen_at, run_id, views, replies FROM listing_observations "
            "WHERE listing_id = ? ORDER BY seen_at, id",
            (listing_id,),
        )
