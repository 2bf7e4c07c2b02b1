"""Chinese pages that lie about their charset, or declare none, decoded as what they are.

A site file's `encoding` wins. A body that is valid UTF-8 is UTF-8. Otherwise, when the declared (or guessed) decoding yields
replacement characters, or Scrapy fell back to a Western single-byte guess for a page full of
non-ASCII bytes, the body is tried strictly as UTF-8, then GB18030, then Big5.
"""

from __future__ import annotations

import codecs
import logging
from typing import TYPE_CHECKING

from scrapy.http import TextResponse

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response

log = logging.getLogger(__name__)

FALLBACKS = ("utf-8", "gb18030", "big5")
_CJK = {"gb18030", "gbk", "gb2312", "big5", "big5hkscs", "cp950", "cp936", "hz"}


def _canonical(encoding: str | None) -> str:
    try:
        return codecs.lookup(encoding or "").name
    except LookupError:
        return (encoding or "").lower()


def best_encoding(response: TextResponse, override: str | None = None) -> str | None:
    """The encoding `response` should be decoded with, when not the one Scrapy chose."""
    if override:
        return override if _canonical(override) != _canonical(response.encoding) else None
    body = response.body
    if body.isascii():
        return None
    current = _canonical(response.encoding)
    if current != "utf-8" and _is_utf8(body):
        return "utf-8"  # GBK or Big5 bytes are hardly ever valid UTF-8
    trusted = current == "utf-8" or current in _CJK
    if trusted and "\ufffd" not in response.text:
        return None
    decoded = {}
    for candidate in FALLBACKS:
        if candidate == current:
            continue
        try:
            decoded[candidate] = body.decode(candidate)
        except UnicodeDecodeError:
            continue
        if candidate == "utf-8":
            return candidate  # GBK or Big5 bytes are hardly ever valid UTF-8
    if "gb18030" in decoded and "big5" in decoded:
        # Big5 bytes often decode as GB18030 too, into rare characters: real GBK text is
        # mostly made of the common (GB2312) ones.
        # A sample decides: counting a whole 10 MB page character by character takes seconds.
        return "gb18030" if _common_share(decoded["gb18030"][:200_000]) >= 0.8 else "big5"
    return next(iter(decoded), None)


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _common_share(text: str) -> float:
    """The share of CJK characters in `text` that GB2312 (the common ones) can encode."""
    cjk = [c for c in text if "\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf"]
    if not cjk:
        return 1.0
    common = 0
    for char in cjk:
        try:
            char.encode("gb2312")
        except UnicodeEncodeError:
            continue
        common += 1
    return common / len(cjk)


class FixEncodingMiddleware:
    """Downloader middleware: re-decode a text response that decoded badly."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FixEncodingMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        if not isinstance(response, TextResponse):
            return response
        site = getattr(self.crawler.spider, "site", None)
        encoding = best_encoding(response, getattr(site, "encoding", None))
        if encoding is None:
            return response
        log.debug("decoding %s as %s (declared %s)", response.url, encoding, response.encoding)
        self.crawler.stats.inc_value(f"heishi/reencoded/{encoding}")
        return response.replace(encoding=encoding)
