"""A STIX 2.1 bundle: heishi's identity, an indicator per listing (its URL and its sellers'
contacts), the URL and contacts as observables, a note per alert, and one report that lists
them all. Ids are UUIDv5, so exporting the same data again gives the same ids.

Observables (url, user-account) get the deterministic ids the STIX 2.1 spec defines (UUIDv5
in its namespace over their id-contributing properties); heishi's own objects get UUIDv5 in
heishi's namespace over what identifies them (source and site id for a listing).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any, TextIO

from monitor.export.actors import ActorLookup, stix_actor_objects

HEISHI_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/heishi/heishi#stix")
SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")  # STIX 2.1, 2.9
IDENTITY_CREATED = "2026-01-01T00:00:00.000Z"
IDENTITY_ID = f"identity--{uuid.uuid5(HEISHI_NAMESPACE, 'identity:heishi')}"
IDENTITY = {
    "type": "identity",
    "spec_version": "2.1",
    "id": IDENTITY_ID,
    "created": IDENTITY_CREATED,
    "modified": IDENTITY_CREATED,
    "name": "heishi",
    "description": "heishi monitor of listings that sell stolen personal data",
    "identity_class": "system",
}


def stix_time(value: str | None) -> str:
    """A store time (2026-11-23T08:00:00Z) as a STIX timestamp with milliseconds."""
    if not value:
        return IDENTITY_CREATED
    return value[:19] + ".000Z"


def _heishi_id(kind: str, key: str) -> str:
    return f"{kind}--{uuid.uuid5(HEISHI_NAMESPACE, f'{kind}:{key}')}"


def _sco(
    kind: str, contributing: dict[str, str], extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    canonical = json.dumps(contributing, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return {
        "type": kind,
        "spec_version": "2.1",
        "id": f"{kind}--{uuid.uuid5(SCO_NAMESPACE, canonical)}",
        **contributing,
        **(extra or {}),
    }


def _quote(value: str) -> str:
    """A string literal in a STIX pattern."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def contact_account(contact: str) -> dict[str, Any]:
    """`qq:88664422` as a user-account observable (account_type qq, wechat, telegram)."""
    kind, _, value = contact.partition(":")
    return _sco("user-account", {"account_type": kind, "user_id": value, "account_login": value})


def listing_objects(record: dict[str, Any]) -> list[dict[str, Any]]:
    """An indicator for a listing, its observables and the relationships between them."""
    first = stix_time(record.get("first_seen"))
    last = max(first, stix_time(record.get("last_seen")))
    key = f"{record['source']}:{record['site_id']}"
    indicator_id = _heishi_id("indicator", key)
    observables: list[dict[str, Any]] = []
    patterns: list[str] = []
    if record.get("url"):
        observables.append(_sco("url", {"value": record["url"]}))
        patterns.append(f"[url:value = {_quote(record['url'])}]")
    for contact in record.get("contacts") or []:
        account = contact_account(contact)
        observables.append(account)
        patterns.append(
            f"[user-account:account_type = {_quote(account['account_type'])} AND "
            f"user-account:user_id = {_quote(account['user_id'])}]"
        )
    if record.get("seller"):
        observables.append(
            _sco(
                "user-account",
                {"account_type": record["source"], "user_id": record["seller"]},
                {"display_name": record["seller"]},
            )
        )
    if not patterns:  # nothing to match on: the listing is still described by its observables
        patterns.append(f"[user-account:user_id = {_quote(record.get('seller') or key)}]")
    facts = [
        record.get("price_text"),
        record.get("volume_text"),
        f"seller {record['seller']}" if record.get("seller") else None,
        f"{record.get('pii_quoted') or 0} personal numbers quoted (masked)",
        record.get("text"),
    ]
    indicator = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": indicator_id,
        "created_by_ref": IDENTITY_ID,
        "created": first,
        "modified": last,
        "name": record.get("title") or f"listing {key}",
        "description": " | ".join(str(f) for f in facts if f),
        "indicator_types": ["malicious-activity"],
        "pattern": " OR ".join(patterns),
        "pattern_type": "stix",
        "valid_from": first,
        "labels": list(record.get("categories") or []) or ["uncategorised"],
        "external_references": [
            {"source_name": f"heishi:{record['source']}", "external_id": str(record["site_id"])}
            | ({"url": record["url"]} if record.get("url") else {})
        ],
    }
    relationships = [
        {
            "type": "relationship",
            "spec_version": "2.1",
            "id": _heishi_id("relationship", f"{indicator_id}:{o['id']}"),
            "created_by_ref": IDENTITY_ID,
            "created": first,
            "modified": last,
            "relationship_type": "related-to",
            "source_ref": indicator_id,
            "target_ref": o["id"],
        }
        for o in observables
    ]
    return [indicator, *observables, *relationships]


