"""Chromium for rendered pages, on a short leash: scrapy-playwright's download handler with
the site's network policy, the sandbox, and one user agent.

- **Where it may connect.** Chromium is started with `--host-resolver-rules` that map each of
  the site's own endpoints (host and port) to the address it resolved to when the crawl
  started, checked by the policy, and every other name or address to "not found": links,
  redirects, scripts, iframes, workers and WebSockets of a page cannot reach anything else,
  loopback and private addresses included, and a name cannot be re-pointed mid-crawl (DNS
  rebinding). A site behind a proxy (Tor) resolves names at the proxy: there the rules pin
  the proxy, and the checks below guard the rest.
- **Every request a page makes** is checked against the same policy before it is sent
  (PLAYWRIGHT_ABORT_REQUEST runs after that), WebSockets too; refusals are counted in
  `heishi/refused/<reason>`. Service workers are blocked, downloads refused, and WebRTC (UDP
  to any address, past all of the above) removed from every page.
- **The sandbox.** Chromium's sandbox is on (HEISHI_CHROMIUM_SANDBOX). As root, where it
  cannot run, Chromium is started as HEISHI_CHROMIUM_USER (default `nobody`) through
  `setpriv`; without that user or `setpriv` it falls back to root with `--no-sandbox`, and says
  so. Run heishi as an unprivileged user (the README's systemd unit does).
- **One user agent.** Scrapy's requests, Chromium's requests and `navigator.userAgent` say the
  same thing, with the Chrome version the browser really is and no `HeadlessChrome`.
- **Shared, not reused across policies.** The crawls of one process share a Chromium when
  their launch options (policy included) are the same (spiders/shared_browser.py); each crawl
  has its own browser contexts and closes only those. A browser that exits under a crawl is
  that crawl's error: its run is not complete.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import DownloadCancelledError
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

from monitor.settings import child_environment, under_scrapy_check
from monitor.sites.network_policy import (
    NetworkPolicy,
    Refusal,
    address_of,
    policy_for_site,
)
from spiders.network import RefusalCounter

if TYPE_CHECKING:
    from playwright.async_api import Request as PlaywrightRequest
    from playwright.async_api import Route, WebSocketRoute
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response
    from scrapy.settings import BaseSettings

log = logging.getLogger(__name__)

_BROWSER_SCHEMES = frozenset({"http", "https"})
_SOCKET_SCHEMES = frozenset({"ws", "wss"})
# Not network requests: a page's own data and blobs.
_LOCAL_SCHEMES = frozenset({"data", "blob", "about"})
_CHROME_VERSION = re.compile(r"(?:Headless)?Chrome/[\d.]+")
CONTEXT_DEFAULTS: dict[str, Any] = {"service_workers": "block", "accept_downloads": False}
# WebRTC sends STUN/TURN packets over UDP to any address a page names (127.0.0.1 included),
# past the host rules and request interception: listings need none of it. Run in every frame
# and popup before the page's own scripts.
NO_WEBRTC_SCRIPT = """for (const name of ["RTCPeerConnection", "webkitRTCPeerConnection",
  "RTCIceTransport", "RTCDtlsTransport", "RTCSctpTransport"]) {
  try { delete window[name]; } catch (e) {}
}"""

# -- the user agent -------------------------------------------------------------------------


@lru_cache(maxsize=8)
def chromium_version(executable: str) -> str | None:
    """The version of the Chromium at `executable` (`156.0.8078.114`), or None."""
    try:
        out = subprocess.run(
            [executable, "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"(\d+)\.\d+\.\d+\.\d+", out)
    return found.group(0) if found else None


def browser_user_agent(settings: BaseSettings) -> str:
    """USER_AGENT with the Chrome version of the Chromium that renders (its major version,
    as Chrome reports it: `Chrome/156.0.0.0`), so that every request of a crawl, and the
    browser's own client hints, tell the same story."""
    configured = settings.get("USER_AGENT") or ""
    version = chromium_version(settings.get("HEISHI_CHROMIUM") or "/usr/bin/chromium")
    agent = configured.replace("HeadlessChrome/", "Chrome/")
    if version and _CHROME_VERSION.search(agent):
        agent = _CHROME_VERSION.sub(f"Chrome/{version.split('.')[0]}.0.0.0", agent)
    return agent


