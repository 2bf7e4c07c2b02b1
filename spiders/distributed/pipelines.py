"""The last pipeline of a distributed worker: hand each finished item to the writer."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

log = logging.getLogger(__name__)


class HandoffPipeline:
    """Adds each item (masked and matched) to the Redis stream the writer reads, with its
    sweep id, signed with the installation's key. The page of a matched listing goes along,
    masked here (Redis may persist it), so the writer keeps the evidence beside its store; other
    pages are dropped here. Runs in place of the store pipeline."""

    def __init__(
        self,
        client: Any,
        sweep: str,
        evidence: bool,
        stats: Any,
        signer: Any,
        secret: bytes = b"",
        keep: tuple[int, int] | None = None,
    ) -> None:
        self.client = client
        self.signer = signer
        self.sweep = sweep
        self.evidence = evidence
        self.stats = stats
        self.secret = secret
        self.keep = keep

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        from monitor.config import install_secret
        from monitor.privacy.pii import mask_keep
        from monitor.running.distributed import connect
        from monitor.running.payload_signing import load_signer
        from spiders.distributed import redis_url

        settings = crawler.settings
        return cls(
            connect(str(redis_url(settings))),
            settings.get("HEISHI_DISTRIBUTED_SWEEP"),
            settings.getbool("HEISHI_EVIDENCE", True),
            crawler.stats,
            load_signer(settings),
            install_secret(),
            mask_keep(),
        )

    def process_item(self, item: Any) -> Any:
        from monitor.running.distributed import ITEM_STREAM, encode_item
        from monitor.running.reconnect import through_outage

        data = dict(item)
        page = data.pop("page", None)
        if self.evidence and page is not None and getattr(data.get("match"), "alert", False):
            data["page"] = self.masked(page)
        # Synchronous on purpose: the request is acknowledged only after this returns; a
        # Redis restart is waited for (a minute), not a lost listing.
        entry = encode_item(self.signer, self.sweep, data)
        through_outage(lambda: self.client.xadd(ITEM_STREAM, entry), "handing off an item", log, 60)
        self.stats.inc_value("heishi/items_handed_off")
        item.pop("page", None)
        return item

    def masked(self, page: Any) -> Any:
        """The page with its personal numbers masked, so none travels through Redis in clear
        (the writer masks it again, finding nothing, before keeping it as evidence)."""
        from dataclasses import replace

        from monitor.privacy.evidence_masking import mask_page

        text, hits = mask_page(page.text, self.secret, self.keep)
        self.stats.inc_value("heishi/evidence_pii_masked", len(hits))
        return replace(page, text=text)
