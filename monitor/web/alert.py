"""One alert: the listing highlighted, its fields, history and diffs, evidence, related
listings, triage, and the case export (JSON, and a printable page for a takedown request)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from monitor.numbers import number_or
from monitor.store import Store, utc_now
from monitor.vocabulary import DISMISS_REASONS
from monitor.web import text
from monitor.web.chart import counter_charts
from monitor.web.endpoint import Context, endpoint, path_id
from monitor.web.evidence import evidence_refs
from monitor.web.i18n import _
from monitor.web.queue import ACTIONS, done_message, user_names
from monitor.web.queue_view import listing_key, neighbours, queue_view


def load_case(store: Store, alert_id: int) -> dict[str, Any] | None:
    """Everything about one alert that its page and its export show."""
    alert = store.review.alert(alert_id)
    if alert is None:
        return None
    listing = store.listings.get(alert["listing_id"]) if alert.get("listing_id") else None
    versions = store.listings.versions(listing["id"]) if listing else []
    shown = next((v for v in versions if v["id"] == alert.get("version_id")), None)
    shown = shown or (versions[-1] if versions else None)
    hits = store.listings.matches_of_version(shown["id"]) if shown else []
    return {
        "alert": alert,
        "listing": listing,
        "versions": versions,
        "version": shown,
        "hits": hits,
        "pii": store.review.pii_of_version(shown["id"]) if shown else [],
        "events": store.alerts.events(alert_id),
        "related": store.review.related_listings(listing["id"]) if listing else {},
        "listing_alerts": store.review.alerts_of_listing(listing["id"]) if listing else [],
        "observations": store.observations.of_listing(listing["id"]) if listing else [],
        "actor": store.actor_reads.listing_actor(listing["id"]) if listing else None,
    }


@endpoint("viewer")
def alert_page(ctx: Context) -> Response:
    alert_id = path_id(ctx, "alert_id")
    view = queue_view(ctx.request.query_params)
    with ctx.store() as store:
        case = load_case(store, alert_id)
        if case is None:
            return ctx.refuse(404, _("There is no alert %(id)s.") % {"id": alert_id})
        listing = case["listing"]
        seen = store.desk.seen_version(ctx.actor, listing["id"]) if listing and ctx.user else None
        order = store.desk.queue_order(view.filters, sort=view.sort, descending=view.descending)
        # The queue's row of this listing: its alerts in this alert's status are decided
        # together with it.
        group = [
            a
            for a in store.desk.queue_group(view.filters, case["alert"])
            if a["status"] == case["alert"]["status"]
        ]
        everyone = store.review.users()
    users = [u["name"] for u in everyone if not u["disabled"]]
    version = case["version"]
    versions = case["versions"]
    masked = [p["masked"] for p in case["pii"]]
    body = {
        "title": text.highlighted(
            version["title"] if version else case["alert"]["title"],
            [h for h in case["hits"] if h["field"] == "title"],
            masked,
        ),
        "text": text.highlighted(
            version["text"] if version else case["alert"]["summary"],
            [h for h in case["hits"] if h["field"] == "text"],
            masked,
        ),
    }
    compare, since = _compared_versions(ctx, versions, version, seen)
    diff = text.version_diff(compare[0], compare[1]) if compare else []
    if listing and ctx.user:  # what this reviewer has now seen of the listing
        with ctx.store(write=True) as store:
            store.desk.mark_seen(ctx.actor, listing["id"], listing["version"], now=utc_now())
    return ctx.render(
        "alert.html",
        case=case,
        alert=case["alert"],
        listing=case["listing"],
        version=version,
        versions=versions,
        body=body,
        compare=compare,
        diff=diff,
        since=since,
        evidence=evidence_refs(version),
        view=view,
        around=neighbours(order, listing_key(case["alert"])),
        group=group,
        queue_size=len(order),
        done=done_message(ctx),
        users=users,
        names=user_names(everyone),
        actions=ACTIONS,
        reasons=DISMISS_REASONS,
        changed_fields=text.changed_fields,
        terms=terms_of(case["hits"]),
        charts=counter_charts(case["observations"]),
    )


def _compared_versions(
    ctx: Context,
    versions: list[dict[str, Any]],
    shown: dict[str, Any] | None,
    seen: dict[str, Any] | None,
) -> tuple[tuple[Any, ...] | None, dict | None]:
    """The two versions to compare, and the reviewer's last view when they are that view's
    version and the current one. ?a=&b= version numbers choose; else, when the listing
    changed since this reviewer last saw it, that version and the current one; else the shown
    one and the one before it (or the last two)."""
    if len(versions) < 2:
        return None, None
    by_number = {v["version"]: v for v in versions}
    a, b = number_or(ctx.param("a"), 0), number_or(ctx.param("b"), 0)
    if a in by_number and b in by_number:
        return (by_number[a], by_number[b]), None
    latest = versions[-1]
    if seen and seen["version"] < latest["version"] and seen["version"] in by_number:
        return (by_number[seen["version"]], latest), seen
    newer = shown if shown and shown["version"] > 1 else latest
    return (by_number[newer["version"] - 1], newer), None


def terms_of(hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each matched term once, with its category, weight, role and how it was written."""
    seen: dict[str, dict[str, Any]] = {}
    for hit in hits:
        entry = seen.setdefault(
            hit["term"],
            {
                "term": hit["term"],
                "category": hit.get("category"),
                "role": hit.get("role"),
                "weight": hit.get("weight"),
                "surfaces": [],
            },
        )
        if hit.get("surface") and hit["surface"] not in entry["surfaces"]:
            entry["surfaces"].append(hit["surface"])
    return list(seen.values())
