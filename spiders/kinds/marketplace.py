"""Marketplaces: search result pages (rendered by Chromium when the site says `render`), then
each listing's detail page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.http import Response

from spiders.items import ListingItem
from spiders.kinds.base import ListingSpider


class MarketplaceSpider(ListingSpider):
    """One search per term in `search_terms`; a listing found by several terms is fetched once
    (ids are deduplicated across the run). Detail pages are plain HTTP unless
    `render_details` is set. `start_urls`, when given, are crawled as listing pages too."""

    def start_requests_list(self) -> list[scrapy.Request]:
        requests = [
            self.list_request(url, listing_extra={"search_term": term})
            for term, url in self.site.search_urls()
        ] + [self.list_request(url) for url in self.site.start_urls]
        if self.settings.getint("HEISHI_CHECK_ROWS", 0):
            requests = requests[:1]  # `heishi sources check`: the first page only
        return requests

    def parse_list(self, response: Response) -> Iterator[Any]:
        """A search-result page: each listing becomes a request for its detail page.

        @fixture list
        @returns requests 2 2
        @returns items 0 0
        """
        yield from super().parse_list(response)

    def parse_detail(self, response: Response) -> Iterator[ListingItem]:
        """A listing's page.

        @fixture detail
        @returns items 1 1
        @scrapes site_id url title text seller price_text posted_at
        """
        yield from super().parse_detail(response)