# -- the sandbox ----------------------------------------------------------------------------

_AS_USER_SCRIPT = """#!/bin/sh
# Written by heishi (spiders/browser.py): start Chromium as an unprivileged user so that its
# sandbox can run; Playwright made its profile as root, so hand that over first.
set -eu
profile=""
for arg in "$@"; do
  case "$arg" in --user-data-dir=*) profile="${arg#--user-data-dir=}" ;; esac
done
if [ -n "$profile" ]; then
  chown -R "$HEISHI_CHROMIUM_UID:$HEISHI_CHROMIUM_GID" "$profile"
  export HOME="$profile" XDG_CONFIG_HOME="$profile/.config" XDG_CACHE_HOME="$profile/.cache"
fi
exec setpriv --reuid="$HEISHI_CHROMIUM_UID" --regid="$HEISHI_CHROMIUM_GID" --clear-groups \\
  --inh-caps=-all --bounding-set=-all -- "$HEISHI_CHROMIUM_BINARY" "$@"
"""


@lru_cache(maxsize=1)
def _as_user_script() -> str:
    directory = tempfile.mkdtemp(prefix="heishi-chromium-")
    atexit.register(shutil.rmtree, directory, True)
    script = Path(directory) / "chromium-as-user"
    script.write_text(_AS_USER_SCRIPT)
    script.chmod(0o700)
    return str(script)


def chromium_user(settings: BaseSettings) -> pwd.struct_passwd | None:
    """The unprivileged user a root crawl starts Chromium as, or None (not root, or none
    usable: then Chromium runs as this process's user)."""
    if os.geteuid() != 0:
        return None
    name = settings.get("HEISHI_CHROMIUM_USER") or ""
    if not name or shutil.which("setpriv") is None:
        return None
    try:
        user = pwd.getpwnam(name)
    except KeyError:
        log.warning("HEISHI_CHROMIUM_USER %r does not exist", name)
        return None
    return user if user.pw_uid != 0 else None


# -- where Chromium may connect -------------------------------------------------------------


def _rule_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _pinned_address(policy: NetworkPolicy, host: str) -> str | None:
    """The address a name of the site resolves to now, when the policy allows it."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        log.warning("cannot resolve %s for the browser: %s", host, exc)
        return None
    import ipaddress

    for info in sorted(infos, key=lambda i: i[0] != socket.AF_INET):
        address = ipaddress.ip_address(info[4][0])
        if policy.may_resolve_to(host, address):
            return str(address)
    log.warning("refused %s for the browser: it resolves to no address the site may use", host)
    return None


def host_resolver_rules(policy: NetworkPolicy) -> str:
    """Chromium's `--host-resolver-rules`: the site's endpoints pinned to their addresses,
    its `*.domain` hosts resolved as usual, its proxy reachable, everything else not found."""
    rules = []
    pinned: dict[str, str | None] = {}
    for host, port in sorted(policy.endpoints):
        if host not in pinned:
            pinned[host] = host if address_of(host) is not None else _pinned_address(policy, host)
        target = pinned[host]
        if target is not None:
            rules.append(f"MAP {_rule_host(host)}:{port} {_rule_host(target)}:{port}")
    for suffix, _ in policy.suffixes:
        rules.append(f"EXCLUDE *{suffix}")
    if policy.proxy is not None:
        host, port = policy.proxy
        rules.append(f"MAP {_rule_host(host)}:{port} {_rule_host(host)}:{port}")
    rules.append("MAP * ~NOTFOUND")
    return ", ".join(rules)


def launch_options(
    configured: dict[str, Any],
    settings: BaseSettings,
    policy: NetworkPolicy | None,
    user_agent: str,
) -> dict[str, Any]:
    """PLAYWRIGHT_LAUNCH_OPTIONS with the sandbox, the user, the host rules and the user
    agent added (and any `--no-sandbox`, host rules or user agent of their own replaced)."""
    options = dict(configured)
    ours = ("--no-sandbox", "--host-resolver-rules=", "--user-agent=")
    args = [a for a in options.get("args", []) if not a.startswith(ours)]
    sandbox = settings.getbool("HEISHI_CHROMIUM_SANDBOX", True)
    user = chromium_user(settings)
    if sandbox and os.geteuid() == 0 and user is None:
        log.warning(
            "running Chromium as root without its sandbox: run heishi as an unprivileged "
            "user, or set HEISHI_CHROMIUM_USER to one (and install setpriv)"
        )
        sandbox = False
    if user is not None:
        # The wrapper script's own variables (not settings): whom to start, as whom.
        options["env"] = child_environment(
            extra={
                **(options.get("env") or {}),
                "HEISHI_CHROMIUM_BINARY": options.get("executable_path") or "/usr/bin/chromium",
                "HEISHI_CHROMIUM_UID": str(user.pw_uid),
                "HEISHI_CHROMIUM_GID": str(user.pw_gid),
            }
        )
        options["executable_path"] = _as_user_script()
    options["chromium_sandbox"] = sandbox
    if policy is not None:
        args.append(f"--host-resolver-rules={host_resolver_rules(policy)}")
    args += [f"--user-agent={user_agent}", "--disable-blink-features=AutomationControlled"]
    options["args"] = args
    return options


class BrowserExited(Exception):
    """The browser exited while it rendered this request's page (not retried: the crawl's
    run is not complete either way)."""


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Mark a cancelled render's outcome as seen (asyncio logs unretrieved exceptions)."""
    if not task.cancelled():
        task.exception()


