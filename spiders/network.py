"""The network policy (monitor/sites/network_policy.py) in Scrapy: a downloader middleware that
checks every request before it is sent (start pages, links, redirects, meta refreshes,
log-in forms), and a DNS resolver that refuses names resolving to non-public addresses.

A refused request is never sent. It is counted in `heishi/refused/<reason>` (`scheme`,
`bad_url`, `private_address`, `offsite`), logged once per URL, and reaches the request's
errback as `RequestRefused` (an IgnoreRequest): only a refused start page fails the run.

A warm worker runs several crawls in one process, with one resolver: a name one crawl may
resolve to a private address (its own host, with `allow_private`) is let through by the
resolver while that crawl runs, so the middleware of every other crawl resolves such a name
itself first (the same cached lookup the connection then uses) and refuses it by its own
policy. The allowance is per crawl and per host.
"""

from __future__ import annotations

import ipaddress
import logging
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, ClassVar, Self

from scrapy import signals
from scrapy.exceptions import CannotResolveHostError, IgnoreRequest, NotConfigured
from scrapy.resolver import CachingThreadedResolver
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IResolverSimple
from zope.interface import implementer

from monitor.settings import under_scrapy_check
from monitor.sites.network_policy import (
    BadHost,
    IPAddress,
    NetworkPolicy,
    Refusal,
    address_kind,
    address_of,
    canonical_host,
    is_public,
    policy_for_site,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from scrapy import Request
    from scrapy.crawler import Crawler
    from twisted.internet.defer import Deferred

log = logging.getLogger(__name__)

# Scrapy's download handlers for anything but the web are switched off: a page's `file://`,
# `data:`, `ftp://` or `s3://` link must never be fetched (DOWNLOAD_HANDLERS).
NON_WEB_HANDLERS: dict[str, None] = {"file": None, "data": None, "ftp": None, "s3": None}
# URLs whose refusal is logged one by one; past that, only the stats count them.
_LOGGED_URLS = 1000
# Names whose last lookup the resolver refused, kept to explain a DNS failure: the newest.
_REFUSED_NAMES = 1000


class RequestRefused(IgnoreRequest):
    """A request the site's network policy does not allow."""

    def __init__(self, url: str | None, refusal: Refusal) -> None:
        self.url = url
        self.refusal = refusal
        self.counted = False
        where = f"{url} refused" if url else "refused"
        super().__init__(f"{where}: {refusal.detail}")

    @property
    def reason(self) -> str:
        return self.refusal.reason


class RefusalCounter:
    """Counts refusals in `heishi/refused/<reason>` and logs each refused URL once."""

    def __init__(self, stats: Any, crawler: Any = None) -> None:
        self.stats = stats
        self.logged: set[str] = set()
        # Names the crawl in its records: crawls that share a warm worker share its log.
        self.extra = {"crawler": crawler} if crawler is not None else None

    def count(self, url: str, refusal: Refusal) -> None:
        self.stats.inc_value(f"heishi/refused/{refusal.reason}")
        if url not in self.logged and len(self.logged) < _LOGGED_URLS:
            self.logged.add(url)
            log.warning("refused %s: %s", url[:300], refusal.detail, extra=self.extra)


class NetworkPolicyMiddleware:
    """Downloader middleware (first in line): refuses requests the site's policy does not
    allow, and counts refusals the resolver made."""

    def __init__(self, crawler: Crawler, policy: NetworkPolicy) -> None:
        self.crawler = crawler
        self.policy = policy
        self.refusals = RefusalCounter(crawler.stats, crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        site = getattr(crawler.spidercls, "site", None)
        if site is None:
            raise NotConfigured("not a site spider")
        if under_scrapy_check():
            # `scrapy check` reads its own fixture pages, served on 127.0.0.1, and no more.
            fixtures = NetworkPolicy.build(["http://127.0.0.1/"], allow_private=True)
            PublicAddressResolver.register(fixtures)
            raise NotConfigured
        policy = policy_for_site(site)
        PublicAddressResolver.register(policy)
        middleware = cls(crawler, policy)
        # A warm worker runs crawl after crawl: a crawl's permission ends with it.
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def spider_closed(self, spider: Any) -> None:
        PublicAddressResolver.unregister(self.policy)

    @classmethod
    def of(cls, crawler: Crawler) -> NetworkPolicyMiddleware | None:
        """The crawler's instance of this middleware, if it is enabled."""
        engine = getattr(crawler, "engine", None)
        downloader = getattr(engine, "downloader", None)
        for middleware in getattr(getattr(downloader, "middleware", None), "middlewares", ()):
            if isinstance(middleware, cls):
                return middleware
        return None

    def refusal(self, url: str) -> Refusal | None:
        """Why `url` may not be fetched (counted and logged), or None."""
        refusal = self.policy.check(url)
        if refusal is not None:
            self.count(url, refusal)
        return refusal

    def process_request(self, request: Request) -> Deferred[None] | None:
        refusal = self.refusal(request.url)
        if refusal is not None:
            self.refuse(request, refusal, counted=True)
        name = urlparse_cached(request).hostname or ""
        proxied = self.policy.proxy is not None or request.meta.get("proxy")
        if proxied or not PublicAddressResolver.lets_through(name):
            return None  # the proxy resolves it; else the resolver refuses private addresses
        if self.policy.may_resolve_privately(name):
            return None  # this crawl's own host, allowed private
        # Another crawl in this process may resolve the name privately, this one may not:
        # the resolver cannot tell them apart, so look it up here (its cache holds the answer
        # the connection will use) and judge the address by this crawl's policy.
        from twisted.internet import reactor

        installed: Any = reactor  # Twisted's interfaces are zope ones (see spiders/extensions.py)
        resolving: Deferred[str] = installed.resolve(name)
        return resolving.addCallback(self._judge_address, request, name)

    def _judge_address(self, address: str, request: Request, name: str) -> None:
        ip = ipaddress.ip_address(address)
        if not self.policy.may_resolve_to(name, ip):
            self.refuse(request, private_name_refusal(name, address, ip), counted=False)

    def refuse(self, request: Request, refusal: Refusal, counted: bool) -> None:
        """Raise RequestRefused for `request`, counting the refusal unless it is already."""
        if not counted:
            self.count(request.url, refusal)
        refused = RequestRefused(request.url, refusal)
        refused.counted = True
        raise refused

    def process_exception(self, request: Request, exception: Exception) -> None:
        if isinstance(exception, RequestRefused) and not exception.counted:
            exception.counted = True
            self.count(request.url, exception.refusal)
        refusal = resolver_refusal(request, exception)
        if refusal is not None:
            # The name resolved to an address the policy refuses: say so, not "DNS failed".
            self.refuse(request, refusal, counted=False)

    def count(self, url: str, refusal: Refusal) -> None:
        self.refusals.count(url, refusal)


def private_name_refusal(name: str, address: str, ip: IPAddress) -> Refusal:
    """The refusal of a name that resolved to a non-public address."""
    return Refusal(
        "private_address",
        f"{name} resolves to {address}, a {address_kind(ip)} address "
        "(a site on your own network needs [network] allow_private = true)",
    )


@implementer(IResolverSimple)
class PublicAddressResolver(CachingThreadedResolver):
    """Scrapy's caching resolver (TWISTED_DNS_RESOLVER), refusing names that resolve to
    non-public addresses unless a crawl's policy allows that name (its own hosts with
    `allow_private`, its proxy). The resolver is the process's: crawls register their
    policies with it while they run. In a warm worker several crawls run at once and the
    resolver cannot tell which one asks, so it lets through a name any of them may resolve
    privately, and the other crawls' middlewares check that name's address themselves
    (NetworkPolicyMiddleware.process_request). The address checked is the address connected
    to (cached per name)."""

    policies: ClassVar[list[NetworkPolicy]] = []
    # By name, for the middleware to explain a lookup failure: the newest _REFUSED_NAMES.
    refused: ClassVar[OrderedDict[str, Refusal]] = OrderedDict()

    @classmethod
    def register(cls, policy: NetworkPolicy) -> None:
        cls.policies.append(policy)

    @classmethod
    def unregister(cls, policy: NetworkPolicy) -> None:
        """The crawl that registered `policy` is over."""
        for index, registered in enumerate(cls.policies):
            if registered is policy:
                del cls.policies[index]
                return

    @classmethod
    def lets_through(cls, name: str) -> bool:
        """Whether a running crawl's policy lets the name `name` (not an IP address) resolve
        to a private address, so that this resolver would not refuse it."""
        try:
            if not name or address_of(canonical_host(name)) is not None:
                return False
        except BadHost:
            return False
        return any(p.may_resolve_privately(name) for p in cls.policies)

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:  # noqa: N802
        resolved = super().getHostByName(name, timeout)
        resolved.addCallback(self._checked, name)
        return resolved

    def _checked(self, address: str, name: str) -> str:
        ip = ipaddress.ip_address(address)
        if is_public(ip) or any(p.may_resolve_to(name, ip) for p in self.policies):
            self.refused.pop(name, None)
            return address
        self.refused[name] = private_name_refusal(name, address, ip)
        self.refused.move_to_end(name)
        while len(self.refused) > _REFUSED_NAMES:
            self.refused.popitem(last=False)
        # A lookup failure to Twisted (never retried as such: see resolver_refusal).
        raise DNSLookupError(f"{name}: refused address")


def resolver_refusal(request: Request, exception: Exception) -> Refusal | None:
    """The resolver's refusal behind a request's DNS failure, if that is what it was."""
    lookup = (DNSLookupError, CannotResolveHostError)
    if not isinstance(exception, lookup) or not PublicAddressResolver.refused:
        return None
    return PublicAddressResolver.refused.get(urlparse_cached(request).hostname or "")
