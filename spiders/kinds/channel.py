"""Telegram channels through their public preview (t.me/s/<channel>)."""

from __future__ import annotations

from spiders.kinds.base import ListingSpider


class ChannelSpider(ListingSpider):
    """Each message on the preview page is a listing: id from `data-post`, text with line
    breaks kept, title its first line. Older pages through `?before=<id>` up to `max_pages`.
    The `telegram` preset is the default, so a site file needs only the channel's address."""
