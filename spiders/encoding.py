"""Chinese pages that lie about their charset, or declare none, decoded as what they are.

A site file's `encoding` wins. A body whose markup is UTF-16 (a NUL byte beside most ASCII
characters) is UTF-16 whatever it says. A body that is valid UTF-8 is UTF-8. Otherwise, when
the declared (or guessed) decoding yields replacement characters or private-use characters
(Big5 bytes read as GBK land in GBK's user-defined areas), or Scrapy fell back to a Western
single-byte guess for a page full of non-ASCII bytes, the body is tried strictly as UTF-8,
then GB18030, then Big5, and the decoding with the fewest such characters wins.
"""

from __future__ import annotations

import codecs
import logging
import re
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
    current = _canonical(response.encoding)
    utf16 = _utf16_order(body)
    if utf16 is not None:
        return None if current.startswith("utf-16") else utf16
    if body.isascii():
        return None
    if current != "utf-8" and _is_utf8(body):
        return "utf-8"  # GBK or Big5 bytes are hardly ever valid UTF-8
    # A UTF-16 page with a byte order mark, or one its header names, was read as such.
    trusted = current == "utf-8" or current in _CJK or current.startswith("utf-16")
    if trusted and not _oddities(response.text[:_SAMPLE]):
        return None
    decoded = {}
    for candidate in FALLBACKS:
        if candidate == current:
            continue
        try:
            decoded[candidate] = body.decode(candidate)[:_SAMPLE]
        except UnicodeDecodeError:
            continue
        if candidate == "utf-8":
            return candidate  # GBK or Big5 bytes are hardly ever valid UTF-8
    if not decoded:
        return None
    fewest = min(_oddities(text) for text in decoded.values())
    decoded = {name: text for name, text in decoded.items() if _oddities(text) == fewest}
    if trusted and _oddities(response.text[:_SAMPLE]) <= fewest:
        return None  # no decoding reads it better than the declared one
    if "gb18030" in decoded and "big5" in decoded:
        # Big5 bytes often decode as GB18030 too, into rare characters: real GBK text is
        # mostly made of the common (GB2312) ones.
        return "gb18030" if _common_share(decoded["gb18030"]) >= 0.8 else "big5"
    return next(iter(decoded))


# A sample decides: reading a whole 10 MB page character by character takes seconds.
_SAMPLE = 200_000


_ODD = re.compile("[\ufffd\ue000-\uf8ff]")


def _oddities(text: str) -> int:
    """Replacement and private-use characters: what a wrong CJK decoding leaves."""
    # A regular expression finds them ten times faster than a loop over the characters,
    # and every page is checked.
    return len(_ODD.findall(text))


def _utf16_order(body: bytes) -> str | None:
    """`utf-16-le` or `utf-16-be` when `body` is UTF-16 without a byte order mark (each
    ASCII character of its markup beside a NUL byte, which no GBK, Big5 or UTF-8 page has),
    else None."""
    sample = body[:4096]
    if len(sample) < 16 or sample[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return None  # a BOM is read by Scrapy itself
    for order, nul_at in (("utf-16-le", 1), ("utf-16-be", 0)):
        # A few tags are enough: a page may open with a title of thousands of CJK characters.
        nuls = sample[nul_at::2].count(0)
        if nuls >= 8 and sample[1 - nul_at :: 2].count(0) * 4 <= nuls:
            try:
                body[: len(body) - len(body) % 2].decode(order)
            except UnicodeDecodeError:
                return None
            return order
    return None


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
