"""The case export of one alert: JSON, and a printable page for a takedown request."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from starlette.responses import JSONResponse, Response

from monitor.store import utc_now
from monitor.vocabulary import DISMISS_REASONS
from monitor.web.alert import load_case, terms_of
from monitor.web.endpoint import Context, endpoint, path_id
from monitor.web.evidence import evidence_refs, evidence_sha256
from monitor.web.i18n import _
from monitor.web.queue import user_names


def case_document(ctx: Context, case: dict[str, Any]) -> dict[str, Any]:
    """The case as plain data: JSON columns parsed, evidence files with their SHA-256."""

    def parsed(row: dict[str, Any] | None, *names: str) -> dict[str, Any] | None:
        return None if row is None else decoded(row, *names)

    def decoded(row: dict[str, Any], *names: str) -> dict[str, Any]:
        out = dict(row)
        for name in names:
            if isinstance(out.get(name), str):
                with contextlib.suppress(ValueError):
                    out[name] = json.loads(out[name])
        return out

    versions = []
    for version in case["versions"]:
        entry = decoded(version, "contacts", "categories", "diff", "evidence", "extra")
        entry["evidence_files"] = {
            kind: {"path": ref, "sha256": evidence_sha256(ctx, ref)}
            for kind, ref in evidence_refs(version).items()
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
        "actor": case.get("actor"),  # the seller's actor: /actors/ID, `heishi actor show ID`
    }


@endpoint("viewer")
def case_json(ctx: Context) -> Response:
    alert_id = path_id(ctx, "alert_id")
    with ctx.store() as store:
        case = load_case(store, alert_id)
    if case is None:
        return ctx.refuse(404, _("There is no alert %(id)s.") % {"id": alert_id})
    return JSONResponse(
        case_document(ctx, case),
        headers={"Content-Disposition": f'attachment; filename="heishi-case-{alert_id}.json"'},
    )


@endpoint("viewer")
def case_page(ctx: Context) -> Response:
    alert_id = path_id(ctx, "alert_id")
    with ctx.store() as store:
        case = load_case(store, alert_id)
        names = user_names(store.review.users())
    if case is None:
        return ctx.refuse(404, _("There is no alert %(id)s.") % {"id": alert_id})
    document = case_document(ctx, case)
    return ctx.render(
        "case.html",
        case=case,
        doc=document,
        alert=case["alert"],
        listing=case["listing"],
        version=case["version"],
        terms=terms_of(case["hits"]),
        reasons=DISMISS_REASONS,
        names=names,
    )
