"""The listing item every spider kind yields, and the loader that cleans its fields.

Fields are the item dict of docs/contracts.md; `match` and `pii` are filled by the pipelines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

import scrapy
from itemloaders.processors import Compose, Identity, MapCompose, TakeFirst
from scrapy.loader import ItemLoader

from spiders.selectors import clean_text


class ListingItem(scrapy.Item):
    site_id = scrapy.Field()
    url = scrapy.Field()
    title = scrapy.Field()
    text = scrapy.Field()
    seller = scrapy.Field()
    price_text = scrapy.Field()
    posted_at = scrapy.Field()
    replies = scrapy.Field()
    views = scrapy.Field()
    extra = scrapy.Field()
    match = scrapy.Field()
    pii = scrapy.Field()
    # The page the listing was read from, for evidence (spiders.pipelines.EvidencePipeline
    # keeps it for matched listings and removes it): never exported nor stored as is.
    page = scrapy.Field()
    evidence = scrapy.Field()  # the stored evidence's reference (monitor.running.evidence)


# Exported by feeds (FEED_EXPORT_FIELDS): every field but the transient `page`.
EXPORTED_FIELDS = [name for name in ListingItem.fields if name != "page"]


@dataclass(frozen=True)
class FetchedPage:
    """A page as the spider saw it: decoded text, its charset, a screenshot when rendered."""

    url: str
    # Not in the repr: an error logged with its item must not print the page, which still
    # holds personal numbers in clear until EvidencePipeline masks and stores it.
    text: str = field(repr=False)
    encoding: str
    fetched_at: str
    screenshot: bytes | None = field(default=None, repr=False)
    screenshot_masked: int = 0  # text nodes masked in the screenshot
    screenshot_url: str | None = None  # the page shown (a rendered list page, for instance)


_COUNT = re.compile(r"(\d+(?:[.,]\d+)*)\s*([万wWkKmM亿]?)")
_MAX_COUNT = 1e15
_MULTIPLIERS = {"": 1, "k": 1_000, "w": 10_000, "万": 10_000, "m": 1_000_000, "亿": 100_000_000}


def parse_count(text: str | int | None) -> int | None:
    """A count as a page shows it: 1,234 / 1.2K / 3.4万 / 12 回复 -> int."""
    if text is None or isinstance(text, int):
        return text
    found = _COUNT.search(str(text)[:200])
    if not found:
        return None
    try:
        number = float(found.group(1).replace(",", "")) * _MULTIPLIERS[found.group(2).lower()]
    except ValueError:  # "1.2.3"
        return None
    # A page may show anything: no count is larger than this (nor infinite).
    return int(round(number)) if number < _MAX_COUNT else None


_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[\sT]*(\d{1,2}):(\d{2})(?::(\d{2}))?)?"
)


def parse_date(text: str | None) -> str | None:
    """A post date as ISO 8601: ISO strings pass through, `发表于 2024-5-1 12:30` is read."""
    if not text:
        return None
    text = text.strip()
    if _ISO_DAY.match(text):
        return text
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat()
    except ValueError:
        pass
    found = _DATE.search(text)
    if not found:
        return None
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in found.groups())
    try:
        moment = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    if found.group(4) is None:
        return moment.date().isoformat()
    return moment.isoformat()


def first_line_title(text: str | None, limit: int = 60) -> str:
    """A title from a text with none (a channel message): its first line, trimmed."""
    for line in (text or "").splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
    return ""


def _strip_none(value: str | None) -> str | None:
    return value if value not in ("", None) else None


class ListingLoader(ItemLoader):
    default_item_class = ListingItem
    default_input_processor = MapCompose(str, clean_text, _strip_none)
    default_output_processor = TakeFirst()

    site_id_in = MapCompose(str, str.strip, _strip_none)
    replies_in = MapCompose(parse_count)
    views_in = MapCompose(parse_count)
    posted_at_in = MapCompose(parse_date)
    extra_in = Identity()
    extra_out = Compose(lambda dicts: {k: v for d in dicts for k, v in d.items()})