class BrowserDownloadHandler(ScrapyPlaywrightDownloadHandler):
    """scrapy-playwright's handler with Chromium launched as above, each browser context
    given the crawl's user agent, service workers blocked and downloads refused, and every
    request and WebSocket of a page checked against the site's network policy."""

    # scrapy-playwright's (untyped): PLAYWRIGHT_ABORT_REQUEST, a predicate on each request.
    abort_request: Callable[..., Any] | None
    skip_request: Callable[..., Any] | None

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        site = getattr(crawler.spidercls, "site", None)
        # `scrapy check` serves its fixture pages on 127.0.0.1 (and never renders them).
        checking = under_scrapy_check()
        self.policy = policy_for_site(site) if site is not None and not checking else None
        self.refusals = RefusalCounter(crawler.stats, crawler)
        self.user_agent = browser_user_agent(crawler.settings)
        self.config.launch_options = launch_options(
            self.config.launch_options, crawler.settings, self.policy, self.user_agent
        )
        self.max_size = crawler.settings.getint("DOWNLOAD_MAXSIZE")
        self.crawler = crawler
        self.skip_request = self.abort_request  # PLAYWRIGHT_ABORT_REQUEST, after the policy
        self.abort_request = self.refuse_request
        # Resolved when the browser exits: the renders begun before then fail (`_render`).
        self._browser_gone: asyncio.Future[None] | None = None

    def refusal(self, url: str, schemes: frozenset[str]) -> Refusal | None:
        scheme = url.partition(":")[0].lower()
        if scheme in _LOCAL_SCHEMES:
            return None
        if self.policy is None:
            if scheme in schemes:
                return None
            return Refusal("scheme", f"{scheme} scheme: only http(s) is fetched")
        return self.policy.check(url, schemes)

    async def refuse_request(self, request: PlaywrightRequest) -> bool:
        """Whether to abort a request a page makes: refused by the policy, or skipped."""
        refusal = self.refusal(request.url, _BROWSER_SCHEMES)
        if refusal is not None:
            self.refusals.count(request.url, refusal)
            return True
        if self.skip_request is None:
            return False
        skip = self.skip_request(request)
        return bool(await skip) if hasattr(skip, "__await__") else bool(skip)

    async def route_other_pages(self, route: Route) -> None:
        """The context's route: pages scrapy-playwright did not open (popups, `window.open`)
        get the same check; its own pages' routes take precedence."""
        refusal = self.refusal(route.request.url, _BROWSER_SCHEMES)
        if refusal is not None:
            self.refusals.count(route.request.url, refusal)
            await route.abort()
            return
        await route.continue_()

    async def refuse_websocket(self, socket_route: WebSocketRoute) -> None:
        refusal = self.refusal(socket_route.url, _SOCKET_SCHEMES)
        if refusal is not None:
            self.refusals.count(socket_route.url, refusal)
            await socket_route.close(code=1008, reason="refused")
            return
        socket_route.connect_to_server()

    async def download_request(self, request: Request) -> Response:
        if request.meta.get("playwright"):
            response = await self._render(request)
        else:
            response = await super().download_request(request)
        limit = request.meta.get("download_maxsize") or self.max_size
        if request.meta.get("playwright") and limit and len(response.body) > limit:
            # Chromium loaded it (within the navigation timeout): the spider will not parse it.
            raise DownloadCancelledError(
                f"Received {len(response.body)} bytes which is larger than download max size "
                f"({limit}) in request {request}."
            )
        return response

    async def _render(self, request: Request) -> Response:
        """scrapy-playwright's download of a rendered page, failed at once when the browser
        exits under it: Playwright's driver leaves some calls on a dead browser (a page being
        opened) unanswered for ever, and they have no timeout, so the crawl would never end."""
        if self._browser_gone is None or self._browser_gone.done():
            self._browser_gone = asyncio.get_running_loop().create_future()
        gone = self._browser_gone
        rendering = asyncio.ensure_future(super().download_request(request))
        try:
            await asyncio.wait((rendering, gone), return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not rendering.done():  # the browser exited, or this download was cancelled
                rendering.cancel()
                rendering.add_done_callback(_retrieve)
        if not rendering.done():
            raise BrowserExited(f"Chromium exited while rendering {request.url}")
        return rendering.result()

    async def _maybe_launch_browser(self) -> None:
        await super()._maybe_launch_browser()
        launched = getattr(self.browser_provider, "launched", None)
        if launched is not None:  # 0: a browser another crawl had launched
            self.stats.set_value("heishi/browsers_launched", launched)

    async def _browser_disconnected_callback(self) -> None:
        """Chromium exited while this crawl used it (a shared browser is closed only once no
        crawl uses it): pages in flight were lost, so the run is not complete, and they fail
        now. The next page launches a new browser."""
        problem = "Chromium exited during the crawl: pages it was rendering were lost"
        self.stats.inc_value("heishi/browser_exits")
        if not self.stats.get_value("heishi/first_error"):
            self.stats.set_value("heishi/first_error", problem)
        log.error("%s", problem, extra={"crawler": self.crawler})
        gone, self._browser_gone = self._browser_gone, None
        if gone is not None and not gone.done():
            gone.set_result(None)  # the pages this crawl was rendering fail now
        # scrapy-playwright's own callback closes the contexts first, and a close can wait
        # for ever on a dead browser: they died with it, so they are only forgotten.
        self.context_wrappers.clear()
        if self.config.restart_disconnected_browser and hasattr(self, "browser"):
            del self.browser

    async def _close(self) -> None:
        """This crawl's contexts, and its claim on the shared browser (scrapy-playwright's
        closes the browser itself)."""
        from playwright.async_api import Error as PlaywrightError

        with contextlib.suppress(PlaywrightError):
            await asyncio.gather(*[w.context.close() for w in self.context_wrappers.values()])
        self.context_wrappers.clear()
        browser = getattr(self, "browser", None)
        if browser is not None:  # the browser outlives this crawl: so would its handler
            browser.remove_listener("disconnected", self._browser_disconnected_callback)
        if getattr(self, "browser_provider", None) is not None:
            await self.browser_provider.close()

    async def _create_browser_context(  # scrapy-playwright's, with our defaults and routes
        self, name: str, context_kwargs: dict[str, Any] | None, spider: Any = None
    ) -> Any:
        kwargs = {**CONTEXT_DEFAULTS, "user_agent": self.user_agent, **(context_kwargs or {})}
        wrapper = await super()._create_browser_context(name, kwargs, spider)
        await wrapper.context.route("**", self.route_other_pages)
        await wrapper.context.route_web_socket(re.compile(".*"), self.refuse_websocket)
        await wrapper.context.add_init_script(NO_WEBRTC_SCRIPT)
        return wrapper
