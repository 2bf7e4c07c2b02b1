"""The number look-up page: a customer list pasted or uploaded, checked against the keyed
hashes of the numbers listings quoted, answered masked (monitor/analysis/bulk_lookup.py).

The numbers travel only in a POST body (never in a URL, so never in a log or the history),
are used to compute their digests and are dropped with the request: the page shows them
masked and does not fill the form with them again.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.responses import Response

from monitor.analysis.bulk_lookup import (
    WEB_MAX_CELLS,
    BulkLookupError,
    BulkReport,
    bulk_lookup,
    read_cells,
)
from monitor.errors import HeishiError
from monitor.web.endpoint import Context, endpoint
from monitor.web.i18n import _

MAX_UPLOAD_BYTES = 1024 * 1024 - 16 * 1024  # the page's body cap less room for the form


@endpoint("viewer")
def lookup_page(ctx: Context) -> Response:
    if ctx.request.method != "POST":
        return _page(ctx)
    try:
        text, source = _submitted_list(ctx)
    except HeishiError as exc:
        return _page(ctx, error=str(exc), status=400)
    if not text.strip():
        return _page(ctx, error=_("Paste numbers or choose a file first."), status=400)
    secret = _install_secret()
    if secret is None:
        return _page(
            ctx,
            error=_(
                "This server has no install secret (HEISHI_SECRET_FILE): the store's numbers "
                "were hashed with the crawls' key, and nothing could be found without it."
            ),
            status=503,
        )
    try:
        cells = read_cells(text, max_cells=WEB_MAX_CELLS)
        with ctx.store() as store:
            report = bulk_lookup(store, cells, secret, source=source)
            alert_of = _latest_alerts(store, report)
    except HeishiError as exc:
        return _page(ctx, error=str(exc), status=400)
    return _page(ctx, report=report, alert_of=alert_of)


def _page(
    ctx: Context,
    *,
    report: BulkReport | None = None,
    alert_of: dict[int, int] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    return ctx.render(
        "lookup.html",
        status=status,
        report=report,
        alert_of=alert_of or {},
        error=error,
        max_upload=MAX_UPLOAD_BYTES,
        max_cells=WEB_MAX_CELLS,
    )


def _submitted_list(ctx: Context) -> tuple[str, str]:
    """The list pasted or uploaded (one of them), as text, and what to call it."""
    pasted = ctx.field("numbers")
    upload: Any = ctx.form.get("file") if ctx.form is not None else None
    if isinstance(upload, UploadFile) and upload.filename:
        if pasted:
            raise BulkLookupError(_("Paste numbers or choose a file, not both."))
        data = upload.file.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            raise BulkLookupError(
                _("The file is larger than %(size)s KB.") % {"size": MAX_UPLOAD_BYTES // 1024}
            )
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                return data.decode(encoding), upload.filename[:200]
            except UnicodeDecodeError:
                continue
        raise BulkLookupError(_("The file is neither UTF-8 nor GB18030 text: save it as CSV."))
    return pasted, _("Pasted list")


def _install_secret() -> bytes | None:
    from monitor.config import secret_path

    path = secret_path()
    try:
        return bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _latest_alerts(store: Any, report: BulkReport) -> dict[int, int]:
    """The newest alert of each listing a number was seen in, to link to."""
    latest: dict[int, int] = {}
    for number in report.found:
        for sighting in number.result.sightings:
            alerts = store.review.alerts_of_listing(sighting.listing_id)
            if alerts:
                latest[sighting.listing_id] = alerts[-1]["id"]
    return latest
