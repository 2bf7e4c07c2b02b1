"""Telling a page that is not the list it should be from one whose selectors broke: a log-in
wall, a captcha or bot check, a site that refuses the crawler (HTTP 403, 429, 451), or a
board or channel that says it is empty. Each is counted in its own stat, which
monitor.running.source_health reads into the source's health: `heishi/blocked_pages` for walls (of
them `heishi/login_walls` and `heishi/captcha_pages`), `heishi/http_refused/<status>`, and
`heishi/source_empty_pages` (counted where the list page is read).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

from scrapy.http import Response, TextResponse

from monitor.sites.selectors import select

if TYPE_CHECKING:
    from monitor.sites import Site

# Words of a log-in or captcha wall, checked only on pages where the content was not found
# (ordinary pages carry "登录" links in their headers).
WALL_MARKERS = (
    "验证码",
    "驗證碼",
    "captcha",
    "请先登录",
    "请登录",
    "登录后",
    "请先登錄",
    "人机验证",
    "安全验证",
    "访问验证",
    "are you a robot",
    "just a moment",
    "cf-challenge",
)
# Of those, the words of a captcha or a bot check (the others ask for a log-in).
CAPTCHA_MARKERS = (
    "验证码",
    "驗證碼",
    "captcha",
    "人机验证",
    "安全验证",
    "访问验证",
    "are you a robot",
    "just a moment",
    "cf-challenge",
)
CAPTCHA_URL = re.compile(r"captcha|verify|challenge", re.I)
# HTTP answers that refuse a crawler (401 asks for a log-in instead).
_REFUSING = (403, 429, 451)
_PASSWORD_FIELD = "input[type=password]"
# Where sites send a visitor they want to log in or to verify.
WALL_URL = re.compile(
    r"login|logon|signin|sign_in|sign-in|logging|passport|captcha|verify|challenge|ucp\.php",
    re.I,
)


class WallMixin:
    """Walls, refusals and empty sources, for a spider bound to a site (`self.site`)."""

    site: ClassVar[Site]
    crawler: Any
    logger: Any
    note_first_error: Any  # SiteSpider's: the first failure, kept for the run's error

    def is_blocked(self, response: Response, content_found: bool) -> bool:
        """Whether `response` is a log-in or captcha wall; counts it when it is."""
        blocked = self.looks_blocked(response, content_found)
        if blocked:
            self.count_blocked(response)
        return blocked

    def looks_blocked(self, response: Response, content_found: bool) -> bool:
        """Whether `response` is a log-in or captcha wall (nothing counted)."""
        if not isinstance(response, TextResponse):
            return False
        site = self.site
        text = response.text
        if select(response, site.selectors.get("blocked")) or any(
            marker in text for marker in site.blocked_text
        ):
            return True
        if content_found or self.looks_empty(response):
            # A guest's page often carries a log-in form in its header (Discuz!): a page
            # that says it has nothing to list is an empty source, not a wall.
            return False
        # Sent elsewhere, and the address says where: a log-in or verification page.
        if response.meta.get("redirect_urls") and WALL_URL.search(response.url):
            return True
        lowered = text.lower()
        return bool(response.css(_PASSWORD_FIELD)) or any(
            marker in lowered for marker in WALL_MARKERS
        )

    def looks_empty(self, response: Response) -> bool:
        """Whether a list page says its source has no listings at all (an empty board, a
        channel with no posts): not a page whose rows the selectors no longer find."""
        if not isinstance(response, TextResponse):
            return False
        site = self.site
        return bool(select(response, site.selectors.get("empty"))) or any(
            marker in response.text for marker in site.empty_text
        )

    def count_refusal(self, response: Response) -> None:
        """Why a list page answered an HTTP error, for source health: a bot check (a captcha
        page sent with 403 or 503), a log-in (401), or a refusal (403, 429, 451)."""
        stats = self.crawler.stats
        if isinstance(response, TextResponse) and self.is_captcha(response):
            stats.inc_value("heishi/captcha_pages")
        elif response.status == 401:
            stats.inc_value("heishi/login_walls")
        elif response.status in _REFUSING:
            stats.inc_value(f"heishi/http_refused/{response.status}")

    def is_captcha(self, response: Response) -> bool:
        """Whether a wall is a captcha or bot check rather than a log-in form."""
        if CAPTCHA_URL.search(response.url):
            return True
        lowered = response.text.lower() if isinstance(response, TextResponse) else ""
        return any(marker in lowered for marker in CAPTCHA_MARKERS)

    def count_blocked(self, response: Response) -> None:
        # Which wall, for source health: a captcha needs a person, a log-in needs credentials.
        if self.is_captcha(response):
            self.crawler.stats.inc_value("heishi/captcha_pages")
        else:
            self.crawler.stats.inc_value("heishi/login_walls")
        self.crawler.stats.inc_value("heishi/blocked_pages")
        self.logger.warning("page looks like a log-in or captcha wall: %s", response.url)
        self.note_first_error(f"{response.url} is a log-in or captcha wall")
