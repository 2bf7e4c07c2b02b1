"""The network policy a site file sets (monitor/sites/network_policy.py): which addresses a crawl
may fetch, every way an address can be written, and the `[network]` keys of a site file."""

from __future__ import annotations

import ipaddress

import pytest

from monitor.errors import SiteFileError
from monitor.sites import load_site
from monitor.sites.network_policy import BadHost, NetworkPolicy, canonical_host, is_public
from spiders.browser import host_resolver_rules
from tests.servers import write_site


@pytest.mark.parametrize(
    "written",
    [
        "127.0.0.1",
        "2130706433",
        "0177.0.0.1",
        "0x7f.0.0.1",
        "0x7f.1",
        "127.1",
        "127.0.0.1.",
        "[::ffff:127.0.0.1]",
        "::ffff:7f00:1",
        "64:ff9b::7f00:1",
    ],
)
def test_every_notation_of_an_ipv4_address_is_the_same_host(written):
    assert canonical_host(written) == "127.0.0.1"


@pytest.mark.parametrize("written", ["256.0.0.1", "1.2.3.4.5", "foo.0x1", "0x7g.1", "fe80::1%eth0"])
def test_hosts_written_to_confuse_are_refused(written):
    with pytest.raises(BadHost):
        canonical_host(written)


def test_names_are_compared_in_one_form():
    assert canonical_host("BBS.Example.COM.") == "bbs.example.com"
    assert canonical_host("例子.测试") == "xn--fsqu00a.xn--0zwm56d"
    assert canonical_host("1.2.3.example") == "1.2.3.example"  # ends in a name: a name


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",  # shared (carrier-grade NAT)
        "169.254.169.254",  # link-local: cloud metadata
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "::ffff:10.0.0.1",
        "2002:7f00:1::",  # 6to4 around 127.0.0.1
    ],
)
def test_loopback_private_and_special_addresses_are_not_public(address):
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111"])
def test_internet_addresses_are_public(address):
    assert is_public(ipaddress.ip_address(address))


POLICY = NetworkPolicy.build(
    ["https://bbs.example.com/forum.php?fid=2", "http://shop.example.net:8080/search?q=x"],
    allowed_hosts=["img.example.org", "*.cdn.example.com", "api.example.com:8443"],
)


@pytest.mark.parametrize(
    "url",
    [
        "https://bbs.example.com/thread-1.html",
        "http://bbs.example.com/thread-1.html",  # http and https on the default ports
        "https://www.bbs.example.com/thread-1.html",  # the www. twin
        "http://shop.example.net:8080/item/1",
        "https://img.example.org/a.png",
        "https://a.b.cdn.example.com/x.js",
        "https://api.example.com:8443/v1",
    ],
)
def test_the_sites_own_and_listed_hosts_are_allowed(url):
    assert POLICY.check(url) is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "scheme"),
        ("javascript:alert(1)", "scheme"),
        ("data:text/html,x", "scheme"),
        ("ftp://bbs.example.com/", "scheme"),
        ("https://evil.example/", "offsite"),
        ("https://bbs.example.com:8443/", "offsite"),  # another port of the site's host
        ("http://shop.example.net/item/1", "offsite"),  # the site named port 8080 only
        ("https://cdn.example.com/x.js", "offsite"),  # *.cdn.example.com: subdomains only
        ("https://api.example.com/v1", "offsite"),
        ("http://127.0.0.1/", "private_address"),
        ("http://2130706433/", "private_address"),
        ("http://[::1]:8080/", "private_address"),
        ("http://169.254.169.254/latest/meta-data/", "private_address"),
        ("http://bbs.example.com:99999/", "bad_url"),
        ("http://[::1/", "bad_url"),
    ],
)
def test_anything_else_is_refused_with_its_reason(url, reason):
    refusal = POLICY.check(url)
    assert refusal is not None and refusal.reason == reason


