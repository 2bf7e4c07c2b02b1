"""Linking one listing version into the actor tables, as a sweep ingests it, and the
`actor_seen` alert when it is linked to something an analyst watches.

Two sellers are linked when they share a contact, a payment address or a near-duplicate
cluster; each link records why (`reason`, the contact or cluster), since when and the listing
that made it. A value shared by more than LINK_LIMIT sellers links no more of them: a number
everyone quotes (a group's, an escrow service's) says nothing about who is behind one offer,
and would otherwise fold every seller into one actor.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from monitor.actors.identities import identities_of

if TYPE_CHECKING:
    from monitor.alerting.severity import SeverityRules
    from monitor.store.connection import Store

LINK_LIMIT = 20


@dataclass
class Sighting:
    """What linking one version did."""

    seller_id: int | None
    actor_id: int | None
    contact_ids: list[int] = field(default_factory=list)
    # The listing names a seller or a contact it never named before (a new listing, or a
    # version that brought one): what watches alert on.
    newly_linked: bool = False
    new_links: int = 0


def link_version(
    store: Store,
    *,
    listing_id: int,
    version_id: int,
    source: str,
    state: Mapping[str, Any],
    pii: Iterable[Mapping[str, Any]],
    now: str,
    new_listing: bool = False,
    ids: dict[tuple[Any, ...], int] | None = None,
    counters: bool = True,
) -> Sighting:
    """Record the seller and contacts this version names and link its seller to the sellers
    it shares a contact, payment address or cluster with. In the caller's transaction, after
    the version (and its cluster) is written; the listing's current version, so versions of
    one listing come in order. `new_listing`: its first version (nothing to compare with);
    `ids`: seller and contact ids by key, kept by a caller that links many versions in one
    transaction (the backfill), which also counts afterwards (`counters` False, then
    `store.actors.recount_actors`); `state["cluster_id"]`, when there, spares a look-up."""
    identities = identities_of(state, pii)
    seller_id = None
    newly_linked = new_listing
    if identities.handle:
        seller_id = _cached(ids, ("seller", source, identities.handle))
        if seller_id is None:
            seller_id = store.actors.seller_id(source, identities.handle, now)
            _keep(ids, ("seller", source, identities.handle), seller_id)
        newly_linked |= store.actors.name_seller(
            listing_id, version_id, seller_id, now, counters, new_listing
        )
    else:
        store.actors.clear_listing_seller(listing_id)
    sighting = Sighting(seller_id, None)
    named_before = (
        store.actors.listing_contact_ids(listing_id)
        if identities.contacts and not new_listing
        else set()
    )
    for ref in identities.contacts:
        contact_id = _cached(ids, ("contact", ref.kind, ref.key))
        if contact_id is None:
            contact_id = store.actors.contact_id(ref, now)
            _keep(ids, ("contact", ref.kind, ref.key), contact_id)
        sighting.contact_ids.append(contact_id)
        new_for_listing = contact_id not in named_before
        new_for_seller = store.actors.name_contact(
            listing_id,
            version_id,
            contact_id,
            ref.origin,
            seller_id,
            source,
            now,
            new_for_listing,
            counters,
        )
        newly_linked |= new_for_listing
        if seller_id is not None and new_for_seller:
            sellers = store.actors.contact_sellers(contact_id, LINK_LIMIT + 1)
            if len(sellers) <= LINK_LIMIT:
                reason = "payment" if ref.is_payment else "contact"
                for other in sellers:
                    sighting.new_links += store.actors.link_sellers(
                        seller_id,
                        other,
                        reason,
                        now,
                        contact_id=contact_id,
                        listing_id=listing_id,
                    )
    if seller_id is not None:
        if "cluster_id" in state:
            cluster_id = state["cluster_id"]
        else:
            cluster_id = store.actor_reads.listing_cluster(listing_id)
        if cluster_id is not None:
            sellers = store.actors.cluster_sellers(cluster_id, LINK_LIMIT + 1)
            if len(sellers) <= LINK_LIMIT:
                for other in sellers:
                    sighting.new_links += store.actors.link_sellers(
                        seller_id,
                        other,
                        "cluster",
                        now,
                        cluster_id=cluster_id,
                        listing_id=listing_id,
                    )
        # Only a watch needs the actor; the backfill raises no alert.
        if ids is None and store.actors.watching():
            sighting.actor_id = store.actors.actor_of(seller_id)
    sighting.newly_linked = newly_linked
    return sighting


def _cached(ids: dict[tuple[Any, ...], int] | None, key: tuple[Any, ...]) -> int | None:
    return ids.get(key) if ids is not None else None


def _keep(ids: dict[tuple[Any, ...], int] | None, key: tuple[Any, ...], value: int) -> None:
    if ids is not None:
        ids[key] = value


def watch_alert(
    store: Store,
    sighting: Sighting,
    *,
    source: str,
    listing_id: int,
    version_id: int,
    run_id: int | None,
    state: Mapping[str, Any],
    match: Mapping[str, Any] | None,
    rules: SeverityRules,
) -> dict[str, Any] | None:
    """The `actor_seen` alert for a version newly linked to a watched actor or contact (None
    when nothing it names is watched). One per listing (its dedupe key): every watch it hits
    is named in the summary."""
    if not sighting.newly_linked:
        return None
    watches = store.actors.watches_hit(sighting.actor_id, sighting.contact_ids)
    if not watches:
        return None
    reasons = []
    for watch in watches:
        if watch["seller_id"] is not None:
            reasons.append(f"watched actor #{sighting.actor_id} ({_aliases(store, sighting)})")
        else:
            contact = store.actor_reads.contact(watch["contact_id"]) or {}
            reasons.append(f"watched contact {contact.get('kind')}:{contact.get('value')}")
    brands = (match or {}).get("brands") or []
    return {
        "kind": "actor_seen",
        "severity": actor_seen_severity(state, match, rules),
        "source": source,
        "listing_id": listing_id,
        "version_id": version_id,
        "run_id": run_id,
        "title": state.get("title"),
        "summary": "; ".join(dict.fromkeys(reasons))[:500],
        "categories": state.get("categories"),
        "brands": json.dumps(brands, ensure_ascii=False) if brands else None,
        "dedupe_key": f"actor_seen:{listing_id}",
    }


def actor_seen_severity(
    state: Mapping[str, Any], match: Mapping[str, Any] | None, rules: SeverityRules
) -> str:
    """As a `new` alert on the listing would be, and at least high (someone asked to be
    told); severity.toml's `kind_floor.actor_seen` fixes it instead."""
    from monitor.alerting.severity import severity
    from monitor.vocabulary import SEVERITIES, severity_rank

    if "actor_seen" in rules.kind_floor:
        return rules.kind_floor["actor_seen"]
    level = severity("new", dict(state), dict(match or {}), rules)
    return SEVERITIES[max(severity_rank(level), severity_rank("high")) - 1]


def _aliases(store: Store, sighting: Sighting, limit: int = 5) -> str:
    sellers = store.actor_reads.actor_sellers(sighting.actor_id or 0, limit=limit + 1)
    names = [f"{s['handle']} on {s['source']}" for s in sellers[:limit]]
    if len(sellers) > limit:
        names.append("...")
    return ", ".join(names)
