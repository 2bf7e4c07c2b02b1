"""Evidence as the reviewer sees it: the page as fetched (in a sandbox, under its own strict
Content-Security-Policy) and the screenshot, each read only from inside the evidence folder."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from starlette.responses import Response

from monitor.web.endpoint import Context, endpoint, path_id
from monitor.web.i18n import _

MAX_EVIDENCE_BYTES = 20 * 1024 * 1024
# The raw page as fetched is hostile: no script, no request anywhere, only inline styles and
# data: images, in a sandbox even when opened outside its frame; framed only by our pages.
EVIDENCE_CSP = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)
IMAGE_TYPES = {b"\x89PNG": "image/png", b"\xff\xd8\xff": "image/jpeg", b"RIFF": "image/webp"}
# What a version's `evidence` JSON may name (monitor/running/evidence.py): files, and where and when
# each was fetched.
EVIDENCE_KEYS = ("page", "screenshot", "encoding", "url", "fetched_at", "screenshot_url")


def evidence_refs(version: dict[str, Any] | None) -> dict[str, str]:
    """A version's evidence references, the strings only."""
    if not version or not version.get("evidence"):
        return {}
    try:
        refs = json.loads(version["evidence"])
    except ValueError:
        return {}
    if not isinstance(refs, dict):
        return {}
    return {k: v for k, v in refs.items() if k in EVIDENCE_KEYS and isinstance(v, str) and v}


def evidence_sha256(ctx: Context, ref: str) -> str | None:
    path = _evidence_path(ctx, ref)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path else None


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


def _version_evidence(ctx: Context, kind: str) -> tuple[bytes | None, str | None]:
    """A version's evidence file of `kind`, and the page's encoding when it was recorded."""
    with ctx.store() as store:
        version = store.review.version(path_id(ctx, "version_id"))
    refs = evidence_refs(version)
    encoding = refs.get("encoding")
    if encoding and not re.fullmatch(r"[A-Za-z0-9_.:-]{1,40}", encoding):
        encoding = None
    return (_read_evidence(ctx, refs[kind]) if kind in refs else None), encoding


@endpoint("viewer")
def evidence_page(ctx: Context) -> Response:
    """The page as fetched, for a sandboxed frame: its own CSP forbids script and requests."""
    content, encoding = _version_evidence(ctx, "page")
    if content is None:
        return ctx.refuse(404, _("No stored page for this version."))
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
    content, _encoding = _version_evidence(ctx, "screenshot")
    if content is None:
        return ctx.refuse(404, _("No screenshot for this version."))
    media = next((t for magic, t in IMAGE_TYPES.items() if content.startswith(magic)), None)
    if media is None:
        return ctx.refuse(415, _("The stored screenshot is not an image."))
    return Response(
        content,
        media_type=media,
        headers={"Content-Security-Policy": "default-src 'none'", "Cache-Control": "no-store"},
    )
