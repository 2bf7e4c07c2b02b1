"""The listing item every spider kind yields, and the loader that cleans its fields.

Fields are the item dict of docs/contracts.md; `match` and `pii` are filled by the pipelines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import scrapy
from itemloaders.processors import Compose, Identity, MapCompose, TakeFirst
from itemloaders.utils import arg_to_iter
from scrapy.loader import ItemLoader

from monitor.sites.page_values import parse_count, parse_date
from monitor.sites.selectors import clean_text


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


def first_loaded(field_name: str, candidates: Iterable[Callable[[], Any]]) -> Any:
    """What `ListingLoader` loads into `field_name` (not `extra`) when each candidate's value
    is added in turn: the first value its input processor keeps that is neither None nor
    empty (TakeFirst). A candidate is called only when the earlier ones gave nothing, so the
    selectors behind the rest are never run; and the loader's machinery (a processor
    looked up and wrapped per value) is skipped: a sweep loads every listing it reads."""
    functions = _INPUT_FUNCTIONS[field_name]
    for candidate in candidates:
        values = arg_to_iter(candidate())
        for function in functions:
            values = [out for value in values for out in arg_to_iter(function(value))]
        for value in values:
            if value is not None and value != "":
                return value
    return None


def _input_functions(field_name: str) -> tuple[Callable[[Any], Any], ...]:
    processor = getattr(ListingLoader, f"{field_name}_in", None)
    processor = processor or ListingLoader.default_input_processor
    assert isinstance(processor, MapCompose), field_name
    return tuple(processor.functions)


_INPUT_FUNCTIONS = {name: _input_functions(name) for name in ListingItem.fields if name != "extra"}
