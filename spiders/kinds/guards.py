"""What a spider does to read hostile pages safely: rows skipped one at a time, links checked
against the site's network policy before they are used, markup too deep to parse flattened,
and a listing's long fields cut (spiders/limits.py).

Stats: `heishi/rows_skipped/<reason>` (a row that was not read: `refused_link`, `long_id`,
`over_page_limit`, or the exception's name), `heishi/refused/<reason>` (spiders/network.py),
`heishi/deep_pages_flattened`, `heishi/truncated/<field>`.
"""

from __future__ import annotations

from typing import Any

from scrapy.http import Response, TextResponse

from monitor.sites.network_policy import WEB_SCHEMES, Refusal
from spiders.items import ListingItem
from spiders.limits import cap_fields
from spiders.markup import page_selector
from spiders.network import NetworkPolicyMiddleware


class PageGuardMixin:
    """For spider kinds that read list rows and build listings."""

    crawler: Any
    settings: Any
    logger: Any

    def skip_row(self, reason: str, detail: str | None = None) -> None:
        """Count a list row that could not be read; the rest of its page goes on."""
        self.crawler.stats.inc_value(f"heishi/rows_skipped/{reason}")
        if detail:
            self.logger.warning("skipped %s", detail[:500])

    def link_refused(self, url: str, followed: bool) -> bool:
        """Whether a link found on a page may not be used (counted as refused when not): a
        followed link must pass the site's network policy, a stored one be an http(s) address
        of ordinary length."""
        guard = self.policy_guard()
        limit = self.settings.getint("URLLENGTH_LIMIT", 2083)
        refusal = None
        if len(url) > limit:
            refusal = Refusal("bad_url", f"longer than {limit} characters")
        elif url.partition(":")[0].lower() not in WEB_SCHEMES:
            refusal = Refusal("scheme", "not an http(s) address")
        elif followed and guard is not None:
            refusal = guard.policy.check(url)
        if refusal is not None and guard is not None:
            guard.count(url, refusal)
        return refusal is not None

    def capped_rows(self, rows: Any, url: str) -> Any:
        """A list page's first HEISHI_MAX_ROWS_PER_PAGE rows; the rest are counted, skipped."""
        limit = self.settings.getint("HEISHI_MAX_ROWS_PER_PAGE", 1000)
        if len(rows) <= limit:
            return rows
        over = len(rows) - limit
        self.crawler.stats.inc_value("heishi/rows_skipped/over_page_limit", over)
        self.logger.warning("skipped %d rows past the first %d of %s", over, limit, url)
        return rows[:limit]

    def policy_guard(self) -> NetworkPolicyMiddleware | None:
        if not hasattr(self, "_policy_guard"):
            self._policy_guard = NetworkPolicyMiddleware.of(self.crawler)
        return self._policy_guard

    def readable(self, response: Response) -> None:
        """Parse the page for its selectors, flattening markup nested too deep to parse."""
        if isinstance(response, TextResponse):
            _, flattened = page_selector(response)
            if flattened:
                self.crawler.stats.inc_value("heishi/deep_pages_flattened")
                self.logger.warning("nesting too deep to parse, flattened: %s", response.url)

    def max_text_chars(self) -> int:
        """How much of a listing's text is kept (HEISHI_MAX_TEXT_CHARS)."""
        return self.settings.getint("HEISHI_MAX_TEXT_CHARS", 20_000)

    def cap(self, item: ListingItem) -> None:
        """Cut a listing's over-long fields (the page is kept whole as evidence), recording
        each cut field's full length in `extra.truncated` and in `heishi/truncated/<field>`."""
        max_title = self.settings.getint("HEISHI_MAX_TITLE_CHARS", 500)
        cut = cap_fields(item, max_title, self.max_text_chars())
        if not cut:
            return
        for name in cut:
            self.crawler.stats.inc_value(f"heishi/truncated/{name}")
        item["extra"] = {**(item.get("extra") or {}), "truncated": cut}
