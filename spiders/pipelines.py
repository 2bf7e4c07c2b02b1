"""Item pipelines, one job each, in this order: mask personal data, match, store.

Masking comes first so nothing in clear reaches the matcher's output or the store
(docs/contracts.md). The matcher and the secret are loaded once per crawl.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from scrapy.exceptions import NotConfigured

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from monitor.ingest import SweepRecorder


class MaskPiiPipeline:
    """Masks ID numbers, phone numbers and bank cards in title, text and seller; the hits
    (masked form and keyed digest) go to `item["pii"]`."""

    def __init__(self, secret: bytes, stats: Any) -> None:
        from monitor.pii import mask_pii

        self.mask_pii = mask_pii
        self.secret = secret
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        from monitor.config import install_secret

        return cls(install_secret(), crawler.stats)

    def process_item(self, item: Any) -> Any:
        hits: list[Any] = []
        for field in ("text", "title", "seller"):
            value = item.get(field)
            if value:
                item[field], found = self.mask_pii(value, self.secret)
                hits += found
        item["pii"] = hits
        if hits:
            self.stats.inc_value("heishi/pii_masked", len(hits))
        return item


class MatchPipeline:
    """Runs the keyword matcher over the masked title and text: `item["match"]`."""

    def __init__(self, stats: Any) -> None:
        from monitor.matcher import load_matcher

        self.matcher = load_matcher()
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler.stats)

    def process_item(self, item: Any) -> Any:
        item["match"] = self.matcher.match(item.get("title") or "", item.get("text") or "")
        if item["match"].alert:
            self.stats.inc_value("heishi/items_matched")
        return item


class StorePipeline:
    """Records each item in this crawl's run, through the SweepRunExtension's recorder."""

    def __init__(self, recorder: SweepRecorder, stats: Any) -> None:
        self.recorder = recorder
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        from spiders.extensions import SweepRunExtension

        extension = SweepRunExtension.of(crawler)
        if extension is None:
            raise NotConfigured("no SweepRunExtension: items are not stored")
        return cls(extension.recorder, crawler.stats)

    def process_item(self, item: Any) -> Any:
        alerts = self.recorder.record(dict(item))
        self.stats.inc_value("heishi/items_stored")
        if alerts:
            self.stats.inc_value("heishi/alerts_raised", len(alerts))
        return item
