"""Linking the versions a store already holds, as sweeps would have linked them: every
version in the order it was written, each at the time it was seen, through the same code a
sweep runs (monitor/actors/linking.py). Migration `0021_actors` runs it once, inside its own
transaction (a crash leaves the store as it was, and the next open starts again);
`heishi actors --rebuild` runs it again from empty tables.

Links through near-duplicate clusters use each listing's cluster as it is now (a store
keeps no history of clusters). No alert is raised: watches begin after it.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from monitor.actors.linking import link_version
from monitor.store import rows

if TYPE_CHECKING:
    from monitor.store.connection import Store

log = logging.getLogger(__name__)

BATCH = 5_000
ACTOR_TABLES = (
    "seller_links",
    "listing_contacts",
    "listing_sellers",
    "seller_contacts",
    "contacts",
    "sellers",
)


def backfill(store: Store, *, progress: bool = False) -> int:
    """Link every stored version; returns how many. In the caller's transaction."""
    conn = store.conn
    last = 0
    done = 0
    started = time.monotonic()
    ids: dict[tuple[Any, ...], int] = {}  # seller and contact ids by key, for this transaction
    while True:
        batch = rows.many(
            conn,
            "SELECT v.id, v.listing_id, v.version, l.source, l.cluster_id, v.seller, v.contacts, "
            "v.title, v.text, v.url, v.extra, v.seen_at FROM listing_versions v "
            "JOIN listings l ON l.id = v.listing_id WHERE v.id > ? ORDER BY v.id LIMIT ?",
            (last, BATCH),
        )
        if not batch:
            break
        phones = _phone_hits(store, {v["listing_id"] for v in batch})
        for version in batch:
            link_version(
                store,
                listing_id=version["listing_id"],
                version_id=version["id"],
                source=version["source"],
                state=version,
                pii=phones.get(version["id"], ()),
                now=version["seen_at"] or "",
                new_listing=version["version"] == 1,
                ids=ids,
                counters=False,
            )
        last = batch[-1]["id"]
        done += len(batch)
        if progress and done % (BATCH * 20) == 0:
            log.warning("linked %d versions (%.0f/s)", done, done / (time.monotonic() - started))
    store.actors.recount_actors()
    return done


def rebuild(store: Store) -> int:
    """Empty the actor tables (watches are kept: they name sellers and contacts by id, which
    the same versions give back) and link every version again, in one transaction."""
    with store.transaction():
        watched_sellers = rows.many(
            store.conn,
            "SELECT w.id, s.source, s.handle FROM actor_watches w "
            "JOIN sellers s ON s.id = w.seller_id",
        )
        watched_contacts = rows.many(
            store.conn,
            "SELECT w.id, c.kind, c.value, c.digest FROM actor_watches w "
            "JOIN contacts c ON c.id = w.contact_id",
        )
        # Watches point at rows deleted here until they are restored below: checked at commit.
        store.conn.execute("PRAGMA defer_foreign_keys = ON")
        store.conn.execute("UPDATE listings SET seller_id = NULL WHERE seller_id IS NOT NULL")
        for table in ACTOR_TABLES:
            store.conn.execute(f"DELETE FROM {table}")
        count = backfill(store)
        _restore_watches(store, watched_sellers, watched_contacts)
    return count


def _restore_watches(
    store: Store, sellers: list[dict[str, Any]], contacts: list[dict[str, Any]]
) -> None:
    from monitor.actors.identities import ContactRef

    for watch in sellers:
        found = store.conn.execute(
            "SELECT id FROM sellers WHERE source = ? AND handle = ?",
            (watch["source"], watch["handle"]),
        ).fetchone()
        seller_id = (
            found[0] if found else store.actors.seller_id(watch["source"], watch["handle"], "")
        )
        store.conn.execute(
            "UPDATE actor_watches SET seller_id = ? WHERE id = ?", (seller_id, watch["id"])
        )
    for watch in contacts:
        ref = ContactRef(watch["kind"], watch["value"], watch["digest"])
        store.conn.execute(
            "UPDATE actor_watches SET contact_id = ? WHERE id = ?",
            (store.actors.contact_id(ref, None), watch["id"]),
        )


def _phone_hits(store: Store, listing_ids: set[int]) -> dict[int, list[dict[str, Any]]]:
    """Mobile numbers masked in these listings' versions, by version id."""
    import json

    found: dict[int, list[dict[str, Any]]] = {}
    for hit in rows.many(
        store.conn,
        "SELECT version_id, kind, digest, masked FROM pii_hashes "
        "WHERE listing_id IN (SELECT value FROM json_each(?)) AND kind = 'phone'",
        (json.dumps(sorted(listing_ids)),),
    ):
        found.setdefault(hit["version_id"], []).append(hit)
    return found
