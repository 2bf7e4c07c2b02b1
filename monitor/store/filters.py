"""What `heishi alerts`, `heishi alert set --from-queue`, exports, the web queue and the API
select, as one dataclass, and the SQL conditions it stands for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The filters' names, as the command line's options and the export's description name them.
FILTER_NAMES = ("status", "severity", "category", "kind", "source", "since")


@dataclass
class Filters:
    """Empty fields do not filter. Over alerts: the alert's status, severity, category, kind,
    source, and `since` its creation. Over listings (exports): the listing's status, category,
    source and last sighting, listings with an alert of that severity or kind, and only
    matched listings unless `matched_only` is False."""

    status: str | None = None
    severity: str | None = None
    category: str | None = None
    kind: str | None = None
    source: str | None = None
    since: str | None = None
    matched_only: bool = True

    def given(self) -> dict[str, Any]:
        """The filters set, by name (`matched_only` only when it is off)."""
        values = {name: getattr(self, name) for name in FILTER_NAMES if getattr(self, name)}
        if not self.matched_only:
            values["matched_only"] = False
        return values

    def described(self) -> str:
        """The filters in words, e.g. `category=identity, status=open` (or `all`)."""
        parts = [f"{k}={v}" for k, v in sorted(self.given().items()) if k != "matched_only"]
        if not self.matched_only:
            parts.append("unmatched included")
        return ", ".join(parts) or "all"


def alert_conditions(filters: Filters) -> tuple[str, list[Any]]:
    """The filters over alerts `a`, as " AND ..." conditions and their parameters: one
    definition for the list, the web queue's query and exports alike."""
    sql, params = _equal(
        ("a.status", filters.status),
        ("a.severity", filters.severity),
        ("a.kind", filters.kind),
        ("a.source", filters.source),
    )
    more, more_params = _category_and_since(filters, "a", "created_at")
    return sql + more, params + more_params


def listing_conditions(filters: Filters) -> tuple[str, list[Any]]:
    """The filters over listings `l`, as " AND ..." conditions and their parameters."""
    sql, params = _equal(("l.status", filters.status), ("l.source", filters.source))
    if filters.matched_only:
        sql = " AND l.matched = 1" + sql
    more, more_params = _category_and_since(filters, "l", "last_seen")
    sql, params = sql + more, params + more_params
    if filters.severity or filters.kind:
        alert, alert_params = _equal(("a.severity", filters.severity), ("a.kind", filters.kind))
        sql += f" AND EXISTS (SELECT 1 FROM alerts a WHERE a.listing_id = l.id{alert})"
        params += alert_params
    return sql, params


def _category_and_since(filters: Filters, table: str, since: str) -> tuple[str, list[Any]]:
    """The category (one of the row's `categories`) and `since` (its `since` column at or
    after) conditions over the rows of `table`."""
    sql, params = "", []
    if filters.category:
        sql += f" AND EXISTS (SELECT 1 FROM json_each({table}.categories) WHERE value = ?)"
        params.append(filters.category)
    if filters.since:
        sql += f" AND {table}.{since} >= ?"
        params.append(filters.since)
    return sql, params


def _equal(*pairs: tuple[str, str | None]) -> tuple[str, list[Any]]:
    """ " AND column = ?" for each (column, value) whose value is given."""
    given = [(column, value) for column, value in pairs if value]
    return "".join(f" AND {column} = ?" for column, _ in given), [value for _, value in given]
