"""Marketplaces: search result pages (rendered by Chromium when the site says `render`), then
each listing's detail page."""

from __future__ import annotations

from collections.abc import AsyncIterator

import scrapy

from spiders.kinds.base import ListingSpider


class MarketplaceSpider(ListingSpider):
    """One search per term in `search_terms`; a listing found by several terms is fetched once
    (ids are deduplicated across the run). Detail pages are plain HTTP unless
    `render_details` is set. `start_urls`, when given, are crawled as listing pages too."""

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for term, url in self.site.search_urls():
            yield self.list_request(url, listing_extra={"search_term": term})
        for url in self.site.start_urls:
            yield self.list_request(url)
