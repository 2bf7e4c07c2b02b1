"""Actors in exports: who is behind the exported offers. STIX gets a `threat-actor` per
actor (its aliases, first and last seen) and an `identity` per alias (a seller account on one
source, with the contacts it gave), the actor `attributed-to` each identity, and each offer's
indicator `indicates` its actor. MISP gets a `user-account` object per alias, referring to
the offers it made and to the actor's first alias ("related-to": the same actor).

Only masked data leaves: a personal number given as a contact is exported as it is shown
(masked), never its keyed hash. Ids are UUIDv5 over the actor's first alias (source and
handle), so a re-export keeps them while the actor keeps that alias.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ActorLookup = Callable[[Any], dict[str, Any] | None]
ALIASES_EXPORTED = 100
CONTACTS_PER_ALIAS = 20


def actor_lookup(store: Any) -> ActorLookup:
    """A function giving an actor's export details by id, each actor read once."""
    cache: dict[int, dict[str, Any] | None] = {}

    def details(actor_id: Any) -> dict[str, Any] | None:
        if actor_id is None:
            return None
        if actor_id not in cache:
            cache[actor_id] = _details(store, int(actor_id))
        return cache[actor_id]

    return details


def _details(store: Any, actor_id: int) -> dict[str, Any] | None:
    summary = store.actor_reads.actor_summary(actor_id)
    if summary is None:
        return None
    aliases = store.actor_reads.actor_sellers(actor_id, limit=ALIASES_EXPORTED)
    contacts: dict[int, list[str]] = {}
    for row in store.conn.execute(
        "SELECT sc.seller_id, c.kind || ':' || c.value FROM sellers s "
        "JOIN seller_contacts sc ON sc.seller_id = s.id JOIN contacts c ON c.id = sc.contact_id "
        "WHERE s.actor_id = ? ORDER BY sc.first_seen, c.id",
        (actor_id,),
    ):
        found = contacts.setdefault(row[0], [])
        if len(found) < CONTACTS_PER_ALIAS:
            found.append(row[1])
    anchor = next((a for a in aliases if a["id"] == actor_id), aliases[0])
    return {
        "actor_id": actor_id,
        "key": f"{anchor['source']}:{anchor['handle']}",
        "name": aliases[0]["handle"],
        "aliases": [{**alias, "contacts": contacts.get(alias["id"], [])} for alias in aliases],
        "sources": sorted(set((summary["source_names"] or "").split(",")) - {""}),
        "listings": summary["listings"],
        "first_seen": summary["first_seen"],
        "last_seen": summary["last_seen"],
    }


def describe(actor: dict[str, Any]) -> str:
    names = ", ".join(f"{a['handle']} on {a['source']}" for a in actor["aliases"])
    return (
        f"heishi actor {actor['actor_id']}: {len(actor['aliases'])} aliases ({names}); "
        f"{actor['listings']} listings on {', '.join(actor['sources'])}"
    )


def stix_actor_objects(
    actor: dict[str, Any],
    heishi_id: Callable[[str, str], str],
    stix_time: Callable[..., Any],
    creator: str,
) -> tuple[str, list[dict[str, Any]]]:
    """The actor's threat-actor id, and its objects: the threat-actor, an identity per alias
    and the `attributed-to` relationships between them."""
    first = stix_time(actor["first_seen"])
    last = max(first, stix_time(actor["last_seen"]))
    actor_id = heishi_id("threat-actor", actor["key"])
    handles = list(dict.fromkeys(a["handle"] for a in actor["aliases"]))
    threat_actor = {
        "type": "threat-actor",
        "spec_version": "2.1",
        "id": actor_id,
        "created_by_ref": creator,
        "created": first,
        "modified": last,
        "name": actor["name"],
        "description": describe(actor),
        "threat_actor_types": ["criminal"],
        "aliases": handles,
        "first_seen": first,
        "last_seen": last,
        "primary_motivation": "personal-gain",
        "labels": ["data-broker"],
    }
    objects: list[dict[str, Any]] = [threat_actor]
    for alias in actor["aliases"]:
        identity_id = heishi_id("identity", f"seller:{alias['source']}:{alias['handle']}")
        identity = {
            "type": "identity",
            "spec_version": "2.1",
            "id": identity_id,
            "created_by_ref": creator,
            "created": stix_time(alias["first_seen"]),
            "modified": max(stix_time(alias["first_seen"]), stix_time(alias["last_seen"])),
            "name": alias["handle"],
            "description": f"seller {alias['handle']} on {alias['source']}: "
            f"{alias['listings']} listings",
            "identity_class": "individual",
        }
        if alias["contacts"]:
            identity["contact_information"] = ", ".join(alias["contacts"])
        objects.append(identity)
        objects.append(
            {
                "type": "relationship",
                "spec_version": "2.1",
                "id": heishi_id("relationship", f"{actor_id}:attributed-to:{identity_id}"),
                "created_by_ref": creator,
                "created": first,
                "modified": last,
                "relationship_type": "attributed-to",
                "source_ref": actor_id,
                "target_ref": identity_id,
            }
        )
    return actor_id, objects


def misp_alias_objects(
    actor: dict[str, Any],
    uuid_of: Callable[[str], str],
    epoch: Callable[[str | None], int],
    offers: dict[str, list[str]],
) -> list[dict[str, Any]]:
    """A MISP `user-account` object per alias, referring to the attributes of the offers it
    made (`offers`: attribute uuids by alias key); each alias after the first refers to the
    first one as the same actor."""
    tag = [{"name": f'heishi:actor="{actor["actor_id"]}"'}]
    objects = []
    first_uuid = None
    for alias in actor["aliases"]:
        key = f"seller:{alias['source']}:{alias['handle']}"
        object_uuid = uuid_of(key)
        timestamp = str(epoch(alias["last_seen"]))
        description = describe(actor)
        if alias["contacts"]:
            description += f"; contacts of this alias: {', '.join(alias['contacts'])}"
        values = [
            ("username", "text", alias["handle"]),
            ("account-type", "text", alias["source"]),
            ("description", "text", description),
        ]
        attributes = [
            {
                "uuid": uuid_of(f"{key}:{relation}:{value}"),
                "object_relation": relation,
                "type": type_,
                "category": "Attribution" if relation != "description" else "Other",
                "value": value,
                "to_ids": False,
                "distribution": "5",
                "timestamp": timestamp,
                "Tag": tag,
            }
            for relation, type_, value in values
        ]
        references = [
            {
                "uuid": uuid_of(f"{key}:offer:{offer}"),
                "referenced_uuid": offer,
                "relationship_type": "related-to",
                "comment": "an offer by this seller",
            }
            for offer in offers.get(key, [])
        ]
        if first_uuid is not None:
            references.append(
                {
                    "uuid": uuid_of(f"{key}:same-actor"),
                    "referenced_uuid": first_uuid,
                    "relationship_type": "related-to",
                    "comment": f"the same actor (heishi actor {actor['actor_id']})",
                }
            )
        first_uuid = first_uuid or object_uuid
        objects.append(
            {
                "name": "user-account",
                "meta-category": "misc",
                "template_uuid": "49606b06-22f0-4ac8-8eee-2f12ad46f3d3",
                "template_version": "6",
                "description": "A seller account on one source (heishi)",
                "uuid": object_uuid,
                "distribution": "5",
                "timestamp": timestamp,
                "comment": f"heishi actor {actor['actor_id']} ({actor['name']})",
                "Attribute": attributes,
                "ObjectReference": references,
            }
        )
    return objects
