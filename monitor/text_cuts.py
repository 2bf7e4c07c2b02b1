"""Cutting a hostile page's long fields, and the marker a cut text ends with.

Scrapy-free so that both the crawl (spiders/limits.py caps an item's fields) and the matcher
(which must not read heishi's own marker as the seller's words) use one definition.
"""

from __future__ import annotations

import re

_MARKER_HEAD = "\n[… cut by heishi: the text had "
_MARKER_TAIL = " characters]"
_MARKER = re.compile(re.escape(_MARKER_HEAD) + r"[\d,]+" + re.escape(_MARKER_TAIL) + r"\Z")
# The longest marker (a length in the trillions) fits in this many closing characters.
_MARKER_REACH = len(_MARKER_HEAD) + len(_MARKER_TAIL) + 20


def text_marker(length: int) -> str:
    return f"{_MARKER_HEAD}{length:,}{_MARKER_TAIL}"


def cut_text(text: str, limit: int) -> str:
    """`text` in at most `limit` characters, ending with a marker when it was cut."""
    if len(text) <= limit:
        return text
    marker = text_marker(len(text))
    return text[: max(0, limit - len(marker))].rstrip() + marker[:limit]


def cut_title(title: str, limit: int) -> str:
    if len(title) <= limit:
        return title
    return title[: max(0, limit - 1)].rstrip() + "…"


def without_cut_marker(text: str) -> str:
    """`text` without the marker a crawl adds at the end of a text it cut."""
    found = _MARKER.search(text, max(0, len(text) - _MARKER_REACH))
    return text[: found.start()] if found else text
