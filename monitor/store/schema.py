"""Tables, indexes and migrations, keyed by `PRAGMA user_version`.

Each migration moves the store up one version inside a transaction; an old store opened by a
newer heishi is upgraded in place, never dropped. docs/schema.md documents every column.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

from monitor.store import rows
from monitor.store.actors import migrate_0021_actors
from monitor.store.api_tokens import migrate_0019_api_tokens
from monitor.store.clusters import (
    migrate_0005_clusters,
    migrate_0010_compact_bands,
    migrate_0020_dismissed_twins,
    migrate_0023_cluster_sellers,
    migrate_0024_recent_bands,
    migrate_0025_band_filter,
)
from monitor.store.desk import migrate_0018_review_desk
from monitor.store.listing_ids import migrate_0007_sweep_layout
from monitor.store.observations import migrate_0017_observations
from monitor.store.operations import migrate_0003_schedule
from monitor.store.outbox import migrate_0016_outbox
from monitor.store.pii_keys import migrate_0012_pii_keys
from monitor.store.retrohunt import migrate_0009_rules
from monitor.store.review import review_migration
from monitor.store.runs import migrate_0014_run_leases, migrate_0015_list_coverage
from monitor.store.search import migrate_0006_search, migrate_0011_search_state
from monitor.store.search_backfill import migrate_0022_search_backfill
from monitor.store.views import migrate_0008_views
from monitor.store.web_auth import migrate_0013_web_sessions

if TYPE_CHECKING:
    from monitor.store.connection import Store

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
    db.table("sources").create(
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
    db.table("runs").create(
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
    db.table("listings").create(
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
    db.table("listing_versions").create(
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
    db.table("matches").create(
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
    db.table("pii_hashes").create(
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
    db.table("alerts").create(
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
    db.table("alert_events").create(
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
    db.table("runs").create_index(["source", "started_at"])
    db.table("runs").create_index(["status"])
    db.table("listings").create_index(["source", "site_id"], unique=True)
    db.table("listings").create_index(["source", "status", "last_run_id"])
    db.table("listings").create_index(["last_seen"])
    db.table("listing_versions").create_index(["listing_id", "version"], unique=True)
    db.table("listing_versions").create_index(["run_id"])
    db.table("matches").create_index(["version_id"])
    db.table("matches").create_index(["listing_id"])
    db.table("matches").create_index(["term"])
    db.table("pii_hashes").create_index(["digest"])
    db.table("pii_hashes").create_index(["listing_id"])
    db.table("alerts").create_index(["dedupe_key"], unique=True)
    db.table("alerts").create_index(["status", "severity", "created_at"])
    db.table("alerts").create_index(["listing_id"])
    db.table("alerts").create_index(["run_id"])
    db.table("alert_events").create_index(["alert_id"])


def _v2_operations(store: Store) -> None:
    """Evidence, scheduling state, the notification outbox, web users, near-duplicates."""
    db = store.db
    db.table("listing_versions").add_column(
        "evidence", str
    )  # JSON: {"page": path, "screenshot": ...}
    db.table("listings").add_column("cluster_id", int)  # near-duplicate cluster (reposted offers)
    for column in ("schedule", "next_run_at", "last_started_at"):
        db.table("sources").add_column(column, str)
    db.table("notifications").create(
        {
            "id": int,
            "alert_id": int,
            "route": str,  # the route's name in the notification config
            "idempotency_key": str,
            "status": str,  # pending | sending | sent | dead
            "attempts": int,
            "next_attempt_at": str,
            "last_error": str,
            "created_at": str,
            "sent_at": str,
            "payload": str,  # JSON: title, body, severity ...
        },
        pk="id",
        foreign_keys=[("alert_id", "alerts", "id")],
        not_null={"route", "idempotency_key", "status", "created_at"},
        defaults={"status": "pending", "attempts": 0},
    )
    db.table("notifications").create_index(["idempotency_key"], unique=True)
    db.table("notifications").create_index(["status", "next_attempt_at"])
    db.table("users").create(
        {
            "name": str,
            "role": str,  # viewer | reviewer | admin
            "password_hash": str,
            "created_at": str,
            "disabled": int,
        },
        pk="name",
        not_null={"role", "password_hash", "created_at"},
        defaults={"disabled": 0},
    )
    db.table("daemon").create(
        {"id": int, "pid": int, "host": str, "started_at": str, "heartbeat_at": str, "status": str},
        pk="id",
    )
    db.table("alerts").add_column("brands", str)  # JSON list of watched brands named


# Named migrations, applied in this order, each once. A feature that needs a schema change
# appends one entry here (name, function); the names already applied are kept in
# `schema_migrations`, and `PRAGMA user_version` counts them.
MIGRATIONS: list[tuple[str, Callable[[Store], None]]] = [
    ("0001_core", _v1),
    ("0002_operations", _v2_operations),
    ("0003_schedule", migrate_0003_schedule),
    ("0004_review", review_migration),
    ("0005_clusters", migrate_0005_clusters),
    ("0006_search", migrate_0006_search),
    ("0007_sweep_layout", migrate_0007_sweep_layout),
    ("0008_views", migrate_0008_views),
    ("0009_rules", migrate_0009_rules),
    ("0010_compact_bands", migrate_0010_compact_bands),
    ("0011_search_state", migrate_0011_search_state),
    ("0012_pii_keys", migrate_0012_pii_keys),
    ("0013_web_sessions", migrate_0013_web_sessions),
    ("0014_run_leases", migrate_0014_run_leases),
    ("0015_list_coverage", migrate_0015_list_coverage),
    ("0016_outbox", migrate_0016_outbox),
    ("0017_observations", migrate_0017_observations),
    ("0018_review_desk", migrate_0018_review_desk),
    ("0019_api_tokens", migrate_0019_api_tokens),
    ("0020_dismissed_twins", migrate_0020_dismissed_twins),
    ("0021_actors", migrate_0021_actors),
    ("0022_search_backfill", migrate_0022_search_backfill),
    ("0023_cluster_sellers", migrate_0023_cluster_sellers),
    ("0024_recent_bands", migrate_0024_recent_bands),
    ("0025_band_filter", migrate_0025_band_filter),
]
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(store: Store) -> int:
    """Apply the migrations this store lacks; returns the version it was at before."""
    from monitor.errors import StoreError

    conn = store.conn
    before = rows.count(conn, "PRAGMA user_version")
    if before > SCHEMA_VERSION:
        raise StoreError(
            f"store {store.path} has schema version {before}, newer than this heishi "
            f"({SCHEMA_VERSION})",
            hint="upgrade heishi",
        )
    if before == SCHEMA_VERSION and _applied(store):
        return before
    for name, migration in MIGRATIONS:
        with store.transaction():
            # Re-check inside the lock: another process may have migrated meanwhile.
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT)"
            )
            if name in _applied(store) or (name == "0001_core" and before >= 1):
                if name == "0001_core":
                    conn.execute(
                        "INSERT OR IGNORE INTO schema_migrations VALUES (?, datetime('now'))",
                        (name,),
                    )
                continue
            migration(store)
            conn.execute("INSERT INTO schema_migrations VALUES (?, datetime('now'))", (name,))
            conn.execute(f"PRAGMA user_version = {len(_applied(store))}")
    return before


def _applied(store: Store) -> set[str]:
    try:
        return {row[0] for row in store.conn.execute("SELECT name FROM schema_migrations")}
    except sqlite3.OperationalError:  # no such table: a store older than named migrations
        return set()
