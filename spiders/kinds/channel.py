"""Telegram channels through their public preview (t.me/s/<channel>)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrapy.http import Response

from spiders.kinds.base import ListingSpider


class ChannelSpider(ListingSpider):
    """Each message on the preview page is a listing: id from `data-post`, text with line
    breaks kept, title its first line. Older pages through `?before=<id>` up to `max_pages`.
    The `telegram` preset is the default, so a site file needs only the channel's address."""

    def parse_list(self, response: Response) -> Iterator[Any]:
        """A channel page: every message is a listing, read in place.

        @fixture list
        @returns items 2 2
        @returns requests 0 0
        @scrapes site_id url title text seller posted_at views
        """
        yield from super().parse_list(response)
