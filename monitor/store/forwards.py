"""Forwarded messages: a channel message that says where it was forwarded from (its
`extra.forwarded_from.url`, a t.me message link) is tied to that message when heishi watches
its channel too, in both directions. This is how an offer moves between channels: the
related listings of either show the other, and a matched forward is a repost of its origin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from monitor.store import rows
from monitor.store.base import QueryGroup

if TYPE_CHECKING:
    from monitor.store.connection import Store

_FORWARD_URL = "json_extract(extra, '$.forwarded_from.url')"
_COLUMNS = (
    "SELECT l.id, l.source, l.site_id, l.title, l.seller, l.price_text, l.volume_text, "
    "l.status, l.last_seen, l.contacts, l.cluster_id, "
    "(SELECT MAX(a.id) FROM alerts a WHERE a.listing_id = l.id) AS alert_id FROM listings l "
)


def forward_indexes(store: Store) -> None:
    """Both lookups by index, each over the few listings it concerns (partial indexes)."""
    conn = store.conn
    conn.execute(
        "CREATE INDEX IF NOT EXISTS idx_listings_message_url ON listings (url) "
        "WHERE url LIKE 'https://t.me/%'"
    )
    conn.execute(
        f"CREATE INDEX IF NOT EXISTS idx_listings_forwarded_from ON listings ({_FORWARD_URL}) "
        f"WHERE extra IS NOT NULL AND {_FORWARD_URL} IS NOT NULL"
    )


class ForwardQueries(QueryGroup):
    """`store.forwards`: the queries for forwarded messages."""

    def links(self, listing_id: int) -> list[dict[str, Any]]:
        """The message `listing_id` was forwarded from, and the messages forwarded from it,
        each with a `direction` (`from` or `to`) and its latest alert."""
        this = self.store.listings.get(listing_id)
        if this is None:
            return []
        found: list[dict[str, Any]] = []
        origin = rows.one(
            self.conn, f"SELECT {_FORWARD_URL} AS url FROM listings WHERE id = ?", (listing_id,)
        )
        if origin and origin["url"] and str(origin["url"]).startswith("https://t.me/"):
            for row in rows.many(
                self.conn,
                f"{_COLUMNS} WHERE l.url = ? AND l.url LIKE 'https://t.me/%' AND l.id != ?",
                (origin["url"], listing_id),
            ):
                found.append({**row, "direction": "from"})
        url = this.get("url") or ""
        if url.startswith("https://t.me/"):
            for row in rows.many(
                self.conn,
                f"{_COLUMNS} WHERE l.extra IS NOT NULL AND json_extract(l.extra, "
                "'$.forwarded_from.url') IS NOT NULL AND json_extract(l.extra, "
                "'$.forwarded_from.url') = ? AND l.id != ?",
                (url, listing_id),
            ):
                found.append({**row, "direction": "to"})
        return found