def test_allow_private_opens_the_sites_own_local_address_and_nothing_else():
    policy = NetworkPolicy.build(["http://127.0.0.1:8701/board"], allow_private=True)
    assert policy.check("http://127.0.0.1:8701/thread/1") is None
    assert policy.check("http://2130706433:8701/thread/1") is None  # the same address
    for other in ("http://127.0.0.1:8702/", "http://127.0.0.2:8701/", "http://localhost:8701/"):
        assert policy.check(other).reason == "offsite", other
    loopback = ipaddress.ip_address("127.0.0.1")
    assert policy.may_resolve_to("127.0.0.1", loopback)
    assert not policy.may_resolve_to("intranet.example", loopback)
    closed = NetworkPolicy.build(["http://127.0.0.1:8701/board"])
    assert closed.check("http://127.0.0.1:8701/thread/1").reason == "private_address"


def test_a_sites_proxy_on_loopback_is_reachable_its_links_there_are_not():
    policy = NetworkPolicy.build(["http://forumxyz.onion/board"], proxy="socks5h://127.0.0.1:9050")
    assert policy.may_resolve_to("127.0.0.1", ipaddress.ip_address("127.0.0.1"))
    assert policy.check("http://127.0.0.1:9050/").reason == "private_address"
    assert policy.check("http://forumxyz.onion/thread/1") is None


def test_the_resolvers_refused_names_are_the_newest_thousand_and_a_name_let_through_leaves():
    from twisted.internet.error import DNSLookupError

    from spiders.network import _REFUSED_NAMES, PublicAddressResolver

    resolver = PublicAddressResolver(None, cache_size=10, timeout=1)
    for number in range(_REFUSED_NAMES + 50):
        with pytest.raises(DNSLookupError):
            resolver._checked("10.0.0.1", f"n{number}.example")
    refused = PublicAddressResolver.refused
    assert len(refused) == _REFUSED_NAMES and "n49.example" not in refused
    assert "n50.example" in refused
    assert resolver._checked("93.184.216.34", "n50.example") == "93.184.216.34"
    assert "n50.example" not in refused
    refused.clear()


def test_chromium_may_resolve_only_the_sites_endpoints_pinned_to_their_addresses():
    policy = NetworkPolicy.build(
        ["http://127.0.0.1:8701/board", "http://localhost:8702/"],
        allowed_hosts=["*.cdn.example.com"],
        allow_private=True,
    )
    rules = host_resolver_rules(policy).split(", ")
    assert "MAP 127.0.0.1:8701 127.0.0.1:8701" in rules
    assert "MAP localhost:8702 127.0.0.1:8702" in rules  # pinned: no rebinding mid-crawl
    assert "EXCLUDE *.cdn.example.com" in rules
    assert rules[-1] == "MAP * ~NOTFOUND"
    # Without allow_private, a name that resolves to loopback is not mapped at all.
    closed = NetworkPolicy.build(["http://localhost:8702/"])
    assert host_resolver_rules(closed) == "MAP * ~NOTFOUND"


SITE = """
name = "net"
kind = "forum"
preset = "discuz"
start_urls = ["https://bbs.example.com/forum.php?mod=forumdisplay&fid=2"]
download_maxsize = 2097152

[network]
allow_private = true
allowed_hosts = ["img.example.org", "*.cdn.example.com", "[::1]:8080"]
"""


def test_a_site_file_sets_its_network_and_download_limit(tmp_path):
    site = load_site(write_site(tmp_path, "net", SITE))
    assert site.allow_private is True
    assert site.allowed_hosts == ("img.example.org", "*.cdn.example.com", "[::1]:8080")
    assert site.download_maxsize == 2_097_152


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        (
            ("allow_private = true", 'allow_private = "yes"'),
            "network.allow_private",
            "true or false",
        ),
        (("allow_private = true", "allow_privat = true"), "network.allow_privat", "unknown key"),
        (('"img.example.org"', '"http://img.example.org/"'), "network.allowed_hosts", "host:port"),
        (('"[::1]:8080"', '"example.com:99999"'), "network.allowed_hosts", "port out of range"),
        (("2097152", "10"), "download_maxsize", "at least 1024"),
    ],
)
def test_a_bad_network_key_is_named(tmp_path, change, key, words):
    path = write_site(tmp_path, "net", SITE.replace(*change))
    with pytest.raises(SiteFileError) as caught:
        load_site(path)
    assert caught.value.key == key and words in str(caught.value)
