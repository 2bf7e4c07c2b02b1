"""`pii_keys`: which keys hashed the personal numbers in `pii_hashes`.

A number is found again only with the key that hashed it (monitor/privacy/pii.py). The store keeps
each key's fingerprint (monitor.privacy.pii.key_fingerprint, which names a key without revealing it),
so `heishi lookup` with another key file is refused with a clear message instead of finding
nothing, and says so when numbers were hashed under more than one key.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import TYPE_CHECKING

from monitor.store.base import QueryGroup

if TYPE_CHECKING:
    from monitor.store.connection import Store


def migrate_0012_pii_keys(store: Store) -> None:
    """The table. A store that already holds hashes got them under a key it never learned:
    one row with a NULL fingerprint says so, and look-ups there are told the store cannot
    check their key (not refused)."""
    store.conn.execute("CREATE TABLE pii_keys (fingerprint TEXT UNIQUE, first_seen TEXT NOT NULL)")
    if store.conn.execute("SELECT 1 FROM pii_hashes LIMIT 1").fetchone() is not None:
        store.conn.execute(
            "INSERT INTO pii_keys (fingerprint, first_seen) VALUES (NULL, coalesce("
            "(SELECT min(seen_at) FROM listing_versions), strftime('%Y-%m-%dT%H:%M:%SZ')))"
        )


class PiiKeyQueries(QueryGroup):
    """`store.pii_keys`: the queries for `pii_keys`."""

    def record(self, fingerprints: Iterable[str], now: str) -> None:
        """Remember the keys that hashed numbers stored here (in the caller's transaction)."""
        self.conn.executemany(
            "INSERT OR IGNORE INTO pii_keys (fingerprint, first_seen) VALUES (?, ?)",
            [(fingerprint, now) for fingerprint in fingerprints],
        )

    def fingerprints(self) -> list[str | None] | None:
        """Fingerprints of the keys that hashed this store's numbers, oldest first (None in
        the list: hashes made before keys were recorded); None when the store predates the
        table and is open read-only."""
        try:
            found = self.conn.execute("SELECT fingerprint FROM pii_keys ORDER BY first_seen")
        except sqlite3.OperationalError:
            return None
        return [row[0] for row in found]
