"""Forums (presets for Discuz! X, phpBB 3 and Tieba): board pages, then each thread's first
post."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrapy.http import Response

from spiders.items import ListingItem
from spiders.kinds.base import ListingSpider


class ForumSpider(ListingSpider):
    """Board pages follow `next_page` up to `max_pages`; each thread row is followed to its
    thread page, read for the first post (the seller's): title, text, author, date, replies.
    A thread page that says the thread was deleted yields nothing."""

    def parse_list(self, response: Response) -> Iterator[Any]:
        """A board page: each thread row becomes a request for its thread page.

        @fixture list
        @returns requests 2 2
        @returns items 0 0
        """
        yield from super().parse_list(response)

    def parse_detail(self, response: Response) -> Iterator[ListingItem]:
        """A thread page: its first post is the listing.

        @fixture detail
        @returns items 1 1
        @returns requests 0 0
        @scrapes site_id url title text seller posted_at
        """
        yield from super().parse_detail(response)
