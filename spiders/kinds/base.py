"""What every spider kind shares: the site it is bound to, list pages with paging and error
counting, detail pages, ids, and telling a log-in or captcha wall from a real page.

A kind's spider is a class bound to one site file (`for_site`), so `scrapy crawl demo_forum`
runs the forum spider on demo_forum.toml. Stats (docs/contracts.md): `heishi/list_page_errors`
for list pages that failed to download, `heishi/blocked_pages` for walls.

Pages are hostile input: each list row is read on its own (a row that cannot be read is
counted in `heishi/rows_skipped/<reason>` and the page goes on), links are checked against
the site's network policy before they are followed, and a listing's fields are capped.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import scrapy
from parsel import Selector
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from monitor.sites import KINDS, Site
from monitor.sites.selectors import XPATH_PREFIX, first_text, select, uncomment_pagelets
from spiders.items import FetchedPage, ListingItem, first_line_title, first_loaded
from spiders.kinds.guards import PageGuardMixin
from spiders.kinds.login import LoginMixin
from spiders.kinds.walls import CAPTCHA_URL, WALL_URL, WallMixin
from spiders.limits import download_failure_text, is_too_large
from spiders.network import NON_WEB_HANDLERS, RequestRefused
from spiders.screenshots import screenshot_methods, screenshot_of

_GONE = (404, 410)
_MAX_ID_CHARS = 512
# A profile block is a few lines; a page that puts a book there is cut (it is only searched
# for contacts).
MAX_PROFILE_CHARS = 2000
_ID_SOURCE_CHARS = 4096
_HTTP_HANDLER = "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler"


class SiteSpider(WallMixin, scrapy.Spider):
    """A spider bound to one site file."""

    site: ClassVar[Site]
    user_agent: str  # set for rendered sites (from_crawler)
    # Each kind's (ListingSpider and its subclasses).
    parse_list: Callable[[Response], Iterator[Any]]
    parse_detail: Callable[[Response], Iterator[ListingItem]]

    @classmethod
    def for_site(cls, site: Site) -> type[SiteSpider]:
        """This kind's spider class bound to `site`, named after it."""
        custom: dict[str, Any] = {}
        if site.download_delay is not None:
            custom["DOWNLOAD_DELAY"] = site.download_delay
        if site.concurrency is not None:
            custom["CONCURRENT_REQUESTS_PER_DOMAIN"] = site.concurrency
        if not site.autothrottle:
            custom["AUTOTHROTTLE_ENABLED"] = False
        if site.download_timeout is not None:
            custom["DOWNLOAD_TIMEOUT"] = site.download_timeout
        if site.download_maxsize is not None:
            custom["DOWNLOAD_MAXSIZE"] = site.download_maxsize
        if not (site.render or site.render_details):
            # No page of this site is rendered: Scrapy's own HTTP handler, so no crawl starts
            # Playwright's driver for nothing.
            custom["DOWNLOAD_HANDLERS"] = {
                "http": _HTTP_HANDLER,
                "https": _HTTP_HANDLER,
                **NON_WEB_HANDLERS,
            }
        class_name = cls.__name__ + "_" + re.sub(r"\W", "_", site.name)
        return type(
            class_name, (cls,), {"name": site.name, "site": site, "custom_settings": custom}
        )

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> Any:
        spider = super().from_crawler(crawler, *args, **kwargs)
        if cls.site.render or cls.site.render_details:
            from spiders.browser import browser_user_agent

            # Scrapy's requests and Chromium's claim the same browser (UserAgentMiddleware
            # reads the spider's `user_agent`).
            spider.user_agent = browser_user_agent(crawler.settings)
        return spider

    # -- requests ---------------------------------------------------------------------------

    def render_meta(self, render: bool) -> dict[str, Any]:
        """Request.meta for a page Chromium renders (scrapy-playwright), or for plain HTTP."""
        if not render:
            return {}
        from scrapy_playwright.page import PageMethod

        methods = []
        if self.site.wait_selector:
            wait = self.site.wait_selector
            if wait.startswith(XPATH_PREFIX):
                wait = "xpath=" + wait[len(XPATH_PREFIX) :].strip()
            # "attached": a done marker is often an empty, invisible element.
            timeout = self.settings.getint("HEISHI_RENDER_WAIT_TIMEOUT", 20_000)
            methods.append(PageMethod("wait_for_selector", wait, state="attached", timeout=timeout))
        if self.settings.getbool("HEISHI_EVIDENCE_SCREENSHOTS", True):
            methods += screenshot_methods()
        return {"playwright": True, "playwright_page_methods": methods}

    def list_request(
        self, url: str, callback: Callable[..., Any] | None = None, page: int = 1, **meta: Any
    ) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=callback or self.parse_list,
            errback=self.list_page_failed,
            meta={"heishi_page": page, **meta, **self.render_meta(self.site.render)},
            dont_filter=page == 1,
        )

    def detail_request(self, url: str, listing: dict[str, Any]) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=self.parse_detail,
            errback=self.detail_page_failed,
            meta={"listing": listing, **self.render_meta(self.site.render_details)},
        )

    def list_page_failed(self, failure: Failure) -> None:
        stats = self.crawler.stats
        request = failure.request  # type: ignore[attr-defined]
        redirects = request.meta.get("redirect_urls") or ()
        if failure.check(RequestRefused):
            if redirects and WALL_URL.search(request.url):
                # Sent to a log-in or verification page on another host: a wall.
                stats.inc_value("heishi/blocked_pages")
                captcha = CAPTCHA_URL.search(request.url)
                stats.inc_value("heishi/captcha_pages" if captcha else "heishi/login_walls")
                self.note_first_error(f"{redirects[0]} sends to a log-in wall at {request.url}")
                return
            if int(request.meta.get("heishi_page", 1)) > 1:
                return  # a later page's link or redirect: counted as refused, not the list
        stats.inc_value("heishi/list_page_errors")
        if isinstance(failure.value, HttpError):
            status = failure.value.response.status
            if status in (401, 403):
                stats.inc_value("heishi/blocked_pages")
            self.count_refusal(failure.value.response)
            problem = f"list page {request.url} answered HTTP {status}"
        else:
            where = f"{redirects[0]} (redirected to {request.url})" if redirects else request.url
            if isinstance(failure.value, RequestRefused):
                problem = f"list page {where} refused: {failure.value.refusal.detail}"
            else:
                if is_too_large(failure):
                    stats.inc_value("heishi/pages_too_large")
                text = download_failure_text(failure, request, self.settings)
                problem = f"list page {where} failed: {text}"
        self.logger.error(problem)
        self.note_first_error(problem)

    def detail_page_failed(self, failure: Failure) -> None:
        stats = self.crawler.stats
        request = failure.request  # type: ignore[attr-defined]
        if failure.check(RequestRefused):
            # Counted and logged as refused: a redirect or refresh the site may not send us to.
            self.listing_lost(request.meta, "detail_refused")
            return
        if isinstance(failure.value, HttpError) and failure.value.response.status in _GONE:
            # A removed listing: the store notices it is missing after a complete sweep.
            stats.inc_value("heishi/detail_pages_gone")
            self.listing_lost(request.meta, "detail_gone")
            self.logger.info(
                "listing gone (HTTP %s): %s", failure.value.response.status, request.url
            )
            return
        stats.inc_value("heishi/detail_page_errors")
        self.listing_lost(request.meta, "detail_failed")
        if is_too_large(failure):
            stats.inc_value("heishi/pages_too_large")
        text = download_failure_text(failure, request, self.settings)
        problem = f"detail page {request.url} failed: {text}"
        self.logger.warning(problem)
        self.note_first_error(problem)

    def listing_lost(self, meta: dict[str, Any], reason: str) -> None:
        """A list row whose listing was not read after all (its page was refused, failed, is
        gone or says so, or had no text): counted in `heishi/rows_skipped/<reason>` like a
        row that could not be read, so every row of a list page is stored or counted. A
        listing checked on its own page for removal is no row of this sweep's list."""
        if not meta.get("heishi_removal_check"):
            self.crawler.stats.inc_value(f"heishi/rows_skipped/{reason}")

    def note_first_error(self, problem: str) -> None:
        """Keep the first failure in the stats, so the run's error can name its URL."""
        if not self.crawler.stats.get_value("heishi/first_error"):
            self.crawler.stats.set_value("heishi/first_error", problem)

    # -- reading pages ----------------------------------------------------------------------

    def is_removed(self, response: Response) -> bool:
        """Whether a detail page says the listing was deleted (served with HTTP 200)."""
        site = self.site
        if select(response, site.selectors.get("removed")):
            return True
        return any(marker in response.text for marker in site.removed_text)

    def listing_id(self, row: Selector, url: str | None) -> str | None:
        """The listing's id on the site: `item_id` text or the link, through `id_pattern`."""
        raw = first_text(row, self.site.selectors.get("item_id"))
        for candidate in (raw, url):
            if not candidate:
                continue
            if not self.site.id_pattern:
                return candidate
            # Ids are short: a hostile megabyte of "id" never meets the site's pattern whole.
            found = re.search(self.site.id_pattern, candidate[:_ID_SOURCE_CHARS])
            if found:
                return found.group(1) if found.groups() else found.group(0)
        return url

    def next_page(self, response: Response) -> str | None:
        """The next (older) list page: a link, or a bare number meaning `?before=<n>`."""
        value = first_text(response, self.site.selectors.get("next_page"))
        if not value:
            return None
        if value.isdigit():
            parts = urlsplit(response.url)
            query = [(k, v) for k, v in parse_qsl(parts.query) if k != "before"]
            return urlunsplit(parts._replace(query=urlencode([*query, ("before", value)])))
        return response.urljoin(value)


