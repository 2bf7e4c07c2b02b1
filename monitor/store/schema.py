"""Tables, indexes and migrations, keyed by `PRAGMA user_version`.

Each migration moves the store up one version inside a transaction; an old store opened by a
newer heishi is upgraded in place, never dropped. docs/schema.md documents every column.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.store.connection import Store

# Fields of a listing whose change makes a new version (and maybe a "changed" alert).
TRACKED_FIELDS = (
    "title",
    "text",
    "seller",
    "price_text",
    "price",
    "currency",
    "volume",
    "volume_text",
    "contacts",
    "categories",
)

_LISTING_STATE = {
    "url": str,
    "title": str,
    "text": str,
    "seller": str,
    "price_text": str,
    "price": float,
    "currency": str,
    "volume": int,
    "volume_text": str,
    "contacts": str,  # JSON list of {"kind", "value"}
    "categories": str,  # JSON list of category ids
    "score": float,
    "matched": int,  # 1 when the score reached the alert threshold
    "posted_at": str,
    "content_hash": str,
}


def _v1(store: Store) -> None:
    db = store.db
    db["sources"].create(
        {
            "name": str,
            "kind": str,
            "url": str,
            "first_seen": str,
            "last_run_id": int,
            "last_status": str,
            "last_ok_at": str,
            "consecutive_failures": int,
            "health": str,
        },
        pk="name",
        defaults={"consecutive_failures": 0, "health": "unknown"},
    )
    db["runs"].create(
        {
            "id": int,
            "source": str,
            "started_at": str,
            "finished_at": str,
            "status": str,
            "finish_reason": str,
            "pid": int,
            "pages": int,
            "items": int,
            "errors": int,
            "bytes": int,
            "duration": float,
            "new": int,
            "changed": int,
            "unchanged": int,
            "removed": int,
            "relisted": int,
            "error": str,
            "stats": str,
        },
        pk="id",
        foreign_keys=[("source", "sources", "name")],
        not_null={"source", "started_at", "status"},
    )
    db["listings"].create(
        {
            "id": int,
            "source": str,
            "site_id": str,
            **_LISTING_STATE,
            "status": str,
            "first_seen": str,
            "last_seen": str,
            "last_run_id": int,
            "missing_sweeps": int,
            "removed_at": str,
            "version": int,
        },
        pk="id",
        foreign_keys=[("source", "sources", "name"), ("last_run_id", "runs", "id")],
        not_null={"source", "site_id", "status"},
        defaults={"status": "live", "missing_sweeps": 0, "version": 1},
    )
    db["listing_versions"].create(
        {
            "id": int,
            "listing_id": int,
            "version": int,
            "run_id": int,
            "seen_at": str,
            **_LISTING_STATE,
            "diff": str,  # JSON {field: [old, new]} against the previous version
        },
        pk="id",
        foreign_keys=[("listing_id", "listings", "id"), ("run_id", "runs", "id")],
        not_null={"listing_id", "version"},
    )
    db["matches"].create(
        {
            "id": int,
            "version_id": int,
            "listing_id": int,
            "term": str,
            "category": str,
            "weight": float,
            "role": str,
            "field": str,
            "start": int,
            "end": int,
            "surface": str,
        },
        pk="id",
        foreign_keys=[("version_id", "listing_versions", "id"), ("listing_id", "listings", "id")],
    )
    db["pii_hashes"].create(
        {
            "id": int,
            "version_id": int,
            "listing_id": int,
            "kind": str,
            "digest": str,
            "masked": str,
        },
        pk="id",
        foreign_keys=[("version_id", "listing_versions", "id"), ("listing_id", "listings", "id")],
    )
    db["alerts"].create(
        {
            "id": int,
            "kind": str,
            "severity": str,
            "status": str,
            "assignee": str,
            "source": str,
            "listing_id": int,
            "version_id": int,
            "run_id": int,
            "created_at": str,
            "updated_at": str,
            "title": str,
            "summary": str,
            "categories": str,
            "diff": str,
            "dedupe_key": str,
        },
        pk="id",
        foreign_keys=[
            ("source", "sources", "name"),
            ("listing_id", "listings", "id"),
            ("version_id", "listing_versions", "id"),
            ("run_id", "runs", "id"),
        ],
        not_null={"kind", "severity", "status", "created_at", "dedupe_key"},
        defaults={"status": "open"},
    )
    db["alert_events"].create(
        {
            "id": int,
            "alert_id": int,
            "at": str,
            "actor": str,
            "action": str,
            "old_status": str,
            "new_status": str,
            "note": str,
        },
        pk="id",
        foreign_keys=[("alert_id", "alerts", "id")],
        not_null={"alert_id", "at", "action"},
    )
    db["runs"].create_index(["source", "started_at"])
    db["runs"].create_index(["status"])
    db["listings"].create_index(["source", "site_id"], unique=True)
    db["listings"].create_index(["source", "status", "last_run_id"])
    db["listings"].create_index(["last_seen"])
    db["listing_versions"].create_index(["listing_id", "version"], unique=True)
    db["listing_versions"].create_index(["run_id"])
    db["matches"].create_index(["version_id"])
    db["matches"].create_index(["listing_id"])
    db["matches"].create_index(["term"])
    db["pii_hashes"].create_index(["digest"])
    db["pii_hashes"].create_index(["listing_id"])
    db["alerts"].create_index(["dedupe_key"], unique=True)
    db["alerts"].create_index(["status", "severity", "created_at"])
    db["alerts"].create_index(["listing_id"])
    db["alerts"].create_index(["run_id"])
    db["alert_events"].create_index(["alert_id"])


MIGRATIONS: list[Callable[[Store], None]] = [_v1]
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(store: Store) -> int:
    """Bring the store up to SCHEMA_VERSION; returns the version it was at before."""
    conn = store.conn
    before = conn.execute("PRAGMA user_version").fetchone()[0]
    if before > SCHEMA_VERSION:
        from monitor.errors import StoreError

        raise StoreError(
            f"store {store.path} has schema version {before}, newer than this heishi "
            f"({SCHEMA_VERSION})",
            hint="upgrade heishi",
        )
    for version in range(before + 1, SCHEMA_VERSION + 1):
        with store.transaction():
            # Re-check inside the lock: another process may have migrated meanwhile.
            if conn.execute("PRAGMA user_version").fetchone()[0] >= version:
                continue
            MIGRATIONS[version - 1](store)
            conn.execute(f"PRAGMA user_version = {version}")
    return before
