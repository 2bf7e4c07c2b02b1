"""The JSON API's calls, for SIEM, SOAR and ticketing systems: the alert queue (the web
queue's filters and grouping), one alert, triage with a note, a listing's history, search,
statistics, and the OpenAPI description of all of them (monitor/web/openapi.py). Everything
returned is what the web page shows: personal numbers masked, JSON columns as JSON."""

from __future__ import annotations

import re
from typing import Any

from starlette.routing import Route

from monitor.alerting.notify import alert_link
from monitor.errors import HeishiError
from monitor.json_columns import decoded, decoded_rows
from monitor.store import utc_now
from monitor.store.review import QUEUE_SORTS, QueueFilters
from monitor.timespec import since_timestamp
from monitor.vocabulary import (
    ALERT_KINDS,
    ALERT_STATUSES,
    CATEGORIES,
    DISMISS_REASONS,
    SEVERITIES,
    TRIAGE_VERBS,
)
from monitor.web.api import ApiContext, ApiError, api_endpoint

MAX_PAGE = 500
MAX_NOTE = 2000
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
QUEUE_PARAMS = (
    "status",
    "severity",
    "category",
    "kind",
    "source",
    "brand",
    "assignee",
    "since",
    "until",
    "q",
)
LIST_PARAMS = (*QUEUE_PARAMS, "group", "sort", "dir", "limit", "offset")


def queue_filters(ctx: ApiContext) -> QueueFilters:
    """The web queue's filters, checked: a value outside a closed vocabulary is a 400."""
    until = ctx.param("until")
    if until and not _DATE.match(until):
        raise ApiError(400, "until must be a date: YYYY-MM-DD")
    return QueueFilters(
        status=ctx.choice("status", ALERT_STATUSES),
        severity=ctx.choice("severity", SEVERITIES),
        category=ctx.choice("category", CATEGORIES),
        kind=ctx.choice("kind", ALERT_KINDS),
        source=ctx.param("source")[:100] or None,
        brand=ctx.param("brand")[:100] or None,
        assignee=ctx.param("assignee")[:100] or None,
        since=_since(ctx),
        until=until or None,
        text=ctx.param("q")[:200] or None,
    )


def _since(ctx: ApiContext, default: str = "") -> str | None:
    text = ctx.param("since", default)
    if not text:
        return None
    try:
        return since_timestamp(text)
    except HeishiError as exc:
        raise ApiError(400, str(exc)) from None


def _alert_out(row: dict[str, Any]) -> dict[str, Any]:
    out = decoded(row)
    out.pop("listing_text", None)
    out["page"] = f"/alerts/{row['id']}"
    out["link"] = alert_link(row["id"])
    return out


@api_endpoint("viewer", LIST_PARAMS)
def alerts_list(ctx: ApiContext) -> dict[str, Any]:
    """The alert queue, newest first unless `sort` says otherwise; `group=1`: one entry per
    listing holding its alerts."""
    filters = queue_filters(ctx)
    limit = ctx.number("limit", 50, minimum=1, maximum=MAX_PAGE)
    offset = ctx.number("offset", 0, maximum=10**9)
    group = ctx.choice("group", ("0", "1", "true", "false")) in ("1", "true")
    sort = ctx.choice("sort", tuple(QUEUE_SORTS)) or "created"
    descending = (ctx.choice("dir", ("asc", "desc")) or "desc") == "desc"
    with ctx.store() as store:
        if group:
            groups, total = store.desk.alert_groups(filters, limit=limit, offset=offset)
            for entry in groups:
                entry["page"] = f"/alerts/{entry['latest_id']}"
                entry["link"] = alert_link(entry["latest_id"])
            return {"total": total, "limit": limit, "offset": offset, "groups": groups}
        alerts, total = store.review.review_queue(
            filters, sort=sort, descending=descending, limit=limit, offset=offset
        )
    return {
        "total": total,
        "limit": limit,
        "offset": offset,
        "alerts": [_alert_out(a) for a in alerts],
    }


@api_endpoint("viewer")
def alert_detail(ctx: ApiContext) -> dict[str, Any]:
    """One alert with its listing, what matched, the personal data quoted (masked), its
    audit trail and the listing's other alerts."""
    alert_id = ctx.path_id("alert_id")
    with ctx.store() as store:
        found = store.alerts.where(alert_id=alert_id)
        if not found:
            raise ApiError(404, f"there is no alert {alert_id}")
        alert = found[0]
        listing = store.listings.get(alert["listing_id"]) if alert.get("listing_id") else None
        version_id = alert.get("version_id")
        return {
            "alert": _alert_out(alert),
            "listing": decoded(listing) if listing else None,
            "matches": store.listings.matches_of_version(version_id) if version_id else [],
            "personal_data": store.review.pii_of_version(version_id) if version_id else [],
            "events": store.alerts.events(alert_id),
            "listing_alerts": store.review.alerts_of_listing(listing["id"]) if listing else [],
        }


