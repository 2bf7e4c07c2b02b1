"""One actor as people see it (the web page, `heishi actor show`, exports): its aliases
across sources, contacts (personal numbers masked), the links between its sellers and why,
what it offers (categories, prices over time, volumes claimed), where and when it is active
(sources, activity per week), its listings and alerts and their triage state, and who
watches it. Every list is bounded, so a very large actor is shown as fast as a small one."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.store.connection import Store

LISTINGS_SHOWN = 200
ALERTS_SHOWN = 200
VERSIONS_READ = 2000
WEEKS = 26  # activity is shown for the 26 weeks up to the latest active one


@dataclass
class ActorProfile:
    actor_id: int
    name: str
    sellers: int
    sources: list[str]
    listings: int
    versions: int
    first_seen: str | None
    last_seen: str | None
    aliases: list[dict[str, Any]]
    contacts: list[dict[str, Any]]
    links: list[dict[str, Any]]
    categories: list[dict[str, Any]]  # {"category", "listings"}, most offered first
    prices: list[dict[str, Any]]  # each price a listing asked, when it changed
    volume_max: int | None  # the most records any of its offers claimed
    volume_live: int  # records claimed by its live listings, added up
    weeks: list[dict[str, Any]]  # {"week", "new_listings", "versions", "alerts"}
    listings_shown: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    triage: dict[str, int] = field(default_factory=dict)
    watches: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def load_actor(store: Store, actor_id: int) -> ActorProfile | None:
    """The actor `actor_id` names (an id merged into a larger actor gives that actor)."""
    resolved = store.actor_reads.resolve_actor(actor_id)
    if resolved is None:
        return None
    summary = store.actor_reads.actor_summary(resolved)
    if summary is None:
        return None
    aliases = store.actor_reads.actor_sellers(resolved)
    listings = store.actor_reads.actor_listings(resolved, LISTINGS_SHOWN)
    versions = store.actor_reads.actor_versions(resolved, VERSIONS_READ)
    return ActorProfile(
        actor_id=resolved,
        name=aliases[0]["handle"] if aliases else f"actor {resolved}",
        sellers=summary["sellers"],
        sources=sorted(set((summary["source_names"] or "").split(",")) - {""}),
        listings=summary["listings"] or 0,
        versions=summary["versions"] or 0,
        first_seen=summary["first_seen"],
        last_seen=summary["last_seen"],
        aliases=aliases,
        contacts=store.actor_reads.actor_contacts(resolved),
        links=store.actor_reads.actor_links(resolved),
        categories=_categories(listings),
        prices=_price_changes(versions),
        volume_max=max((v["volume"] for v in versions if v["volume"]), default=None),
        volume_live=sum(x["volume"] or 0 for x in listings if x["status"] == "live"),
        weeks=_every_week(store.actor_reads.actor_weeks(resolved, WEEKS)),
        listings_shown=listings,
        alerts=store.actor_reads.actor_alerts(resolved, ALERTS_SHOWN),
        triage=store.actor_reads.actor_triage(resolved),
        watches=store.actor_reads.watches_of_actor(resolved),
    )


def _every_week(active: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The WEEKS weeks up to the latest active one, a quiet week as zeros (so the chart's
    gaps are real ones)."""
    from datetime import date, timedelta

    if not active:
        return []
    by_week = {row["week"]: row for row in active}
    last = date.fromisoformat(active[-1]["week"])
    weeks = [(last - timedelta(weeks=n)).isoformat() for n in range(WEEKS - 1, -1, -1)]
    first_active = min(by_week)
    return [
        by_week.get(week) or {"week": week, "new_listings": 0, "versions": 0, "alerts": 0}
        for week in weeks
        if week >= first_active
    ]


def _categories(listings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    counts: Counter[str] = Counter()
    for listing in listings:
        try:
            found = json.loads(listing.get("categories") or "[]")
        except ValueError:
            continue
        counts.update(c for c in found if isinstance(c, str))
    return [{"category": c, "listings": n} for c, n in counts.most_common()]


def _price_changes(versions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each listing's price when it was first asked and whenever it changed, oldest first."""
    last: dict[int, tuple[Any, Any]] = {}
    out = []
    for version in versions:
        price = (version["price"], version["currency"])
        if version["price"] is None or last.get(version["listing_id"]) == price:
            continue
        last[version["listing_id"]] = price
        out.append(
            {
                "seen_at": version["seen_at"],
                "listing_id": version["listing_id"],
                "source": version["source"],
                "title": version["title"],
                "price": version["price"],
                "currency": version["currency"],
                "price_text": version["price_text"],
            }
        )
    return out