class ListingSpider(LoginMixin, PageGuardMixin, SiteSpider):
    """List pages of items, each followed to its detail page (or read in place when the
    kind has no detail pages, or an item has no link)."""

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for request in self.with_log_in(self.start_requests_list()):
            yield request

    def start_requests_list(self) -> list[scrapy.Request]:
        urls = self.site.start_urls
        if self.settings.getint("HEISHI_CHECK_ROWS", 0):
            urls = urls[:1]  # `heishi sources check`: the first page only
        return [self.list_request(url) for url in urls]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen_ids: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> Any:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.request_dropped, signal=scrapy.signals.request_dropped)
        return spider

    def request_dropped(self, request: scrapy.Request) -> None:
        """A listing's page that Scrapy's duplicate filter dropped: another row's page (or
        one that redirected there) had already asked for that address."""
        if "listing" in request.meta:
            self.listing_lost(request.meta, "duplicate_page")

    def parse_list(self, response: Response) -> Iterator[Any]:
        sel = self.site.selectors
        if self.site.commented_html and isinstance(response, TextResponse):
            html = uncomment_pagelets(response.text)
            response = response.replace(body=html.encode("utf-8"), encoding="utf-8")
        self.readable(response)
        rows = select(response, sel["item"]) if isinstance(response, TextResponse) else []
        if self.looks_blocked(response, content_found=bool(rows)):
            if self.can_log_in():
                # The session expired (or there was none): log in, then read this page again.
                yield from self.log_in([self.list_request_again(response)])
                return
            self.count_blocked(response)
            return
        if not rows:
            if self.looks_empty(response):
                self.crawler.stats.inc_value("heishi/source_empty_pages")
                self.logger.info("list page says the source has no listings: %s", response.url)
            else:
                self.crawler.stats.inc_value("heishi/empty_list_pages")
                self.logger.warning("no items on list page %s", response.url)
        self.crawler.stats.inc_value("heishi/list_rows", len(rows))
        # `heishi sources check` looks at the first few rows of the first page only.
        sample = self.settings.getint("HEISHI_CHECK_ROWS", 0)
        rows = rows[:sample] if sample else self.capped_rows(rows, response.url)
        shot, masked = screenshot_of(response.meta)
        list_screenshot = (response.url, shot, masked) if shot else None
        for number, row in enumerate(rows, 1):
            # One row's trouble (a hostile link, odd markup) never costs the page's others.
            try:
                result = self.read_row(row, response, list_screenshot)
            except Exception as exc:
                self.skip_row(type(exc).__name__, f"row {number} of {response.url}: {exc!r}")
                continue
            if result is not None:
                yield result
        yield from self.follow_next(response)

    def read_row(
        self,
        row: Selector,
        response: Response,
        list_screenshot: tuple[str, bytes, int] | None,
    ) -> scrapy.Request | ListingItem | None:
        """A list row: the request for its detail page, or its item read in place."""
        sel = self.site.selectors
        details = KINDS[self.site.kind].detail_pages
        link = first_text(row, sel.get("item_link"))
        url = response.urljoin(link) if link else None
        if url is not None and self.link_refused(url, followed=details):
            if details:
                self.skip_row("refused_link")
                return None
            url = None  # read in place: the listing keeps the list page's address
        site_id = self.listing_id(row, url)
        if not site_id:
            self.skip_row("no_id")
            return None
        if site_id in self.seen_ids:
            self.skip_row("duplicate")  # on this page or an earlier one (a shifted list)
            return None
        if len(site_id) > _MAX_ID_CHARS:
            self.skip_row("long_id")
            return None
        detail = self.detail_url(url, site_id, response) if details and url else None
        if detail is not None and detail != url and self.link_refused(detail, followed=True):
            self.skip_row("refused_link")
            return None
        self.seen_ids.add(site_id)
        listing = {
            "site_id": site_id,
            "url": url or response.url,
            "title": first_text(row, sel.get("item_title")),
            "seller": first_text(row, sel.get("item_author")),
            "price_text": first_text(row, sel.get("item_price")),
            "replies": first_text(row, sel.get("item_replies")),
            "views": first_text(row, sel.get("item_views")),
            "posted_at": first_text(row, sel.get("item_posted")),
            "extra": dict(response.meta.get("listing_extra") or {}),
            # A rendered list page's screenshot stands for listings read over plain HTTP.
            "list_screenshot": list_screenshot,
        }
        if detail is not None:
            return self.detail_request(detail, listing)
        return self.build_item(row, listing, response)

    def list_request_again(self, response: Response) -> scrapy.Request:
        """The request for this list page once more (where it was, before any redirect)."""
        redirects = response.meta.get("redirect_urls") or ()
        extra = {k: response.meta[k] for k in ("listing_extra",) if k in response.meta}
        return self.list_request(
            redirects[0] if redirects else response.url,
            response.request.callback,  # type: ignore[union-attr]
            int(response.meta.get("heishi_page", 1)),
            **extra,
        ).replace(dont_filter=True)

    def follow_next(self, response: Response) -> Iterator[scrapy.Request]:
        page = int(response.meta.get("heishi_page", 1))
        if self.settings.getint("HEISHI_CHECK_ROWS", 0):
            self.crawler.stats.set_value("heishi/check/next_page", self.next_page(response))
            return
        if page >= self.site.max_pages:
            return
        url = self.next_page(response)
        if url and url != response.url and not self.link_refused(url, followed=True):
            extra = (
                {"listing_extra": response.meta["listing_extra"]}
                if "listing_extra" in response.meta
                else {}
            )
            yield self.list_request(url, response.request.callback, page + 1, **extra)  # type: ignore[union-attr]

    def detail_url(self, link: str, site_id: str, response: Response) -> str:
        """The address a listing is read from (paste sites read the raw text instead)."""
        return link

    def parse_detail(self, response: Response) -> Iterator[ListingItem]:
        listing = response.meta["listing"]
        if not isinstance(response, TextResponse):
            self.crawler.stats.inc_value("heishi/detail_page_errors")
            self.listing_lost(response.meta, "detail_failed")
            return
        self.readable(response)
        if self.is_removed(response):
            self.crawler.stats.inc_value("heishi/removed_pages")
            self.listing_lost(response.meta, "detail_removed")
            self.logger.info("listing removed: %s", response.url)
            return
        posts = select(response, self.site.selectors.get("post"))
        scope = posts[0] if posts else response
        item = self.build_item(scope, listing, response, page=response)
        if item is not None:
            yield item

    def build_item(
        self,
        scope: Selector | Response,
        listing: dict[str, Any],
        response: Response,
        page: Selector | Response | None = None,
        text: str | None = None,
    ) -> ListingItem | None:
        """The item from a detail page (`scope` = its first post) or a list item in place;
        `text` when the kind read it another way (a paste's raw text)."""
        sel = self.site.selectors
        if text is None:
            text = first_text(scope, sel.get("text"))
        if text is None:
            if self.is_blocked(response, content_found=False):
                self.listing_lost(response.meta, "blocked")
                return None
            self.crawler.stats.inc_value("heishi/unparsed_pages")
            self.listing_lost(response.meta, "no_text")
            self.logger.warning("no text found for %s on %s", listing["site_id"], response.url)
            return None
        # Each field's candidates in order of preference: the first with a value wins, as
        # ListingLoader (spiders/items.py) would load them.
        item = ListingItem()
        values: dict[str, Any] = {
            "site_id": first_loaded("site_id", [partial(listing.__getitem__, "site_id")]),
            "url": first_loaded("url", [partial(listing.__getitem__, "url")]),
        }
        nodes = (scope,) if page is None else (page, scope)
        titles: list[Callable[[], Any]] = [
            partial(first_text, node, sel.get("title")) for node in nodes
        ]
        titles += [partial(listing.get, "title"), partial(first_line_title, text)]
        values["title"] = first_loaded("title", titles)
        values["text"] = first_loaded("text", [partial(str, text)])
        nodes = (scope,) if page is None else (scope, page)
        for field, name in (
            ("seller", "author"),
            ("price_text", "price"),
            ("posted_at", "posted"),
            ("replies", "replies"),
            ("views", "views"),
        ):
            found: list[Callable[[], Any]] = [
                partial(first_text, node, sel.get(name)) for node in nodes
            ]
            values[field] = first_loaded(field, [*found, partial(listing.get, field)])
        for field, value in values.items():
            if value is not None:
                item[field] = value
        extra = dict(listing.get("extra") or {})
        profile = first_text(scope, sel.get("profile"))
        if profile is None and page is not None:
            profile = first_text(page, sel.get("profile"))
        if profile:
            extra["profile"] = profile[:MAX_PROFILE_CHARS]
        item["extra"] = extra
        self.cap(item)
        item["page"] = fetched_page(response, listing.get("list_screenshot"))
        return item


def fetched_page(
    response: Response, list_screenshot: tuple[str, bytes, int] | None = None
) -> FetchedPage | None:
    """The page an item was read from, as evidence; its screenshot when it was rendered,
    else the screenshot of the rendered list page that led to it."""
    if not isinstance(response, TextResponse):
        return None
    screenshot, masked = screenshot_of(response.meta)
    screenshot_url = response.url if screenshot else None
    if screenshot is None and list_screenshot is not None:
        screenshot_url, screenshot, masked = list_screenshot
    return FetchedPage(
        url=response.url,
        text=response.text,
        encoding=response.encoding,
        fetched_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        screenshot=screenshot,
        screenshot_masked=masked,
        screenshot_url=screenshot_url,
    )