@api_endpoint("reviewer")
def alert_triage(ctx: ApiContext) -> dict[str, Any]:
    """Set an alert's status (with a note, and a reason when dismissing); `group: true`
    applies it to the listing's other open alerts too. One audit event per alert changed."""
    alert_id = ctx.path_id("alert_id")
    body = ctx.body
    unknown = sorted(set(body) - {"action", "note", "reason", "group"})
    if unknown:
        raise ApiError(400, f"unknown field {unknown[0]!r}: send action, note, reason, group")
    action = body.get("action")
    status = TRIAGE_VERBS.get(action) if isinstance(action, str) else None
    if status is None:
        raise ApiError(400, f"action must be one of: {', '.join(TRIAGE_VERBS)}")
    note = body.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE):
        raise ApiError(400, f"note must be text of at most {MAX_NOTE} characters")
    reason = body.get("reason")
    if status == "dismissed" and reason not in DISMISS_REASONS:
        raise ApiError(400, f"dismissing needs a reason: one of {', '.join(DISMISS_REASONS)}")
    if status != "dismissed" and reason is not None:
        raise ApiError(400, "a reason is given only when dismissing")
    group = body.get("group", False)
    if not isinstance(group, bool):
        raise ApiError(400, "group must be true or false")
    note = (note or "").strip() or None
    now = utc_now()
    with ctx.store(write=True) as store:
        alert = store.review.alert(alert_id)
        if alert is None:
            raise ApiError(404, f"there is no alert {alert_id}")
        ids = [alert_id]
        if group and alert.get("listing_id"):
            ids += [
                a["id"]
                for a in store.review.alerts_of_listing(alert["listing_id"])
                if a["status"] == "open" and a["id"] != alert_id
            ]
        changed = store.review.triage_alerts(
            ids, status, actor=ctx.actor, now=now, note=note, reason=reason
        )
        if note and not changed:  # already in that status: the note is kept all the same
            store.review.add_alert_note(alert_id, note, actor=ctx.actor, now=now)
        after = store.alerts.by_ids(ids)
    return {
        "changed": changed,
        "alerts": [{"id": a["id"], "status": a["status"]} for a in after],
    }


@api_endpoint("viewer")
def listing_history(ctx: ApiContext) -> dict[str, Any]:
    """A listing now, every version with what changed, its counters over time, its alerts."""
    listing_id = ctx.path_id("listing_id")
    with ctx.store() as store:
        listing = store.listings.get(listing_id)
        if listing is None:
            raise ApiError(404, f"there is no listing {listing_id}")
        return {
            "listing": decoded(listing),
            "versions": decoded_rows(store.listings.versions(listing_id)),
            "observations": store.observations.of_listing(listing_id),
            "alerts": store.review.alerts_of_listing(listing_id),
        }


@api_endpoint("viewer", ("q", "source", "category", "since", "limit", "sort"))
def search(ctx: ApiContext) -> dict[str, Any]:
    """Full-text search of listings, current and earlier text, as `heishi search`."""
    from monitor.analysis.search import search as run_search

    query = ctx.param("q")
    if not query:
        raise ApiError(400, "q is needed: the words to search for")
    category = ctx.choice("category", CATEGORIES)
    sort = ctx.choice("sort", ("relevance", "recent")) or "relevance"
    limit = ctx.number("limit", 20, minimum=1, maximum=100)
    since = _since(ctx)
    with ctx.store() as store:
        try:
            results = run_search(
                store,
                query[:200],
                source=ctx.param("source")[:100] or None,
                category=category,
                since=since,
                limit=limit,
                sort=sort,
            )
        except HeishiError as exc:
            raise ApiError(400, str(exc)) from None
    return {
        "query": results.query,
        "sort": results.sort,
        "since": results.since,
        "results": [hit.as_json() for hit in results.hits],
    }


@api_endpoint("viewer", ("since", "tz"))
def stats(ctx: ApiContext) -> dict[str, Any]:
    """The statistics of `heishi stats` (default: the last 30 days, Beijing days)."""
    from monitor.analysis.stats import collect

    since = _since(ctx, "30d")
    with ctx.store() as store:
        try:
            return collect(store, since=since, timezone=ctx.param("tz")[:64] or None).to_dict()
        except HeishiError as exc:
            raise ApiError(400, str(exc)) from None


@api_endpoint(None)
def openapi(ctx: ApiContext) -> dict[str, Any]:
    """This API's OpenAPI 3.1 description."""
    from monitor.web.openapi import openapi_document

    return openapi_document()


ROUTES = [
    Route("/api/openapi.json", openapi),
    Route("/api/alerts", alerts_list),
    Route("/api/alerts/{alert_id}", alert_detail),
    Route("/api/alerts/{alert_id}/triage", alert_triage, methods=["POST"]),
    Route("/api/listings/{listing_id}/history", listing_history),
    Route("/api/search", search),
    Route("/api/stats", stats),
]
