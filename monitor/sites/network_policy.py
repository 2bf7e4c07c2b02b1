"""Where a crawl may connect: the network policy of one site, decided from its site file.

Pages are attacker input: a link, a redirect, a meta refresh or a page script may point
anywhere. A request is allowed only when

- its scheme is http or https (never file:, data:, ftp:, s3:, javascript: ...);
- its host and port are one of the site's own (the hosts of `start_urls`, `search_url`,
  `login.url` and `raw_url`; an address on the default port allows both 80 and 443, and
  `www.` is the same host) or one the site file lists in `[network] allowed_hosts`;
- its address is public: loopback, private, link-local, shared, multicast, reserved and
  unspecified addresses are refused (IP literals in any notation: `2130706433`, `0177.0.0.1`,
  `[::ffff:127.0.0.1]`), unless the site file says `[network] allow_private = true`, which
  lets the site's *own* hosts be on such addresses (a site on your own network, the demo, tests).

Names are checked again when they are resolved (spiders.network.PublicAddressResolver), so a
public-looking name that resolves to a private address is refused too. Nothing here imports
Scrapy: the same policy guards Scrapy's requests and every request Chromium makes.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from monitor.sites import Site

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

WEB_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
# A host named on the default port may be reached on either: sites move between http and https.
_WEB_PORTS = (80, 443)
# Addresses inside IPv6 that carry an IPv4 address (NAT64's well-known prefix).
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_HOST_PORT = re.compile(r"^(?P<host>\[[^\]]+\]|[^:\[\]]+)(?::(?P<port>\d{1,5}))?$")


class BadHost(ValueError):
    """A host that is no valid name or address (or one written to confuse)."""


@dataclass(frozen=True)
class Refusal:
    """Why a request may not be made: `reason` is a stat suffix, `detail` says it to people."""

    reason: str  # scheme | bad_url | private_address | offsite
    detail: str


# -- hosts and addresses --------------------------------------------------------------------


def _ipv4_part(part: str) -> int:
    if part[:2].lower() == "0x":
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8)
    if not part.isdigit():
        raise ValueError(part)
    return int(part)


def _is_number(part: str) -> bool:
    if part[:2].lower() == "0x":
        return all(c in "0123456789abcdefABCDEF" for c in part[2:])
    return part.isdigit()


def parse_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a host means in any notation browsers and resolvers accept
    (`127.0.0.1`, `2130706433`, `0x7f.1`, `0177.0.0.1`), or None when it is a name.
    Raises BadHost for a host that ends in a number but is no address (WHATWG URL rules)."""
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    if not parts or not _is_number(parts[-1]):
        return None
    try:
        numbers = [_ipv4_part(p) for p in parts]
    except ValueError:
        raise BadHost(f"{host!r} is neither a name nor an IPv4 address") from None
    if len(numbers) > 4 or any(n > 255 for n in numbers[:-1]):
        raise BadHost(f"{host!r} is not an IPv4 address")
    if numbers[-1] >= 256 ** (5 - len(numbers)):
        raise BadHost(f"{host!r} is not an IPv4 address")
    value = numbers[-1]
    for index, number in enumerate(numbers[:-1]):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def unwrap(address: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv6 one (mapped, NAT64), else the address itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


@lru_cache(maxsize=4096)
def canonical_host(host: str) -> str:
    """A host as compared: lower case, no trailing dot, IDNA (punycode) for names, IP
    addresses in their one canonical form (IPv4 inside IPv6 as IPv4). Raises BadHost."""
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host:
        raise BadHost("no host")
    if ":" in host:
        if "%" in host:
            raise BadHost(f"{host!r}: scoped IPv6 addresses are not allowed")
        try:
            return str(unwrap(ipaddress.IPv6Address(host)))
        except ValueError:
            raise BadHost(f"{host!r} is not an IPv6 address") from None
    host = host.rstrip(".")
    v4 = parse_ipv4(host)
    if v4 is not None:
        return str(v4)
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise BadHost(f"{host!r} is not a valid host name") from None
    if not host or any(c in host for c in "/\\@ \t\r\n%"):
        raise BadHost(f"{host!r} is not a valid host name")
    return host


def address_of(host: str) -> IPAddress | None:
    """The IP address a canonical host is, or None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def is_public(address: IPAddress) -> bool:
    """Whether an address is on the public internet (not loopback, private, link-local,
    shared, multicast, reserved, unspecified, or such an address wrapped in IPv6)."""
    address = unwrap(address)
    if address.is_multicast or not address.is_global:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is not None and not is_public(embedded):
            return False
    return True


def address_kind(address: IPAddress) -> str:
    """A few words for what kind of non-public address this is."""
    address = unwrap(address)
    for test, words in (
        ("is_loopback", "loopback"),
        ("is_unspecified", "unspecified"),
        ("is_link_local", "link-local"),
        ("is_multicast", "multicast"),
        ("is_private", "private"),
        ("is_reserved", "reserved"),
    ):
        if getattr(address, test):
            return words
    return "non-public"


def split_host_port(text: str) -> tuple[str, int | None]:
    """`host`, `host:port`, `[v6]:port` -> (canonical host, port or None). Raises BadHost."""
    found = _HOST_PORT.match(text.strip())
    if not found:
        raise BadHost(f"{text!r} is not a host or host:port")
    port = int(found.group("port")) if found.group("port") else None
    if port is not None and not 0 < port < 65536:
        raise BadHost(f"{text!r}: port out of range")
    return canonical_host(found.group("host")), port


# -- the policy -----------------------------------------------------------------------------


def _with_twin(host: str) -> tuple[str, ...]:
    """A name and its `www.` twin (bbs.example.com redirects to www.bbs.example.com)."""
    if address_of(host) is not None:
        return (host,)
    return (
        (host, host[4:])
        if host.startswith("www.") and host.count(".") >= 2
        else (host, "www." + host)
    )


@dataclass(frozen=True)
class NetworkPolicy:
    """What one site's crawl may connect to."""

    endpoints: frozenset[tuple[str, int]]  # (canonical host, port)
    suffixes: tuple[tuple[str, frozenset[int]], ...] = ()  # allowed_hosts "*.example.com"
    allow_private: bool = False
    proxy: tuple[str, int] | None = None  # the site's proxy: reached by the downloader itself
    names: frozenset[str] = field(default=frozenset(), compare=False)

    @classmethod
    def build(
        cls,
        urls: Iterable[str],
        allowed_hosts: Iterable[str] = (),
        allow_private: bool = False,
        proxy: str | None = None,
    ) -> NetworkPolicy:
        """The policy for a site whose own addresses are `urls`. Raises BadHost."""
        endpoints: set[tuple[str, int]] = set()
        for url in urls:
            parts = urlsplit(url)
            host = canonical_host(parts.hostname or "")
            port = parts.port or DEFAULT_PORTS.get(parts.scheme, 80)
            ports = _WEB_PORTS if port in _WEB_PORTS else (port,)
            endpoints.update((name, p) for name in _with_twin(host) for p in ports)
        suffixes = []
        for entry in allowed_hosts:
            wildcard = entry.strip().startswith("*.")
            host, entry_port = split_host_port(entry.strip()[2:] if wildcard else entry)
            ports = _WEB_PORTS if entry_port is None else (entry_port,)
            if wildcard:
                suffixes.append(("." + host, frozenset(ports)))
            else:
                endpoints.update((host, p) for p in ports)
        proxy_endpoint = None
        if proxy:
            parts = urlsplit(proxy)
            proxy_endpoint = (canonical_host(parts.hostname or ""), parts.port or 80)
        names = frozenset(h for h, _ in endpoints) | {s for s, _ in suffixes}
        return cls(frozenset(endpoints), tuple(suffixes), allow_private, proxy_endpoint, names)

    def allows_endpoint(self, host: str, port: int) -> bool:
        """Whether (canonical host, port) is one of the site's own or allowed endpoints."""
        if (host, port) in self.endpoints:
            return True
        return any(host.endswith(suffix) and port in ports for suffix, ports in self.suffixes)

    def is_own_name(self, host: str) -> bool:
        """Whether a canonical host name is one of the site's (any port), or its proxy."""
        if self.proxy is not None and host == self.proxy[0]:
            return True
        return host in self.names or any(host.endswith(suffix) for suffix, _ in self.suffixes)

    def may_resolve_to(self, name: str, address: IPAddress) -> bool:
        """Whether `name` may be connected to at `address` (what a resolver checks)."""
        return is_public(address) or self.may_resolve_privately(name)

    def may_resolve_privately(self, name: str) -> bool:
        """Whether `name` may be connected to at a non-public address: this policy's own
        proxy, or its own site's host when the site file allows private addresses."""
        try:
            host = canonical_host(name)
        except BadHost:
            return False
        if self.proxy is not None and host == self.proxy[0]:
            return True  # the site file's own proxy (Tor, privoxy) listens on loopback
        return self.allow_private and self.is_own_name(host)

    def check(self, url: str, schemes: frozenset[str] = WEB_SCHEMES) -> Refusal | None:
        """Why `url` may not be fetched, or None when it may."""
        try:
            parts = urlsplit(url)
            scheme = parts.scheme.lower()
            if scheme not in schemes:
                return Refusal("scheme", f"{scheme or 'no'} scheme: only http(s) is fetched")
            host = canonical_host(parts.hostname or "")
            port = parts.port or DEFAULT_PORTS[scheme]
        except (ValueError, KeyError) as exc:  # BadHost, a port out of range, a bad IPv6
            return Refusal("bad_url", f"not a usable address ({exc})")
        address = address_of(host)
        if address is not None and not self.allow_private and not is_public(address):
            return Refusal(
                "private_address",
                f"{host} is a {address_kind(address)} address "
                "(a site on your own network needs [network] allow_private = true)",
            )
        if not self.allows_endpoint(host, port):
            return Refusal(
                "offsite",
                f"{host}:{port} is not one of the site's hosts (add it to [network] allowed_hosts)",
            )
        return None


def own_urls(site: Site) -> list[str]:
    """The addresses a site file names as its own."""
    urls = [*site.start_urls]
    if site.search_url:
        urls.append(site.search_url.replace("{term}", "x"))
    if site.login is not None:
        urls.append(site.login.url)
    if site.raw_url and not site.raw_url.startswith("/"):
        urls.append(site.raw_url.replace("{id}", "x"))
    return urls


def policy_for_site(site: Site) -> NetworkPolicy:
    """The network policy a site file sets."""
    return NetworkPolicy.build(
        own_urls(site),
        allowed_hosts=site.allowed_hosts,
        allow_private=site.allow_private,
        proxy=site.proxy,
    )
