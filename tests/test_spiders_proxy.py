"""Hidden services: a `.onion` forum crawled through a proxy. The proxies here are local
stand-ins written with the standard library: an HTTP proxy like privoxy and a SOCKS5 proxy
like Tor's, each forwarding the `.onion` host name to a local site and counting requests."""

from __future__ import annotations

import select
import socket
import socketserver
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

from monitor.demo.local_server import LocalServer
from monitor.errors import SiteFileError
from monitor.sites import load_site
from tests.servers import run_crawl, write_site
from tests.test_spiders import forum_pages

ONION = "heishi2xkcdtestabcdefghijklmnopqrstuvwxyz234567abcdefghid.onion"

ONION_SITE = """
name = "fixture_onion"
kind = "forum"
preset = "discuz"
start_urls = ["http://${ONION}/forum.php?mod=forumdisplay&fid=2"]
proxy = "${PROXY}"
max_pages = 3
download_timeout = 30
"""


class OnionHttpProxy:
    """privoxy's part: an HTTP proxy that forwards requests for ONION to the local site."""

    def __init__(self, site_port: int) -> None:
        self.site_port = site_port
        self.requests: list[str] = []
        self.refused: list[str] = []

    def __enter__(self) -> OnionHttpProxy:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                target = urlsplit(self.path)
                if target.hostname != ONION:
                    owner.refused.append(self.path)
                    self.send_error(502, "only the hidden service")
                    return
                owner.requests.append(self.path)
                path = target.path + (f"?{target.query}" if target.query else "")
                with socket.create_connection(("127.0.0.1", owner.site_port)) as upstream:
                    upstream.sendall(
                        f"GET {path} HTTP/1.0\r\nHost: {ONION}\r\n\r\n".encode("latin-1")
                    )
                    answer = b""
                    while chunk := upstream.recv(65536):
                        answer += chunk
                self.wfile.write(answer)  # status line, headers and body as the site sent them
                self.close_connection = True

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class OnionSocksProxy:
    """Tor's part: a SOCKS5 proxy (no authentication, names resolved here) that connects
    ONION:80 to the local site and refuses every other destination."""

    def __init__(self, site_port: int) -> None:
        self.site_port = site_port
        self.connections: list[str] = []
        self.refused: list[str] = []

    def __enter__(self) -> OnionSocksProxy:
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                client: socket.socket = self.request
                version, count = client.recv(2)
                methods = client.recv(count)
                assert version == 5 and 0 in methods
                client.sendall(b"\x05\x00")
                _, command, _, address_type = client.recv(4)
                if address_type != 3:  # the name, not an address resolved by the client
                    owner.refused.append(f"address type {address_type}")
                    client.sendall(b"\x05\x08\x00\x01" + bytes(6))
                    return
                host = client.recv(client.recv(1)[0]).decode()
                (port,) = struct.unpack(">H", client.recv(2))
                if command != 1 or host != ONION:
                    owner.refused.append(f"{host}:{port}")
                    client.sendall(b"\x05\x04\x00\x01" + bytes(6))  # host unreachable
                    return
                owner.connections.append(f"{host}:{port}")
                with socket.create_connection(("127.0.0.1", owner.site_port)) as upstream:
                    client.sendall(b"\x05\x00\x00\x01" + bytes(4) + struct.pack(">H", 0))
                    sockets = [client, upstream]
                    while True:
                        readable, _, _ = select.select(sockets, [], [], 10)
                        if not readable:
                            return
                        for source in readable:
                            data = source.recv(65536)
                            if not data:
                                return
                            (upstream if source is client else client).sendall(data)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"socks5h://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


EXPECTED = ["101", "102", "103", "105"]  # tests.test_spiders.forum_pages, three board pages


def _site_port(server: LocalServer) -> int:
    return int(server.url.rsplit(":", 1)[1])


def test_an_onion_forum_is_crawled_through_an_http_proxy(tmp_path):
    sites = tmp_path / "sites"
    write_site(sites, "fixture_onion", ONION_SITE)
    with LocalServer(forum_pages()) as site, OnionHttpProxy(_site_port(site)) as proxy:
        run = run_crawl(
            "fixture_onion",
            tmp_path,
            sites_dir=sites,
            env={"ONION": ONION, "PROXY": proxy.url},
        )
        site_hits = sum(site.hits.values())
    assert run.returncode == 0, run.stderr[-3000:]
    assert sorted(run.by_id()) == EXPECTED
    assert run.by_id()["101"]["url"].startswith(f"http://{ONION}/forum.php?mod=viewthread")
    # Every page went through the proxy: 3 board pages and 6 threads, nothing around it.
    assert len(proxy.requests) == site_hits == 9
    assert all(r.startswith(f"http://{ONION}/") for r in proxy.requests)
    assert proxy.refused == []
    assert run.stats["heishi/proxied_requests"] == 9


def test_an_onion_forum_is_crawled_through_a_socks5_proxy_resolving_the_name(tmp_path):
    sites = tmp_path / "sites"
    write_site(sites, "fixture_onion", ONION_SITE)
    with LocalServer(forum_pages()) as site, OnionSocksProxy(_site_port(site)) as proxy:
        run = run_crawl(
            "fixture_onion",
            tmp_path,
            sites_dir=sites,
            env={"ONION": ONION, "PROXY": proxy.url},
        )
        site_hits = sum(site.hits.values())
    assert run.returncode == 0, run.stderr[-3000:]
    assert sorted(run.by_id()) == EXPECTED
    assert len(proxy.connections) == site_hits == 9
    assert set(proxy.connections) == {f"{ONION}:80"}
    assert proxy.refused == []
    assert run.stats["heishi/socks_connections"] == 9


def test_an_onion_address_without_a_proxy_is_a_site_file_error(tmp_path):
    text = ONION_SITE.replace('proxy = "${PROXY}"\n', "")
    path = write_site(tmp_path, "onion", text)
    with pytest.raises(SiteFileError) as caught:
        load_site(path, env={"ONION": ONION})
    assert caught.value.key == "start_urls" and "hidden service: set proxy" in str(caught.value)
    bad = write_site(tmp_path, "bad", ONION_SITE)
    with pytest.raises(SiteFileError) as caught:
        load_site(bad, env={"ONION": ONION, "PROXY": "tor://127.0.0.1"})
    assert caught.value.key == "proxy"


def test_an_onion_forum_is_rendered_by_chromium_through_the_socks5_proxy(tmp_path):
    sites = tmp_path / "sites"
    write_site(sites, "fixture_onion", ONION_SITE + "render = true\n")
    with LocalServer(forum_pages()) as site, OnionSocksProxy(_site_port(site)) as proxy:
        run = run_crawl(
            "fixture_onion",
            tmp_path,
            sites_dir=sites,
            env={"ONION": ONION, "PROXY": proxy.url},
        )
    assert run.returncode == 0, run.stderr[-3000:]
    assert sorted(run.by_id()) == EXPECTED
    # Chromium handed the proxy the name (nothing resolved here), and only the onion's.
    assert set(proxy.connections) == {f"{ONION}:80"}
    assert proxy.refused == []
