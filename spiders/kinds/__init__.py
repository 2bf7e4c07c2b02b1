"""One spider class per kind of site. A new kind (paste sites, hidden services) is a class
here, its name in SITE_KINDS (monitor/vocabulary.py), a `KindSpec` in monitor/sites/presets.py,
and an entry in `SPIDER_CLASSES`."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spiders.kinds.base import SiteSpider

SPIDER_CLASSES = {
    "forum": "spiders.kinds.forum.ForumSpider",
    "marketplace": "spiders.kinds.marketplace.MarketplaceSpider",
    "channel": "spiders.kinds.channel.ChannelSpider",
    "paste": "spiders.kinds.paste.PasteSpider",
}


def spider_class(kind: str) -> type[SiteSpider]:
    """The spider class for `kind` (imported on demand)."""
    module, _, name = SPIDER_CLASSES[kind].rpartition(".")
    return getattr(import_module(module), name)
