"""Alerts grouped per listing: one row for a listing's new, changed, removed and relisted
alerts, as `heishi alerts --group` and the API's `group=1` show them, filtered as the review
queue filters (QueueFilters). Alerts without a listing (a failing source) are a group of their
own."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from monitor.store import rows
from monitor.store.review import QueueFilters, _queue_where
from monitor.vocabulary import SEVERITIES

if TYPE_CHECKING:
    from monitor.store.connection import Store

_JOINED = " FROM alerts a LEFT JOIN listings l ON l.id = a.listing_id"
_SEVERITY_RANK = (
    "CASE a.severity " + " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(SEVERITIES)) + " END"
)


class AlertGroupQueries:
    """Methods of Store for alerts grouped by listing."""

    def alert_groups(
        self: Store,
        filters: QueueFilters,
        *,
        limit: int | None = None,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        """Groups of the alerts matching `filters`, the group with the newest alert first, and
        how many groups there are. Each group holds its alerts' ids, kinds and statuses
        (oldest first), the highest severity, the first and last time, and the listing's
        title, seller and state from its newest alert."""
        where, params = _queue_where(filters)
        grouped = (
            "SELECT coalesce(a.listing_id, -a.id) AS group_key, max(a.id) AS latest_id, "
            f"count(*) AS alert_count, max({_SEVERITY_RANK}) AS severity_rank, "
            "min(a.created_at) AS first_at, max(a.created_at) AS last_at "
            f"{_JOINED}{where} GROUP BY group_key"
        )
        total = self.conn.execute(f"SELECT count(*) FROM ({grouped})", params).fetchone()[0]
        sql = (
            "SELECT g.*, a.listing_id, a.source, a.title, a.categories, "
            "l.seller, l.url, l.site_id, l.price_text, l.volume_text, l.status AS listing_status "
            f"FROM ({grouped}) g JOIN alerts a ON a.id = g.latest_id "
            "LEFT JOIN listings l ON l.id = a.listing_id ORDER BY g.latest_id DESC"
        )
        page_params = list(params)
        if limit:
            sql += " LIMIT ? OFFSET ?"
            page_params += [int(limit), int(offset)]
        groups = rows.many(self.conn, sql, tuple(page_params))
        members = self._group_members(groups, where, params)
        for group in groups:
            group["severity"] = SEVERITIES[group.pop("severity_rank") or 0]
            group["alerts"] = members.get(group["group_key"], [])
            group["alert_ids"] = [m["id"] for m in group["alerts"]]
            group["kinds"] = [m["kind"] for m in group["alerts"]]
            for member in group["alerts"]:
                member["categories"] = _json_list(member["categories"])
            group["categories"] = sorted({c for m in group["alerts"] for c in m["categories"]})
            del group["group_key"]
        return groups, total

    def _group_members(
        self: Store, groups: list[dict[str, Any]], where: str, params: list[Any]
    ) -> dict[int, list[dict[str, Any]]]:
        """The alerts (matching the same filters) of each group, oldest first."""
        keys = [g["group_key"] for g in groups]
        found: dict[int, list[dict[str, Any]]] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            for row in rows.many(
                self.conn,
                "SELECT coalesce(a.listing_id, -a.id) AS group_key, a.id, a.kind, a.severity, "
                f"a.status, a.created_at, a.categories{_JOINED}"
                f"{where} AND coalesce(a.listing_id, -a.id) IN ({marks}) ORDER BY a.id",
                (*params, *chunk),
            ):
                found.setdefault(row.pop("group_key"), []).append(row)
        return found


def _json_list(value: str | None) -> list[str]:
    try:
        found = json.loads(value) if value else []
    except ValueError:
        return []
    return [str(v) for v in found] if isinstance(found, list) else []
