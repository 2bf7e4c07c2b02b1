"""Paste sites: a list page of paste links, then each paste's raw text."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrapy.http import Response, TextResponse

from spiders.items import ListingItem
from spiders.kinds.base import ListingSpider

# Dumps can be huge; the matcher needs the beginning (where sellers describe what it is).
# A paste keeps more of its text than other listings (HEISHI_MAX_TEXT_CHARS).
MAX_TEXT_CHARS = 200_000


class PasteSpider(ListingSpider):
    """Each link on the list page (the `pastebin` preset reads pastebin.com's archive) is a
    paste; its text is read from `raw_url` (`/raw/{id}`), the listing's address stays the
    paste's page. With a `text` selector and no `raw_url`, the paste page itself is read."""

    def parse_list(self, response: Response) -> Iterator[Any]:
        """A list of pastes: each becomes a request for its raw text.

        @fixture list
        @returns requests 2 2
        @returns items 0 0
        """
        yield from super().parse_list(response)

    def max_text_chars(self) -> int:
        return self.settings.getint("HEISHI_PASTE_MAX_CHARS", MAX_TEXT_CHARS)

    def detail_url(self, link: str, site_id: str, response: Response) -> str:
        if not self.site.raw_url:
            return link
        return response.urljoin(self.site.raw_url.replace("{id}", site_id))

    def parse_detail(self, response: Response) -> Iterator[ListingItem]:
        """A paste's raw text.

        @fixture detail.txt
        @returns items 1 1
        @scrapes site_id url title text
        """
        if not self.site.raw_url or not isinstance(response, TextResponse):
            yield from super().parse_detail(response)
            return
        if self.is_removed(response):
            self.crawler.stats.inc_value("heishi/removed_pages")
            self.listing_lost(response.meta, "detail_removed")
            return
        text = response.text  # cut at HEISHI_PASTE_MAX_CHARS by build_item (ListingSpider.cap)
        if not text.strip():
            self.crawler.stats.inc_value("heishi/unparsed_pages")
            self.listing_lost(response.meta, "no_text")
            return
        item = self.build_item(response, response.meta["listing"], response, text=text)
        if item is not None:
            yield item
