"""Item pipelines, one job each, in this order: mask personal data, match, keep evidence,
store.

Masking comes first so nothing in clear reaches the matcher's output or the store
(docs/contracts.md). The matcher and the secret are loaded once per crawl.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from scrapy.exceptions import NotConfigured

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from monitor.alerting.ingest import SweepRecorder


class MaskPiiPipeline:
    """Masks ID numbers, phone numbers and bank cards in title, text, seller, price and every
    string in `extra`, however deep (a channel message's quoted reply, poll, documents, link
    preview and forwarder are nested there); the hits (masked form and keyed digest) go to
    `item["pii"]`.

    Settings: HEISHI_PII_MASK_KEEP (environment; digits a masked number keeps)."""

    def __init__(self, secret: bytes, stats: Any, keep: tuple[int, int] | None = None) -> None:
        self.secret = secret
        self.stats = stats
        self.keep = keep

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        from monitor.config import install_secret
        from monitor.privacy.pii import mask_keep

        return cls(install_secret(), crawler.stats, mask_keep())

    def process_item(self, item: Any) -> Any:
        from monitor.privacy.pii import mask_listing

        hits = mask_listing(item, self.secret, self.keep)
        item["pii"] = hits
        if hits:
            self.stats.inc_value("heishi/pii_masked", len(hits))
        return item


class MatchPipeline:
    """Runs the keyword matcher over the masked title and text: `item["match"]`. The site's
    name and spider kind choose the keyword files scoped to them (keywords/README.md)."""

    def __init__(self, stats: Any, source: str | None = None, kind: str | None = None) -> None:
        from monitor.matching.matcher import load_matcher

        self.matcher = load_matcher()
        self.stats = stats
        self.source = source
        self.kind = kind

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        site = getattr(crawler.spidercls, "site", None)
        return cls(crawler.stats, getattr(site, "name", None), getattr(site, "kind", None))

    def process_item(self, item: Any) -> Any:
        item["match"] = self.matcher.match(
            item.get("title") or "", item.get("text") or "", source=self.source, kind=self.kind
        )
        if item["match"].alert:
            self.stats.inc_value("heishi/items_matched")
        return item


class EvidencePipeline:
    """Keeps the page (personal data masked, gzip) and the screenshot of every matched listing
    in the store's evidence folder, and puts their reference in `item["evidence"]`
    (monitor/running/evidence.py). Drops the transient `item["page"]` of every item.

    Settings: HEISHI_EVIDENCE (default True), HEISHI_DB."""

    def __init__(
        self,
        directory: Path | None,
        secret: bytes,
        stats: Any,
        keep: tuple[int, int] | None = None,
    ) -> None:
        self.directory = directory
        self.secret = secret
        self.stats = stats
        self.keep = keep

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        from monitor.config import db_path, install_secret
        from monitor.privacy.pii import mask_keep
        from monitor.running.evidence import evidence_dir

        settings = crawler.settings
        directory = None
        if settings.getbool("HEISHI_EVIDENCE", True):
            directory = evidence_dir(db_path(settings.get("HEISHI_DB")))
        return cls(directory, install_secret(), crawler.stats, mask_keep())

    def process_item(self, item: Any) -> Any:
        page = item.pop("page", None)
        match = item.get("match")
        if self.directory is None or page is None or not getattr(match, "alert", False):
            return item
        from monitor.running.evidence import keep_evidence

        item["evidence"] = keep_evidence(
            self.directory, vars(page), self.secret, self.keep, self.stats
        )
        return item


class StorePipeline:
    """Records each item in this crawl's run, through the SweepRunExtension's recorder. When
    the store cannot take more (a full disk, a run closed under the crawl) the crawl stops
    once, with one line saying why, and its run is closed as failed."""

    def __init__(self, recorder: SweepRecorder, stats: Any, run: Any = None) -> None:
        self.recorder = recorder
        self.stats = stats
        self.run = run  # the SweepRunExtension

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        from spiders.extensions import SweepRunExtension

        extension = SweepRunExtension.of(crawler)
        if extension is None:
            raise NotConfigured("no SweepRunExtension: items are not stored")
        return cls(extension.recorder, crawler.stats, extension)

    def process_item(self, item: Any) -> Any:
        from monitor.errors import StoreError

        if self.run is not None and self.run.fatal_error is not None:
            self.stats.inc_value("heishi/items_not_stored")
            return item
        try:
            self.recorder.record(dict(item))
        except StoreError as exc:
            if self.run is None:
                raise
            self.stats.inc_value("heishi/items_not_stored")
            self.run.stop_crawl(str(exc), "store_error")
            return item
        self.stats.inc_value("heishi/items_stored")
        return item
