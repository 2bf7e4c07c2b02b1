"""Telegram channels through their public preview (t.me/s/<channel>)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from parsel import Selector
from scrapy.http import Response

from spiders.items import ListingItem
from spiders.kinds.base import ListingSpider
from spiders.kinds.telegram import read_message


class ChannelSpider(ListingSpider):
    """Each message on the preview page is a listing: id from `data-post`, text with line
    breaks kept, title its first line. Older pages through `?before=<id>` up to `max_pages`.
    The `telegram` preset is the default, so a site file needs only the channel's address.

    With that preset every message with any text is kept: its own text or caption, a poll's
    question and options, document names, a link preview's title and description; who signed
    or forwarded it, what it replies to and whether it was edited go to `extra`. Messages with
    nothing to read (service notices, stickers, voice, media without a caption, locations)
    are counted in `heishi/skipped_messages/<reason>`."""

    def parse_list(self, response: Response) -> Iterator[Any]:
        """A channel page: every message is a listing, read in place.

        @fixture list
        @returns items 2 2
        @returns requests 0 0
        @scrapes site_id url title text seller posted_at views
        """
        yield from super().parse_list(response)

    def build_item(
        self,
        scope: Selector | Response,
        listing: dict[str, Any],
        response: Response,
        page: Selector | Response | None = None,
        text: str | None = None,
    ) -> ListingItem | None:
        if self.site.preset != "telegram" or text is not None or not isinstance(scope, Selector):
            return super().build_item(scope, listing, response, page, text)
        message = read_message(scope, self.site.selectors.get("text"))
        text = None if message.service else message.listing_text()
        if text is None:
            reason = message.skip_reason()
            stats = self.crawler.stats
            stats.inc_value("heishi/skipped_messages")
            stats.inc_value(f"heishi/skipped_messages/{reason}")
            self.listing_lost(response.meta, "no_text")
            self.logger.debug("message %s skipped: %s", listing["site_id"], reason)
            return None
        listing["extra"] = {**(listing.get("extra") or {}), **message.extra()}
        return super().build_item(scope, listing, response, page, text)
