"""Listing ids handed out in blocks per source, so one source's listings sit together on disk.

`listings` is a rowid table: rows are stored in id order. With one global counter, a source's
listings end up scattered across the whole table (every other source's new listings are
interleaved), and a sweep that touches 10,000 of them dirties almost as many pages. Giving each
source runs of consecutive ids keeps its rows, and their index entries, on few pages, which is
what makes the hot path of a sweep (unchanged listings: `last_seen` only) cheap on a big store.

Blocks start small and double while the source keeps growing (256 ids, then 512, ... up to
65,536), so a small source wastes few ids and a big one needs few blocks. Ids stay plain
integers and keep their meaning everywhere else; only their order says "same source".
Allocation happens inside the caller's write transaction, so concurrent writers never share a
block.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.store.base import QueryGroup

if TYPE_CHECKING:
    from monitor.store.connection import Store

FIRST_BLOCK = 256
LARGEST_BLOCK = 65_536


def next_block_size(previous: int | None) -> int:
    """The size of a source's next block of ids, given the size of its last one."""
    if not previous:
        return FIRST_BLOCK
    return min(LARGEST_BLOCK, previous * 2)


def migrate_0007_sweep_layout(store: Store) -> None:
    """Each source remembers its current block of ids: the next id to give and where it ends.

    And the columns a sweep sets on every unchanged listing (`last_seen`, `last_run_id`) leave
    the indexes, so seeing a listing again rewrites its row and nothing else: removals find a
    source's unseen listings through (source, status), and `last_seen` is read through other
    filters (seller, cluster, search) or by a scan."""
    db = store.db
    for column in ("listing_id_next", "listing_id_end", "listing_id_block"):
        db.table("sources").add_column(column, int)
    store.conn.execute("DROP INDEX IF EXISTS idx_listings_last_seen")
    store.conn.execute("DROP INDEX IF EXISTS idx_listings_source_status_last_run_id")
    db.table("listings").create_index(["source", "status"], if_not_exists=True)


class ListingIdQueries(QueryGroup):
    """`store.listing_ids`: hands out listing ids."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        # The open transaction's blocks (source -> [next, end, size]); where each one's next id
        # stands is written once, before commit (`write_pending`), not once per listing.
        self._blocks: dict[str, list[int]] = {}

    def next_id(self, source: str) -> int:
        """A fresh listing id for `source`, from its current block or a new one."""
        conn = self.conn
        in_transaction = conn.in_transaction
        block = self._blocks.get(source) if in_transaction else None
        if block is None:
            row = conn.execute(
                "SELECT listing_id_next, listing_id_end, listing_id_block FROM sources "
                "WHERE name = ?",
                (source,),
            ).fetchone()
            block = list(row) if row else [None, None, None]  # type: ignore[list-item]
        following, end, size = block
        if following is None or end is None or following >= end:
            # A new block past every id in use and every block already handed out, written
            # at once so every later allocation knows it.
            top = conn.execute(
                "SELECT max(coalesce((SELECT max(id) FROM listings), 0), "
                "coalesce((SELECT max(listing_id_end) - 1 FROM sources), 0))"
            ).fetchone()[0]
            size = next_block_size(size)
            following, end = top + 1, top + 1 + size
            conn.execute(
                "UPDATE sources SET listing_id_next = ?, listing_id_end = ?, "
                "listing_id_block = ? WHERE name = ?",
                (following + 1, end, size, source),
            )
        elif not in_transaction:
            conn.execute(
                "UPDATE sources SET listing_id_next = ? WHERE name = ?", (following + 1, source)
            )
        if in_transaction:  # where the block stands is written before commit
            self._blocks[source] = [following + 1, end, size]
        return int(following)

    def write_pending(self) -> None:
        """Record how far this transaction's blocks were used (called before COMMIT)."""
        blocks, self._blocks = self._blocks, {}
        if blocks:
            self.conn.executemany(
                "UPDATE sources SET listing_id_next = ? WHERE name = ?",
                [(block[0], source) for source, block in blocks.items()],
            )

    def drop_pending(self) -> None:
        """The transaction rolled back: so did the ids it handed out."""
        self._blocks = {}
