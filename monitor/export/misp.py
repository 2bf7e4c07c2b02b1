"""A MISP event (the JSON that MISP's event import and PyMISP's `MISPEvent.load` read): one
event per export, attributes for each listing (URL, title, seller, contacts, offer) and each
alert, and tags for the categories. UUIDs are UUIDv5, so a re-export keeps them.

Distribution is "your organisation only" and TLP:AMBER: the listings concern people's data.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TextIO

from monitor.export.actors import ActorLookup, misp_alias_objects

MISP_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/heishi/heishi#misp")
# MISP threat levels: 1 high, 2 medium, 3 low, 4 undefined.
THREAT_LEVEL = {"critical": 1, "high": 1, "medium": 2, "low": 3}


def _uuid(key: str) -> str:
    return str(uuid.uuid5(MISP_NAMESPACE, key))


@lru_cache(maxsize=4096)
def _epoch(value: str | None) -> int:
    """Seconds since 1970 of a store time (sweeps share few distinct times: cached)."""
    if not value:
        return 0
    return int(datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp())


def category_tag(category: str) -> str:
    return f'heishi:category="{category}"'


def _attribute(
    key: str, type_: str, category: str, value: str, comment: str, record: dict[str, Any]
) -> dict[str, Any]:
    return {
        "uuid": _uuid(key),
        "type": type_,
        "category": category,
        "value": value,
        "comment": comment[:1000],
        "to_ids": False,
        "distribution": "5",  # inherit the event's
        "timestamp": str(_epoch(record.get("last_seen") or record.get("created_at"))),
        "Tag": [{"name": category_tag(c)} for c in record.get("categories") or []],
    }


def listing_attributes(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The attributes that describe one listing."""
    key = f"{record['source']}:{record['site_id']}"
    where = f"listing {key}"
    attributes = []
    if record.get("url"):
        attributes.append(
            _attribute(
                f"{key}:url",
                "url",
                "External analysis",
                record["url"],
                f"{where}, first seen {record.get('first_seen')}, "
                f"last seen {record.get('last_seen')}, {record.get('status')}",
                record,
            )
        )
    if record.get("title"):
        attributes.append(
            _attribute(f"{key}:title", "text", "External analysis", record["title"], where, record)
        )
    if record.get("seller"):
        attributes.append(
            _attribute(
                f"{key}:seller",
                "threat-actor",
                "Attribution",
                record["seller"],
                f"seller of {where} on {record['source']}",
                record,
            )
        )
    for contact in record.get("contacts") or []:
        kind = contact.partition(":")[0]
        attributes.append(
            _attribute(
                f"{key}:contact:{contact}",
                "text",
                "Social network",
                contact,
                f"{kind} contact in {where}"
                + (f" ({record['seller']})" if record.get("seller") else ""),
                record,
            )
        )
    offer = "; ".join(str(v) for v in (record.get("price_text"), record.get("volume_text")) if v)
    if offer:
        attributes.append(
            _attribute(
                f"{key}:offer", "text", "Other", offer, f"price and volume in {where}", record
            )
        )
    return attributes


def alert_attribute(record: dict[str, Any]) -> dict[str, Any]:
    """An alert as a comment attribute: kind, severity, status and the matcher's reasons."""
    text = (
        f"heishi {record['kind']} alert #{record['alert_id']} "
        f"({record['severity']}, {record['status']}): {record.get('summary') or record.get('title')}"
    )
    key = f"alert:{record['source']}:{record['site_id']}:{record['kind']}:{record['created_at']}"
    attribute = _attribute(
        key, "comment", "Other", text, f"listing {record['source']}:{record['site_id']}", record
    )
    attribute["timestamp"] = str(_epoch(record.get("updated_at") or record.get("created_at")))
    return attribute


def write_misp(
    records: Iterable[dict[str, Any]],
    what: str,
    description: str,
    out: TextIO,
    actors: ActorLookup | None = None,
) -> int:
    """A MISP event JSON of the records, written as they come; returns the records written.
    Alerts about a source rather than a listing are left out, as in STIX. With `actors`, a
    `user-account` object for each alias of the actors behind them (monitor/export/actors.py)."""
    from monitor.actors.identities import seller_handle

    out.write('{"Event": {"Attribute": [')
    actor_ids: dict[int, None] = {}
    offers: dict[str, list[str]] = {}
    seen: set[str] = set()
    listings: set[str] = set()
    categories: set[str] = set()
    newest = 0
    level = 4
    count = 0
    first = True
    for record in records:
        if not record.get("listing_id") or not record.get("site_id"):
            continue
        listing_key = f"{record['source']}:{record['site_id']}"
        # A listing with several alerts is described once.
        attributes = [] if listing_key in listings else listing_attributes(record)
        listings.add(listing_key)
        if what == "alerts":
            attributes.append(alert_attribute(record))
            level = min(level, THREAT_LEVEL.get(record.get("severity") or "", 4))
        for attribute in attributes:
            if attribute["uuid"] in seen:
                continue
            seen.add(attribute["uuid"])
            newest = max(newest, int(attribute["timestamp"]))
            out.write(("\n" if first else ",\n") + json.dumps(attribute, ensure_ascii=False))
            first = False
        categories.update(record.get("categories") or [])
        handle = seller_handle(record.get("seller"))
        if actors is not None and record.get("actor_id") is not None and handle:
            actor_ids[record["actor_id"]] = None
            alias = f"seller:{record['source']}:{handle}"
            seller_uuid = _uuid(f"{listing_key}:seller")
            if seller_uuid not in offers.setdefault(alias, []):
                offers[alias].append(seller_uuid)
        count += 1
    objects = []
    for actor_id in actor_ids if actors is not None else ():
        actor = actors(actor_id)  # type: ignore[misc]
        if actor is not None:
            objects += misp_alias_objects(actor, _uuid, _epoch, offers)
    newest = newest or int(datetime.now(UTC).timestamp())
    header = {
        "uuid": _uuid(f"event:{what}:{description}"),
        "info": f"heishi export of {what}: {description}",
        "date": datetime.fromtimestamp(newest, UTC).strftime("%Y-%m-%d"),
        "timestamp": str(newest),
        "threat_level_id": str(level if what == "alerts" else 2),
        "analysis": "1",  # ongoing: the monitor keeps watching
        "distribution": "0",  # this organisation only
        "published": False,
        "Orgc": {"name": "heishi", "uuid": _uuid("org:heishi")},
        "Tag": [{"name": "tlp:amber"}] + [{"name": category_tag(c)} for c in sorted(categories)],
    }
    out.write("\n], ")
    if objects:
        out.write('"Object": ' + json.dumps(objects, ensure_ascii=False) + ", ")
    out.write(json.dumps(header, ensure_ascii=False)[1:-1] + "}}\n")
    return count