def alert_note(record: dict[str, Any], indicator_id: str) -> dict[str, Any]:
    """A note about the listing's indicator: the alert's kind, severity, status and reasons."""
    created = stix_time(record["created_at"])
    key = f"{record['source']}:{record['site_id']}:{record['kind']}:{record['created_at']}"
    content = record.get("summary") or record.get("title") or ""
    if record.get("diff"):
        content += "\nchanged: " + json.dumps(record["diff"], ensure_ascii=False)
    return {
        "type": "note",
        "spec_version": "2.1",
        "id": _heishi_id("note", key),
        "created_by_ref": IDENTITY_ID,
        "created": created,
        "modified": max(created, stix_time(record.get("updated_at"))),
        "abstract": f"heishi {record['kind']} alert #{record['alert_id']}: "
        f"{record['severity']}, {record['status']}",
        "content": content or record["kind"],
        "authors": ["heishi"],
        "object_refs": [indicator_id],
        "labels": [f"kind:{record['kind']}", f"severity:{record['severity']}"],
    }


def _relationship(source: str, kind: str, target: str, record: dict[str, Any]) -> dict[str, Any]:
    first = stix_time(record.get("first_seen"))
    return {
        "type": "relationship",
        "spec_version": "2.1",
        "id": _heishi_id("relationship", f"{source}:{kind}:{target}"),
        "created_by_ref": IDENTITY_ID,
        "created": first,
        "modified": max(first, stix_time(record.get("last_seen"))),
        "relationship_type": kind,
        "source_ref": source,
        "target_ref": target,
    }


class _BundleWriter:
    """Writes objects into the bundle's array as they come, each id once."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.ids: list[str] = []
        self.seen: set[str] = set()
        self.created: list[str] = []
        self.modified: list[str] = []

    def add(self, obj: dict[str, Any]) -> None:
        if obj["id"] in self.seen:
            return
        self.seen.add(obj["id"])
        self.ids.append(obj["id"])
        if "modified" in obj:
            self.created.append(obj["created"])
            self.modified.append(obj["modified"])
        self.out.write(",\n" + json.dumps(obj, ensure_ascii=False, sort_keys=True))


def write_stix(
    records: Iterable[dict[str, Any]],
    what: str,
    description: str,
    out: TextIO,
    actors: ActorLookup | None = None,
) -> int:
    """A STIX 2.1 bundle of the records (alerts or listings); returns the records written.
    Alerts about a source rather than a listing (source_failing ...) are not threat data and
    are left out. With `actors`, the threat-actor behind each offer and its aliases as
    identities (monitor/export/actors.py)."""
    report_id = _heishi_id("report", f"{what}:{description}")
    bundle_id = _heishi_id("bundle", report_id)
    out.write(f'{{"type": "bundle", "id": "{bundle_id}", "objects": [\n')
    out.write(json.dumps(IDENTITY, ensure_ascii=False, sort_keys=True))
    writer = _BundleWriter(out)
    writer.seen.add(IDENTITY_ID)
    count = 0
    for record in records:
        if not record.get("listing_id") or not record.get("site_id"):
            continue
        indicator_id = _heishi_id("indicator", f"{record['source']}:{record['site_id']}")
        if indicator_id not in writer.seen:  # a listing with several alerts is described once
            for obj in listing_objects(record):
                writer.add(obj)
            actor = actors(record.get("actor_id")) if actors is not None else None
            if actor is not None:
                actor_id, objects = stix_actor_objects(actor, _heishi_id, stix_time, IDENTITY_ID)
                for obj in objects:
                    writer.add(obj)
                writer.add(_relationship(indicator_id, "indicates", actor_id, record))
        if what == "alerts":
            writer.add(alert_note(record, indicator_id))
        count += 1
    newest = max(writer.modified, default=IDENTITY_CREATED)
    oldest = min(writer.created, default=IDENTITY_CREATED)
    report = {
        "type": "report",
        "spec_version": "2.1",
        "id": report_id,
        "created_by_ref": IDENTITY_ID,
        "created": oldest,
        "modified": newest,
        "published": newest,
        "name": f"heishi export of {what}",
        "description": description,
        "report_types": ["threat-report"],
        "object_refs": writer.ids or [IDENTITY_ID],
    }
    out.write(",\n" + json.dumps(report, ensure_ascii=False, sort_keys=True) + "\n]}\n")
    return count
