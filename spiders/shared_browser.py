"""Chromium shared by the crawls of one process: scrapy-playwright's browser provider
(PLAYWRIGHT_BROWSER_PROVIDER) for spiders.browser.BrowserDownloadHandler.

scrapy-playwright starts a Playwright driver and a Chromium for every crawl that renders. A warm
crawl worker (spiders/crawl_worker.py) runs crawl after crawl, several at once, so here the
process keeps one Playwright driver, started when a crawl first needs a browser, and one
Chromium per distinct launch options. The options hold the site's network policy as Chromium's
`--host-resolver-rules` (spiders.browser: what names resolve to, fixed at launch), so crawls of
sources under the same policy (every sweep of one source, boards of one site) share one
browser, each crawl in browser contexts of its own, while a source under another policy gets a
browser of its own: no page ever runs under another site's rules.

A browser that exits under its crawls (a crash, a kill) fails only the crawls that were using
it (BrowserDownloadHandler logs it as their error, so their runs are not complete); the next
page any crawl renders launches a new one. A browser no crawl uses is closed, except that a
warm worker keeps the last `KEEP_IDLE` for the next sweeps (`keep_idle_browsers`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Playwright

log = logging.getLogger(__name__)


@dataclass
class SharedBrowser:
    """One launched Chromium, the launch options it was started with, and its users."""

    key: str
    browser: Browser
    users: int = 0
    launched_at: float = field(default_factory=time.monotonic)
    idle_since: float = 0.0


class _Browsers:
    """This process's Playwright driver and browsers (all used from the reactor's loop)."""

    def __init__(self) -> None:
        self.keep_idle = 0  # browsers kept once no crawl uses them (a warm worker: a few)
        self.manager: Any = None  # playwright's context manager, once started
        self.playwright: Playwright | None = None
        self.browsers: dict[str, SharedBrowser] = {}
        self.launched = 0  # browsers launched in this process, for tests and stats
        self._lock: asyncio.Lock | None = None

    @property
    def lock(self) -> asyncio.Lock:
        if self._lock is None:  # made in the loop that uses it
            self._lock = asyncio.Lock()
        return self._lock

    async def driver(self) -> Playwright:
        if self.playwright is None:
            from playwright.async_api import async_playwright

            self.manager = async_playwright()
            self.playwright = await self.manager.start()
        return self.playwright

    async def claim(self, browser_type: str, options: dict[str, Any]) -> tuple[SharedBrowser, bool]:
        """The running browser launched with `options` (launched now if there is none), one
        more user counted; and whether it was launched for this claim."""
        key = launch_key(browser_type, options)
        async with self.lock:
            shared = self.browsers.get(key)
            launched = False
            if shared is None or not shared.browser.is_connected():
                playwright = await self.driver()
                browser = await getattr(playwright, browser_type).launch(**options)
                shared = SharedBrowser(key, browser)
                self.browsers[key] = shared
                self.launched += 1
                launched = True

                def forget(*_: Any, gone: SharedBrowser = shared) -> None:
                    if self.browsers.get(gone.key) is gone:
                        del self.browsers[gone.key]

                browser.on("disconnected", forget)
            shared.users += 1
            return shared, launched

    async def release(self, shared: SharedBrowser) -> None:
        """One user fewer; close what is idle beyond `keep_idle`, and the driver with the
        last browser unless idle browsers are kept."""
        async with self.lock:
            shared.users = max(0, shared.users - 1)
            if shared.users == 0:
                shared.idle_since = time.monotonic()
            idle = sorted(
                (b for b in self.browsers.values() if b.users == 0), key=lambda b: b.idle_since
            )
            surplus = idle[: max(0, len(idle) - self.keep_idle)]
            for gone in surplus:
                del self.browsers[gone.key]
            for gone in surplus:
                with contextlib.suppress(Exception):  # already dead: nothing to close
                    await gone.browser.close()
            if not self.browsers and self.keep_idle == 0:
                await self._stop_driver()

    async def settle(self) -> None:
        """Stop the driver when no browser is left and none is kept."""
        async with self.lock:
            if not self.browsers and self.keep_idle == 0:
                await self._stop_driver()

    async def close_all(self) -> None:
        """Close every browser and the driver (a worker about to exit)."""
        async with self.lock:
            browsers, self.browsers = list(self.browsers.values()), {}
            for shared in browsers:
                with contextlib.suppress(Exception):
                    await shared.browser.close()
            await self._stop_driver()

    async def _stop_driver(self) -> None:
        manager, self.manager, self.playwright = self.manager, None, None
        if manager is not None:
            with contextlib.suppress(Exception):
                await manager.__aexit__()


BROWSERS = _Browsers()


def keep_idle_browsers(count: int) -> None:
    """Keep up to `count` browsers that no crawl uses, for the next crawls (a warm worker)."""
    BROWSERS.keep_idle = max(0, count)


def launch_key(browser_type: str, options: dict[str, Any]) -> str:
    """Which browsers are the same: the browser type and every launch option."""
    return json.dumps([browser_type, options], sort_keys=True, default=str)


async def close_all() -> None:
    await BROWSERS.close_all()


class SharedBrowserProvider:
    """scrapy-playwright's browser provider: this crawl's claim on a shared browser."""

    def __init__(self, config: Any) -> None:
        self.config = config
        self.claimed: SharedBrowser | None = None
        self.launched = 0  # browsers this crawl's claims launched (0: it used a running one)

    async def start(self) -> None:
        """Nothing yet: the driver starts with the first browser a crawl needs."""

    async def launch_browser(self) -> Browser:
        if self.config.cdp_url or self.config.connect_url:
            raise NotImplementedError("heishi launches its own Chromium (no CDP or remote URL)")
        previous, self.claimed = self.claimed, None
        if previous is not None:  # it exited under this crawl: claim its successor
            await BROWSERS.release(previous)
        shared, launched = await BROWSERS.claim(
            self.config.browser_type_name, dict(self.config.launch_options)
        )
        self.claimed = shared
        self.launched += launched
        return shared.browser

    async def launch_persistent_context(self, context_kwargs: dict[str, Any]) -> BrowserContext:
        playwright = await BROWSERS.driver()
        browser_type = getattr(playwright, self.config.browser_type_name)
        context: BrowserContext = await browser_type.launch_persistent_context(**context_kwargs)
        return context

    async def close(self) -> None:
        claimed, self.claimed = self.claimed, None
        if claimed is not None:
            await BROWSERS.release(claimed)
        else:  # a persistent context's crawl: the driver may be left with nothing to do
            await BROWSERS.settle()
