"""Forums (Discuz! X built in as a preset): board pages, then each thread's first post."""

from __future__ import annotations

from spiders.kinds.base import ListingSpider


class ForumSpider(ListingSpider):
    """Board pages follow `next_page` up to `max_pages`; each thread row is followed to its
    thread page, read for the first post (the seller's): title, text, author, date, replies.
    A thread page that says the thread was deleted yields nothing."""
