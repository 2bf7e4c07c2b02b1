"""What an export carries: alerts and listings as plain records, JSON columns parsed.

Only masked data leaves the store: listing text is masked at ingest, and neither the keyed
hashes nor anything else derived from clear numbers is exported (only how many were quoted).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.store.filters import Filters

ALERT_FIELDS = (
    "alert_id",
    "kind",
    "severity",
    "status",
    "assignee",
    "created_at",
    "updated_at",
    "source",
    "listing_id",
    "site_id",
    "url",
    "title",
    "summary",
    "categories",
    "brands",
    "seller",
    "actor_id",
    "contacts",
    "price",
    "currency",
    "price_text",
    "volume",
    "volume_text",
    "listing_status",
    "first_seen",
    "last_seen",
    "pii_quoted",
    "diff",
    "text",
)
LISTING_FIELDS = (
    "listing_id",
    "source",
    "site_id",
    "url",
    "title",
    "seller",
    "actor_id",
    "contacts",
    "categories",
    "price",
    "currency",
    "price_text",
    "volume",
    "volume_text",
    "score",
    "matched",
    "status",
    "first_seen",
    "last_seen",
    "version",
    "pii_quoted",
    "text",
)
FIELDS = {"alerts": ALERT_FIELDS, "listings": LISTING_FIELDS}


def _json(value: str | None, empty: Any) -> Any:
    return json.loads(value) if value else empty


def alert_record(row: dict[str, Any]) -> dict[str, Any]:
    """One exported alert: the alert and its listing's current state."""
    record = {
        **row,
        "alert_id": row["id"],
        "categories": _json(row.get("categories"), []),
        "brands": _json(row.get("brands"), []),
        "diff": _json(row.get("diff"), None),
        "contacts": _json(row.get("contacts"), []),
        "first_seen": row.get("listing_first_seen"),
        "last_seen": row.get("listing_last_seen"),
        "text": row.get("listing_text"),
    }
    return {name: record.get(name) for name in ALERT_FIELDS}


def listing_record(row: dict[str, Any]) -> dict[str, Any]:
    """One exported listing in its current state."""
    record = {
        **row,
        "contacts": _json(row.get("contacts"), []),
        "categories": _json(row.get("listing_categories"), []),
        "status": row.get("listing_status"),
        "first_seen": row.get("listing_first_seen"),
        "last_seen": row.get("listing_last_seen"),
        "text": row.get("listing_text"),
    }
    return {name: record.get(name) for name in LISTING_FIELDS}


def export_records(store: Any, what: str, filters: Filters) -> Iterator[dict[str, Any]]:
    """Alerts or listings, filtered, streamed from the store as records."""
    if what == "alerts":
        return map(alert_record, store.analyst.export_alerts(filters))
    if what == "listings":
        return map(listing_record, store.analyst.export_listings(filters))
    raise ValueError(f"what must be alerts or listings, not {what!r}")
