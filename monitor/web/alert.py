"""One alert: the listing highlighted, its fields, history and diffs, evidence, related
listings, triage, and the case export (JSON, and a printable page for a takedown request)."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from starlette.responses import JSONResponse, Response

from monitor.numbers import number_or
from monitor.store import Store, utc_now
from monitor.web import text
from monitor.web.chart import counter_charts
from monitor.web.endpoint import Context, endpoint, path_id
from monitor.web.queue import ACTIONS, DISMISS_REASONS, _assignee

MAX_EVIDENCE_BYTES = 20 * 1024 * 1024
# The raw page as fetched is hostile: no script, no request anywhere, only inline styles and
# data: images, in a sandbox even when opened outside its frame; framed only by our pages.
EVIDENCE_CSP = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)
IMAGE_TYPES = {b"\x89PNG": "image/png", b"\xff\xd8\xff": "image/jpeg", b"RIFF": "image/webp"}


def _alert_id(ctx: Context) -> int:
    return path_id(ctx, "alert_id")


def load_case(store: Store, alert_id: int) -> dict[str, Any] | None:
    """Everything about one alert that its page and its export show."""
    alert = store.alert(alert_id)
    if alert is None:
        return None
    listing = store.listing(alert["listing_id"]) if alert.get("listing_id") else None
    versions = store.versions(listing["id"]) if listing else []
    shown = next((v for v in versions if v["id"] == alert.get("version_id")), None)
    shown = shown or (versions[-1] if versions else None)
    hits = store.matches_of_version(shown["id"]) if shown else []
    return {
        "alert": alert,
        "listing": listing,
        "versions": versions,
        "version": shown,
        "hits": hits,
        "pii": store.pii_of_version(shown["id"]) if shown else [],
        "events": store.alert_events(alert_id),
        "related": store.related_listings(listing["id"]) if listing else {},
        "listing_alerts": store.alerts_of_listing(listing["id"]) if listing else [],
        "observations": store.observations(listing["id"]) if listing else [],
        "actor": store.listing_actor(listing["id"]) if listing else None,
    }


@endpoint("viewer")
def alert_page(ctx: Context) -> Response:
    alert_id = _alert_id(ctx)
    with ctx.store() as store:
        case = load_case(store, alert_id)
        if case is None:
            return ctx.refuse(404, f"There is no alert {alert_id}.")
        neighbours = store.neighbour_alerts(alert_id, case["alert"]["status"])
        users = [u["name"] for u in store.users() if not u["disabled"]]
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
    compare = _compared_versions(ctx, versions, version)
    diff = text.version_diff(compare[0], compare[1]) if compare else []
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
        evidence=_evidence_refs(version),
        neighbours=neighbours,
        users=users,
        actions=ACTIONS,
        reasons=DISMISS_REASONS,
        changed_fields=text.changed_fields,
        terms=_terms(case["hits"]),
        charts=counter_charts(case["observations"]),
    )


def _compared_versions(ctx: Context, versions: list[dict], shown: dict | None) -> tuple | None:
    """The two versions to compare: ?a=&b= version numbers, else the shown one and the one
    before it (or the last two)."""
    if len(versions) < 2:
        return None
    by_number = {v["version"]: v for v in versions}
    a, b = number_or(ctx.param("a"), 0), number_or(ctx.param("b"), 0)
    if a in by_number and b in by_number:
        return by_number[a], by_number[b]
    newer = shown if shown and shown["version"] > 1 else versions[-1]
    return by_number[newer["version"] - 1], newer


def _terms(hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
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


def _evidence_refs(version: dict[str, Any] | None) -> dict[str, str]:
    if not version or not version.get("evidence"):
        return {}
    try:
        refs = json.loads(version["evidence"])
    except ValueError:
        return {}
    if not isinstance(refs, dict):
        return {}
    return {
        k: v
        for k, v in refs.items()
        if k in ("page", "screenshot", "encoding") and isinstance(v, str)
    }


# --- triage ------------------------------------------------------------------------------


@endpoint("reviewer")
def triage(ctx: Context) -> Response:
    alert_id = _alert_id(ctx)
    action = ctx.field("action")
    note = ctx.field("note")[:2000] or None
    reason = ctx.field("reason")
    if action not in ACTIONS:
        return ctx.refuse(400, "Unknown action.")
    if action == "dismiss" and reason not in DISMISS_REASONS:
        return ctx.refuse(400, "Dismissing needs a reason.")
    with ctx.store(write=True) as store:
        if store.alert(alert_id) is None:
            return ctx.refuse(404, f"There is no alert {alert_id}.")
        changed = store.triage_alerts(
            [alert_id],
            ACTIONS[action],
            actor=ctx.actor,
            now=utc_now(),
            note=note,
            reason=reason if action == "dismiss" else None,
        )
        if note and not changed:  # already in that status: keep the note all the same
            store.add_alert_note(alert_id, note, actor=ctx.actor, now=utc_now())
    return ctx.redirect(f"/alerts/{alert_id}#trail")


@endpoint("reviewer")
def assign(ctx: Context) -> Response:
    alert_id = _alert_id(ctx)
    with ctx.store(write=True) as store:
        if store.alert(alert_id) is None:
            return ctx.refuse(404, f"There is no alert {alert_id}.")
        assignee = _assignee(ctx, store)
        if assignee is False:
            return ctx.refuse(400, "No such user to assign to.")
        store.assign_alerts([alert_id], assignee, actor=ctx.actor, now=utc_now())
    return ctx.redirect(f"/alerts/{alert_id}#trail")


@endpoint("reviewer")
def add_note(ctx: Context) -> Response:
    alert_id = _alert_id(ctx)
    note = ctx.field("note")[:4000]
    if not note:
        return ctx.redirect(f"/alerts/{alert_id}")
    with ctx.store(write=True) as store:
        if store.alert(alert_id) is None:
            return ctx.refuse(404, f"There is no alert {alert_id}.")
        store.add_alert_note(alert_id, note, actor=ctx.actor, now=utc_now())
    return ctx.redirect(f"/alerts/{alert_id}#trail")


# --- the case export ---------------------------------------------------------------------


def case_document(ctx: Context, case: dict[str, Any]) -> dict[str, Any]:
    """The case as plain data: JSON columns parsed, evidence files with their SHA-256."""

    def parsed(row: dict[str, Any] | None, *names: str) -> dict[str, Any] | None:
        if row is None:
            return None
        out = dict(row)
        for name in names:
            if isinstance(out.get(name), str):
                try:
                    out[name] = json.loads(out[name])
                except ValueError:
                    pass
        return out

    versions = []
    for version in case["versions"]:
        entry = parsed(version, "contacts", "categories", "diff", "evidence", "extra")
        entry["evidence_files"] = {
            kind: {"path": ref, "sha256": _sha256(ctx, ref)}
            for kind, ref in _evidence_refs(version).items()
            if kind in ("page", "screenshot")
        }
        versions.append(entry)
    return {
        "case": {
            "alert_id": case["alert"]["id"],
            "exported_at": utc_now(),
            "exported_by": ctx.actor,
            "note": "personal data in listings is masked; no column holds it in clear",
        },
        "alert": parsed(case["alert"], "categories", "brands", "diff"),
        "listing": parsed(case["listing"], "contacts", "categories", "extra"),
        "matches": [
            {k: h[k] for k in ("term", "category", "role", "weight", "field", "start", "end")}
            | {"surface": h["surface"]}
            for h in case["hits"]
        ],
        "personal_data": case["pii"],
        "versions": versions,
        "observations": case["observations"],
        "events": case["events"],
        "related": {
            kind: [parsed(r, "contacts") for r in found] for kind, found in case["related"].items()
        },
    }


@endpoint("viewer")
def case_json(ctx: Context) -> Response:
    alert_id = _alert_id(ctx)
    with ctx.store() as store:
        case = load_case(store, alert_id)
    if case is None:
        return ctx.refuse(404, f"There is no alert {alert_id}.")
    return JSONResponse(
        case_document(ctx, case),
        headers={"Content-Disposition": f'attachment; filename="heishi-case-{alert_id}.json"'},
    )


@endpoint("viewer")
def case_page(ctx: Context) -> Response:
    alert_id = _alert_id(ctx)
    with ctx.store() as store:
        case = load_case(store, alert_id)
    if case is None:
        return ctx.refuse(404, f"There is no alert {alert_id}.")
    document = case_document(ctx, case)
    return ctx.render(
        "case.html",
        case=case,
        doc=document,
        alert=case["alert"],
        listing=case["listing"],
        version=case["version"],
        terms=_terms(case["hits"]),
        reasons=DISMISS_REASONS,
    )


# --- evidence ----------------------------------------------------------------------------


def _evidence_path(ctx: Context, ref: str) -> Path | None:
    """The file a stored reference names, only if it lies inside the evidence folder."""
    root = ctx.web.evidence_dir.resolve()
    path = (root / ref).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


def _read_evidence(ctx: Context, ref: str) -> bytes | None:
    path = _evidence_path(ctx, ref)
    if path is None:
        return None
    if path.suffix == ".gz":
        with gzip.open(path, "rb") as handle:
            return handle.read(MAX_EVIDENCE_BYTES)
    with path.open("rb") as handle:
        return handle.read(MAX_EVIDENCE_BYTES)


def _sha256(ctx: Context, ref: str) -> str | None:
    path = _evidence_path(ctx, ref)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path else None


def _version_evidence(ctx: Context, kind: str) -> tuple[bytes | None, str | None]:
    """A version's evidence file of `kind`, and the page's encoding when it was recorded."""
    with ctx.store() as store:
        version = store.version(path_id(ctx, "version_id"))
    refs = _evidence_refs(version)
    encoding = refs.get("encoding")
    if encoding and not re.fullmatch(r"[A-Za-z0-9_.:-]{1,40}", encoding):
        encoding = None
    return (_read_evidence(ctx, refs[kind]) if kind in refs else None), encoding


@endpoint("viewer")
def evidence_page(ctx: Context) -> Response:
    """The page as fetched, for a sandboxed frame: its own CSP forbids script and requests."""
    content, encoding = _version_evidence(ctx, "page")
    if content is None:
        return ctx.refuse(404, "No stored page for this version.")
    return Response(
        content,
        media_type=f"text/html; charset={encoding}" if encoding else "text/html",
        headers={
            "Content-Security-Policy": EVIDENCE_CSP,
            "X-Frame-Options": "SAMEORIGIN",
            "Cache-Control": "no-store",
        },
    )


@endpoint("viewer")
def evidence_screenshot(ctx: Context) -> Response:
    content, _ = _version_evidence(ctx, "screenshot")
    if content is None:
        return ctx.refuse(404, "No screenshot for this version.")
    media = next((t for magic, t in IMAGE_TYPES.items() if content.startswith(magic)), None)
    if media is None:
        return ctx.refuse(415, "The stored screenshot is not an image.")
    return Response(
        content,
        media_type=media,
        headers={"Content-Security-Policy": "default-src 'none'", "Cache-Control": "no-store"},
    )
