"""Evidence: the pages matched listings were read from, kept beside the store.

A store `heishi.db` keeps its evidence in `heishi-evidence/`, content-addressed: a blob's name
is the SHA-256 of its content (before compression), in a folder named after the hash's first
two hex digits (`ab/abcdef….html.gz`), so the same page fetched twice is stored once and a
file can be checked against its name. Pages are gzip-compressed; screenshots are PNG as
Chromium made them. Personal data in a page is masked (monitor.privacy.evidence_masking: from the
parsed page, scripts and styles dropped) before it is written, and screenshots are taken of
a masked page (spiders/screenshots.py): the evidence folder, like the store, never holds it
in clear.

A version refers to its evidence with a small dict (`listing_versions.evidence`, JSON):
`{"page": "ab/ab….html.gz", "screenshot": "cd/cd….png" or None, "screenshot_url": ...,
"url": ..., "fetched_at": ..., "encoding": ...}`; paths are relative to
`evidence_dir(db_path)` (docs/site-files.md, Evidence).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from monitor.privacy.file_modes import private_folder


class Counts(Protocol):
    """Where counts go: a Scrapy stats collector, or the writer's per-sweep counter."""

    def inc_value(self, key: str, count: int = 1) -> None: ...


PAGE_SUFFIX = ".html.gz"
SCREENSHOT_SUFFIX = ".png"


def evidence_dir(db_path: str | os.PathLike[str]) -> Path:
    """Where the evidence of the store at `db_path` is kept: `<dir>/<stem>-evidence/`."""
    db = Path(db_path)
    return db.parent / f"{db.stem}-evidence"


def write_blob(directory: str | os.PathLike[str], content: bytes, suffix: str) -> str:
    """Store `content` under its SHA-256 (gzip-compressed when `suffix` ends in `.gz`);
    returns its path relative to `directory`. Writing the same content again is free."""
    digest = hashlib.sha256(content).hexdigest()
    relative = f"{digest[:2]}/{digest}{suffix}"
    target = Path(directory) / relative
    if target.exists():
        return relative
    private_folder(target.parent)  # 0700, like the store; blobs are 0600 (mkstemp)
    # mtime=0: the same content always compresses to the same bytes.
    data = gzip.compress(content, mtime=0) if suffix.endswith(".gz") else content
    # Written whole, then renamed: a crash never leaves a truncated blob under a valid name.
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        Path(temporary).replace(target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return relative


def read_blob(directory: str | os.PathLike[str], relative: str) -> bytes:
    """The content stored at `relative` (decompressed), checked against its name.
    Raises ValueError for a path outside `directory` or content that does not match."""
    base = Path(directory).resolve()
    path = (base / relative).resolve()
    if base not in path.parents:
        raise ValueError(f"{relative!r} is not inside {base}")
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    expected = path.name.split(".", 1)[0]
    if hashlib.sha256(data).hexdigest() != expected:
        raise ValueError(f"{relative}: content does not match its name")
    return data


def write_page(
    directory: str | os.PathLike[str],
    text: str,
    encoding: str,
    secret: bytes,
    keep: tuple[int, int] | None = None,
) -> tuple[str, int]:
    """Mask personal data in a decoded page (monitor.privacy.evidence_masking), then store it in its
    own `encoding` (compressed). Returns the blob's relative path and how many items were
    masked."""
    from monitor.privacy.evidence_masking import mask_page

    # A repeat sweep fetches the same pages again: one already masked and stored by this
    # process is found by the hash of its text instead of being parsed and masked again.
    key = _page_key(directory, text, encoding, secret, keep)
    written = _WRITTEN_PAGES.get(key)
    if written is not None and (Path(directory) / written[0]).exists():
        return written
    masked, hits = mask_page(text, secret, keep)
    try:
        content = masked.encode(encoding, errors="xmlcharrefreplace")
    except LookupError:
        content = masked.encode("utf-8")
    written = (write_blob(directory, content, PAGE_SUFFIX), len(hits))
    if len(_WRITTEN_PAGES) >= _WRITTEN_PAGES_HELD:
        _WRITTEN_PAGES.pop(next(iter(_WRITTEN_PAGES)))  # the oldest
    _WRITTEN_PAGES[key] = written
    return written


# Pages this process masked and stored: (directory, text hash, encoding, secret, keep) ->
# (blob path, numbers masked). Bounded: a warm crawl worker lives for many sweeps.
_WRITTEN_PAGES: dict[tuple[Any, ...], tuple[str, int]] = {}
_WRITTEN_PAGES_HELD = 4096


def _page_key(
    directory: str | os.PathLike[str],
    text: str,
    encoding: str,
    secret: bytes,
    keep: tuple[int, int] | None,
) -> tuple[Any, ...]:
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=20).digest()
    secret_digest = hashlib.blake2b(secret, digest_size=16).digest()  # not the secret itself
    return (os.fspath(directory), digest, encoding, secret_digest, keep)


def keep_evidence(
    directory: str | os.PathLike[str],
    page: Mapping[str, Any],
    secret: bytes,
    keep: tuple[int, int] | None,
    counts: Counts,
) -> dict[str, Any]:
    """Keep a matched listing's page (masked, gzip) and its screenshot in `directory`; the
    reference a version keeps (`listing_versions.evidence`). `page` has the fields of
    `spiders.items.FetchedPage`, as a crawl or a distributed worker hands them over."""
    page_path, masked = write_page(directory, page["text"], page["encoding"], secret, keep)
    screenshot = None
    if page.get("screenshot"):
        screenshot = write_blob(directory, page["screenshot"], SCREENSHOT_SUFFIX)
        counts.inc_value("heishi/evidence_screenshots")
        counts.inc_value("heishi/evidence_screenshot_pii_masked", page.get("screenshot_masked", 0))
    counts.inc_value("heishi/evidence_pages")
    if masked:
        counts.inc_value("heishi/evidence_pii_masked", masked)
    return {
        "page": page_path,
        "screenshot": screenshot,
        "screenshot_url": page.get("screenshot_url") if screenshot else None,
        "url": page["url"],
        "fetched_at": page["fetched_at"],
        "encoding": page["encoding"],
    }


def read_page(db_path: str | os.PathLike[str], reference: dict[str, Any]) -> str:
    """The page a version's evidence refers to, as text."""
    data = read_blob(evidence_dir(db_path), reference["page"])
    return data.decode(reference.get("encoding") or "utf-8", errors="replace")
