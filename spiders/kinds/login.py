"""Form log-in for sites that show listings to members only.

A site file's `login` names the log-in page and the environment variables that hold the
credentials (never the credentials themselves). The spider logs in before its first list
page when it has no cookies from an earlier run (spiders/cookies.py keeps them), and again,
once per crawl, when a list page turns out to be a log-in wall (the session expired). A
log-in that comes back to the form is a blocked source (`heishi/blocked_pages`), not a source
without listings.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import scrapy
from parsel import Selector
from scrapy.http import FormRequest, Response, TextResponse

from monitor.settings import variables
from monitor.sites.selectors import XPATH_PREFIX

if TYPE_CHECKING:
    from twisted.python.failure import Failure

    from monitor.sites import Site


class LoginMixin:
    """For spider kinds with list pages: `with_log_in(requests)` and `log_in(then)`."""

    site: Site
    crawler: Any
    logger: Any

    def can_log_in(self) -> bool:
        """Whether a log-in may still be tried in this crawl."""
        return self.site.login is not None and not getattr(self, "_login_tried", False)

    def with_log_in(self, requests: Iterable[scrapy.Request]) -> Iterator[scrapy.Request]:
        """`requests`, preceded by a log-in when the site has one and no cookies were kept."""
        restored = self.crawler.stats.get_value("heishi/cookies_restored", 0)
        if self.can_log_in() and not restored:
            yield from self.log_in(list(requests))
        else:
            yield from requests

    def log_in(self, then: list[scrapy.Request]) -> Iterator[scrapy.Request]:
        """Fetch the log-in page; after a successful log-in, `then` are crawled."""
        self._login_tried = True
        login = self.site.login
        assert login is not None
        self.crawler.stats.inc_value("heishi/login_attempts")
        yield scrapy.Request(
            login.url,
            callback=self.submit_login,
            errback=self.login_page_failed,
            dont_filter=True,
            priority=100,
            meta={"heishi_then": then},
        )

    def submit_login(self, response: Response) -> Iterator[scrapy.Request]:
        login = self.site.login
        assert login is not None
        then = response.meta["heishi_then"]
        env = variables()  # the site file names the variables that hold its credentials
        missing = [n for n in (login.username_env, login.password_env) if not env.get(n)]
        if missing:
            self.login_failed(f"environment variable {missing[0]} is not set")
            return
        spec = login.form_selector
        if spec.startswith(XPATH_PREFIX):
            where = {"formxpath": spec[len(XPATH_PREFIX) :].strip()}
            forms = response.xpath(where["formxpath"]) if isinstance(response, TextResponse) else []
        else:
            where = {"formcss": spec}
            forms = response.css(spec) if isinstance(response, TextResponse) else []
        if not forms:
            self.login_failed(f"no log-in form ({spec}) on {response.url}")
            return
        form = forms[0]
        password_field = login.password_field or form.css("input[type=password]::attr(name)").get()
        username_field = (
            login.username_field
            or form.xpath(
                ".//input[not(@type) or @type='text' or @type='email' or @type='tel']/@name"
            ).get()
        )
        if not password_field or not username_field:
            self.login_failed(f"the log-in form on {response.url} has no user or password field")
            return
        data = form_fields(form)
        data[username_field] = env[login.username_env]
        data[password_field] = env[login.password_env]
        action = form.attrib.get("action") or response.url
        method = (form.attrib.get("method") or "GET").upper()
        yield FormRequest(
            response.urljoin(action),
            method="POST" if method == "POST" else "GET",
            formdata=data,
            callback=self.after_login,
            errback=self.login_page_failed,
            dont_filter=True,
            priority=100,
            meta={"heishi_then": then},
        )

    def after_login(self, response: Response) -> Iterator[scrapy.Request]:
        if isinstance(response, TextResponse) and (
            response.css("input[type=password]")
            or any(marker in response.text for marker in self.site.blocked_text)
        ):
            self.login_failed(f"the log-in at {response.url} was refused (the form came back)")
            return
        self.crawler.stats.inc_value("heishi/logins")
        self.logger.info("logged in at %s", response.url)
        yield from response.meta["heishi_then"]

    def login_page_failed(self, failure: Failure) -> None:
        self.login_failed(f"log-in page failed: {failure.getErrorMessage()}")

    def login_failed(self, problem: str) -> None:
        # The listings stay behind the wall: that is a blocked source, not an empty one.
        self.crawler.stats.inc_value("heishi/login_failures")
        self.crawler.stats.inc_value("heishi/blocked_pages")
        self.logger.error("%s: %s", self.site.name, problem)
        self.note_first_error(f"log-in failed: {problem}")  # type: ignore[attr-defined]


def form_fields(form: Selector) -> dict[str, str]:
    """What a browser submits for `form` as it stands: its named inputs (checked boxes only),
    selects and text areas, and its first submit button."""
    data: dict[str, str] = {}
    for field in form.xpath(".//input[@name] | .//textarea[@name] | .//select[@name]"):
        name = field.attrib["name"]
        tag = field.root.tag
        kind = (field.attrib.get("type") or "text").lower()
        if tag == "textarea":
            data[name] = field.xpath("string()").get() or ""
        elif tag == "select":
            chosen = field.xpath(".//option[@selected]/@value").get()
            data[name] = chosen or field.xpath(".//option[1]/@value").get() or ""
        elif kind in ("checkbox", "radio"):
            if "checked" in field.attrib:
                data[name] = field.attrib.get("value", "on")
        elif kind not in ("submit", "button", "image", "reset", "file"):
            data[name] = field.attrib.get("value", "")
    button = form.xpath(
        ".//button[@name][not(@type) or @type='submit'] | .//input[@name][@type='submit']"
    )
    if button:
        data.setdefault(button[0].attrib["name"], button[0].attrib.get("value", ""))
    return data
