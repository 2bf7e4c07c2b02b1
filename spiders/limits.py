"""Limits on what a hostile page can make a crawl hold, and saying which one a page hit.

Downloads are capped by DOWNLOAD_MAXSIZE (decompressed size too) and DOWNLOAD_TIMEOUT; a
listing's fields are capped before they are masked, matched and stored: the title at
HEISHI_MAX_TITLE_CHARS, the text at HEISHI_MAX_TEXT_CHARS (a paste's at
HEISHI_PASTE_MAX_CHARS), the shorter fields at `SHORT_FIELD_CHARS`. A cut text ends with a
marker saying how long it was, the item's `extra.truncated` records each cut field's full
length, and `heishi/truncated/<field>` counts them. The page itself is kept whole (as
evidence, for a listing that matches).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twisted.internet.defer import CancelledError

from monitor.text_cuts import cut_text, cut_title

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.settings import BaseSettings
    from twisted.python.failure import Failure

SHORT_FIELD_CHARS = 300  # seller, price, dates as shown
_SHORT_FIELDS = ("seller", "price_text")


def cap_fields(item: Any, max_title: int, max_text: int) -> dict[str, int]:
    """Cut the item's long fields in place; returns {field: full length} of those cut."""
    cut: dict[str, int] = {}
    title = item.get("title")
    if title and len(title) > max_title:
        cut["title"] = len(title)
        item["title"] = cut_title(title, max_title)
    text = item.get("text")
    if text and len(text) > max_text:
        cut["text"] = len(text)
        item["text"] = cut_text(text, max_text)
    for name in _SHORT_FIELDS:
        value = item.get(name)
        if isinstance(value, str) and len(value) > SHORT_FIELD_CHARS:
            cut[name] = len(value)
            item[name] = cut_title(value, SHORT_FIELD_CHARS)
    return cut


def download_failure_text(failure: Failure, request: Request, settings: BaseSettings) -> str:
    """What went wrong with a download; for a page larger than the download limit (announced,
    cut off mid-body, or once decompressed: a gzip bomb) it says so, naming the limit."""
    if is_too_large(failure):
        limit = request.meta.get("download_maxsize") or settings.getint("DOWNLOAD_MAXSIZE")
        how = "once decompressed" if "decompress" in failure.getErrorMessage() else "cut off"
        return (
            f"the page is larger than the download limit of {limit:,} bytes ({how}; "
            "DOWNLOAD_MAXSIZE, or the site file's download_maxsize)"
        )
    message = failure.getErrorMessage()
    return message or type(failure.value).__name__


def is_too_large(failure: Failure) -> bool:
    """Whether a download failed for being larger than DOWNLOAD_MAXSIZE: announced by its
    Content-Length, cut off mid-body (Scrapy reports that as a bare CancelledError), or
    once decompressed."""
    from scrapy.exceptions import DownloadCancelledError, IgnoreRequest

    if failure.check(CancelledError, DownloadCancelledError):
        return True
    return bool(failure.check(IgnoreRequest)) and "DOWNLOAD_MAXSIZE" in failure.getErrorMessage()
