"""Crawling through a site's `proxy`: hidden services (.onion) through Tor, or any site
through an HTTP proxy.

Scrapy speaks HTTP proxies itself (`Request.meta["proxy"]`, CONNECT for https). For a SOCKS5
proxy (Tor's `socks5h://127.0.0.1:9050`) each crawl starts a small bridge on 127.0.0.1: an
HTTP proxy that opens every connection through the SOCKS5 proxy, handing it the host *name*
(so `.onion` names are resolved by Tor, never by local DNS). Rendered pages go through
Chromium's own proxy support (a browser context per site).
"""

from __future__ import annotations

import logging
import select
import socket
import socketserver
import struct
import threading
from typing import TYPE_CHECKING, Self
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import NotConfigured

from monitor.settings import under_scrapy_check

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler

log = logging.getLogger(__name__)

_HEAD_LIMIT = 65536


class SocksError(OSError):
    pass


def socks5_connect(proxy: tuple[str, int], host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to host:port through the SOCKS5 proxy, the name resolved remotely."""
    sock = socket.create_connection(proxy, timeout=timeout)
    try:
        sock.sendall(b"\x05\x01\x00")  # version 5, one method: no authentication
        if _recv_exact(sock, 2) != b"\x05\x00":
            raise SocksError("the SOCKS proxy refused every authentication method we offer")
        name = host.encode("idna")
        sock.sendall(b"\x05\x01\x00\x03" + bytes([len(name)]) + name + struct.pack(">H", port))
        version, reply, _, address_type = _recv_exact(sock, 4)
        if version != 5 or reply != 0:
            raise SocksError(f"the SOCKS proxy could not reach {host}:{port} (reply {reply})")
        skip = {1: 4, 4: 16}.get(address_type)
        if skip is None:
            skip = _recv_exact(sock, 1)[0]
        _recv_exact(sock, skip + 2)  # the bound address and port
    except BaseException:
        sock.close()
        raise
    sock.settimeout(None)
    return sock


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise SocksError("the SOCKS proxy closed the connection")
        data += chunk
    return data


def _read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    """An HTTP message's head (up to the blank line) and whatever followed it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(8192)
        if not chunk:
            break
        data += chunk
        if len(data) > _HEAD_LIMIT:
            raise ValueError("HTTP head too long")
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _without(lines: list[bytes], names: set[bytes]) -> list[bytes]:
    return [line for line in lines if line.split(b":", 1)[0].strip().lower() not in names]


def _pipe(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until one side closes."""
    sockets = [a, b]
    while True:
        readable, _, broken = select.select(sockets, [], sockets, 300)
        if broken or not readable:
            return
        for source in readable:
            data = source.recv(65536)
            if not data:
                return
            (b if source is a else a).sendall(data)


class Socks5Bridge:
    """An HTTP proxy on 127.0.0.1 that forwards through a SOCKS5 proxy; `url` is its address."""

    def __init__(self, socks_url: str, timeout: float = 60.0) -> None:
        parts = urlsplit(socks_url)
        assert parts.hostname and parts.port
        self.socks = (parts.hostname, parts.port)
        self.timeout = timeout
        self.connections = 0
        self._server: socketserver.ThreadingTCPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> Self:
        bridge = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                bridge.connections += 1
                try:
                    bridge._handle(self.request)
                except (OSError, ValueError) as exc:
                    log.debug("proxy bridge: %s", exc)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _handle(self, client: socket.socket) -> None:
        head, rest = _read_head(client)
        if not head:
            return
        lines = head.split(b"\r\n")
        method, target, version = lines[0].split(b" ", 2)
        if method == b"CONNECT":
            host, _, port = target.decode().rpartition(":")
            upstream = self._open(client, host.strip("[]"), int(port))
            if upstream is None:
                return
            with upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                if rest:
                    upstream.sendall(rest)
                _pipe(client, upstream)
            return
        url = urlsplit(target.decode())
        if not url.hostname:
            client.sendall(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
            return
        upstream = self._open(client, url.hostname, url.port or 80)
        if upstream is None:
            return
        with upstream:
            path = (url.path or "/") + (f"?{url.query}" if url.query else "")
            headers = _without(lines[1:], {b"connection", b"proxy-connection", b"keep-alive"})
            headers = _without(headers, {b"proxy-authorization"})
            request = [method + b" " + path.encode() + b" " + version, *headers]
            upstream.sendall(b"\r\n".join([*request, b"Connection: close", b"", b""]) + rest)
            # One request per connection: tell the client so it never reuses this one.
            answer, body = _read_head(upstream)
            answer_lines = answer.split(b"\r\n")
            answer_lines = [
                answer_lines[0],
                *_without(answer_lines[1:], {b"connection", b"keep-alive"}),
                b"Connection: close",
            ]
            client.sendall(b"\r\n".join([*answer_lines, b"", b""]) + body)
            _pipe(client, upstream)

    def _open(self, client: socket.socket, host: str, port: int) -> socket.socket | None:
        try:
            return socks5_connect(self.socks, host, port, self.timeout)
        except OSError as exc:
            message = f"SOCKS proxy: {exc}".encode()
            client.sendall(
                b"HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Type: text/plain\r\n"
                + f"Content-Length: {len(message)}\r\n\r\n".encode()
                + message
            )
            return None


def is_socks(proxy: str | None) -> bool:
    return bool(proxy) and urlsplit(proxy).scheme in ("socks5", "socks5h")


class SiteProxyMiddleware:
    """Downloader middleware: every request of a site with a `proxy` goes through it (before
    Scrapy's HttpProxyMiddleware, which then speaks to the HTTP proxy or the SOCKS bridge)."""

    def __init__(self, crawler: Crawler, proxy: str) -> None:
        self.crawler = crawler
        self.proxy = proxy
        self.bridge: Socks5Bridge | None = None
        self.http_proxy = proxy

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        site = getattr(crawler.spidercls, "site", None)
        proxy = getattr(site, "proxy", None)
        if not proxy:
            raise NotConfigured  # no proxy: nothing to do (and nothing to log)
        if under_scrapy_check():
            raise NotConfigured  # `scrapy check` reads fixture pages on 127.0.0.1 directly
        middleware = cls(crawler, proxy)
        if is_socks(proxy):
            timeout = crawler.settings.getfloat("DOWNLOAD_TIMEOUT", 60)
            middleware.bridge = Socks5Bridge(proxy, timeout).start()
            middleware.http_proxy = middleware.bridge.url
            crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def process_request(self, request: Request) -> None:
        stats = self.crawler.stats
        if request.meta.get("playwright"):
            # Chromium speaks SOCKS5 itself and resolves names through it.
            server = self.proxy.replace("socks5h://", "socks5://", 1)
            request.meta.setdefault("playwright_context", "proxied")
            request.meta.setdefault("playwright_context_kwargs", {"proxy": {"server": server}})
        else:
            request.meta.setdefault("proxy", self.http_proxy)
        stats.inc_value("heishi/proxied_requests")

    def spider_closed(self, spider: Spider) -> None:
        if self.bridge is not None:
            self.crawler.stats.set_value("heishi/socks_connections", self.bridge.connections)
            self.bridge.stop()
