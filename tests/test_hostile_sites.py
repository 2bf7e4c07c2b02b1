"""Sites that attack the crawler: links and redirects to local files and to other local
services, IP addresses written to confuse, gzip bombs and endless pages, megabyte titles,
rows built to break the parser, cookie floods, and page scripts that probe the network.
Each is served by a real local server and crawled by a real crawl (Chromium included)."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from monitor.demo.discuz_pages import discuz_board, discuz_removed, discuz_thread
from monitor.running.evidence import evidence_dir, read_blob
from spiders.cookies import cookie_jar_path
from tests.servers import (
    PROJECT_ROOT,
    CrawlRun,
    run_crawl,
    telegram_page,
    tieba_board,
    tieba_thread,
    write_site,
)

pytestmark = pytest.mark.slow

BOARD = "/forum.php?mod=forumdisplay&fid=2"
FORUM_SITE = """
name = "hostile_forum"
kind = "forum"
preset = "discuz"
start_urls = ["${FIXTURE_URL}/forum.php?mod=forumdisplay&fid=2"]
network = { allow_private = true }  # the site is on 127.0.0.1
max_pages = 1
"""

MARKET_SITE = """
name = "hostile"
kind = "marketplace"
search_url = "${FIXTURE_URL}/search?q={term}"
search_terms = ["料"]
render = true
wait_selector = "#done"
network = { allow_private = true }
max_pages = 1

[selectors]
item = "div.item"
item_id = "::attr(data-id)"
item_link = "a::attr(href)"
item_title = "a"
title = "h1"
text = "div.desc"
"""


def thread_path(tid: int) -> str:
    return f"/forum.php?mod=viewthread&tid={tid}&extra=page%3D1"


def thread_link(tid: int) -> str:
    return f"forum.php?mod=viewthread&amp;tid={tid}&amp;extra=page%3D1"


def board(tids: list[int], links: dict[int, str] | None = None) -> str:
    """A Discuz! board page listing `tids`; `links` replaces a row's thread link."""
    threads = [{"tid": t, "title": f"出售 料子 {t}", "author": "卖家"} for t in tids]
    html = discuz_board(threads, 1, 1)
    for tid, link in (links or {}).items():
        html = html.replace(f'href="{thread_link(tid)}"', f'href="{link}"', 1)
    return html


def thread(tid: int, text: str = "一手 料子 可验", title: str | None = None) -> bytes:
    return discuz_thread(tid, title or f"出售 料子 {tid}", "卖家", "2024-5-1 12:30", text).encode(
        "gbk"
    )


# -- a server that can misbehave ------------------------------------------------------------

Handler = Callable[[BaseHTTPRequestHandler], None]


def html(body: bytes | str, status: int = 200, headers: dict[str, str] | None = None) -> Handler:
    """An answer with `body` (a str is sent in GBK); the Content-Type says GBK unless
    `headers` says otherwise."""
    data = body.encode("gbk") if isinstance(body, str) else body
    headers = {"Content-Type": "text/html; charset=gbk", **(headers or {})}

    def answer(request: BaseHTTPRequestHandler) -> None:
        request.send_response(status)
        for name, value in headers.items():
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    return answer


class Server:
    """A real HTTP server on `host` (port 0) whose routes write their own answers (streams,
    bombs, floods of headers); it records every request: path and headers."""

    def __init__(self, routes: dict[str, Handler] | None = None, host: str = "127.0.0.1"):
        self.routes = dict(routes or {})
        self.host = host
        self.requests: list[tuple[str, dict[str, str]]] = []

    def __enter__(self) -> Server:
        owner = self

        class Request(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                headers = {name.lower(): value for name, value in self.headers.items()}
                owner.requests.append((self.path, headers))
                route = owner.routes.get(self.path)
                if route is None:  # whatever else is asked for: a thread that would parse
                    route = html(thread(999, "这是本机的内部服务"))
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    route(self)

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET

        class Listener(ThreadingHTTPServer):
            address_family = family
            daemon_threads = True

        self.server = Listener((self.host, 0), Request)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def crawl(tmp_path: Path, site: str, url: str, db: Path | None = None) -> CrawlRun:
    """Crawl the site file `site` with its server at `url` (items to a feed; stored in `db`)."""
    name = re.search(r'^name = "(.+)"', site, re.M).group(1)
    sites = tmp_path / "sites"
    write_site(sites, name, site)
    return run_crawl(name, tmp_path, sites_dir=sites, env={"FIXTURE_URL": url}, db=db)


def run_of(db: Path) -> dict[str, Any]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return dict(conn.execute("SELECT * FROM runs ORDER BY id DESC").fetchone())


# -- 2. schemes, hosts, addresses -----------------------------------------------------------


def test_a_link_to_a_local_file_or_data_is_never_fetched_nor_stored(tmp_path):
    secret = tmp_path / "secret.html"
    secret.write_bytes(thread(901, "CANARY 本机文件的内容"))
    routes = {
        BOARD: html(
            board(
                [901, 902, 903],
                {901: f"file://{secret}", 902: "data:text/html,<td class=t_f>DATA-CANARY</td>"},
            )
        ),
        thread_path(903): html(thread(903)),
    }
    with Server(routes) as site:
        run = crawl(tmp_path, FORUM_SITE, site.url)
    assert run.returncode == 0, run.stderr[-3000:]
    assert list(run.by_id()) == ["903"]
    assert not any("CANARY" in (item.get("text") or "") for item in run.items)
    assert run.stats["heishi/refused/scheme"] == 2
    assert run.stats["heishi/rows_skipped/refused_link"] == 2


def test_links_redirects_and_refreshes_to_other_local_origins_are_never_fetched(tmp_path):
    with (
        Server() as internal,
        Server(host="127.0.0.2") as internal2,
        Server(host="::1") as internal6,
        Server() as site,
    ):
        q = internal.port
        links = {
            801: f"http://127.0.0.1:{q}/{thread_link(801)}",  # another port
            802: f"http://2130706433:{q}/{thread_link(802)}",  # 127.0.0.1 as one number
            803: f"http://0177.0.0.1:{q}/{thread_link(803)}",  # octal
            804: f"http://0x7f.1:{q}/{thread_link(804)}",  # hex, short form
            805: f"http://[::ffff:127.0.0.1]:{q}/{thread_link(805)}",  # IPv4 inside IPv6
            806: f"http://[::1]:{internal6.port}/{thread_link(806)}",
            807: f"http://localhost:{site.port}/{thread_link(807)}",  # the site's port, unnamed
            808: f"http://127.0.0.2:{internal2.port}/{thread_link(808)}",
            809: f"http://0.0.0.0:{q}/{thread_link(809)}",
        }
        tids = [*links, 810, 811, 812]
        site.routes.update(
            {
                BOARD: html(board(tids, links)),
                # The site's own pages that send the crawler elsewhere.
                thread_path(810): html(
                    "", 302, {"Location": f"http://127.0.0.1:{q}/{thread_link(810)}"}
                ),
                thread_path(811): html(
                    '<html><head><meta http-equiv="refresh" content="0;url='
                    f'http://127.0.0.1:{q}/{thread_link(811)}"></head><body>稍候</body></html>'
                ),
                thread_path(812): html(thread(812)),
            }
        )
        db = tmp_path / "heishi.db"
        run = crawl(tmp_path, FORUM_SITE, site.url, db=db)
        reached = internal.paths() + internal2.paths() + internal6.paths()
    assert run.returncode == 0, run.stderr[-3000:]
    assert reached == []
    assert list(run.by_id()) == ["812"]
    assert run.stats["heishi/refused/offsite"] == 11
    assert "refused http://2130706433:" in run.stderr  # each refusal is logged, naming it
    # Refused links are not failures: the sweep is complete.
    assert run_of(db)["status"] == "ok"


def test_a_site_may_not_reach_private_addresses_unless_its_file_allows_it(tmp_path):
    site_file = FORUM_SITE.replace("network = { allow_private = true }", "")
    routes = {BOARD: html(board([701])), thread_path(701): html(thread(701))}
    db = tmp_path / "heishi.db"
    with Server(routes) as site:
        by_address = crawl(tmp_path, site_file, site.url, db=db)
        # A name that resolves to loopback is refused when it is resolved.
        by_name = crawl(tmp_path, site_file, f"http://localhost:{site.port}")
        assert site.requests == []
        allowed = crawl(tmp_path, FORUM_SITE, f"http://localhost:{site.port}")
    assert by_address.returncode == 0, by_address.stderr[-3000:]
    assert by_address.items == [] and by_address.stats["heishi/refused/private_address"] == 1
    error = run_of(db)["error"]
    assert f"list page {site.url}{BOARD} refused: 127.0.0.1 is a loopback address" in error
    assert "allow_private = true" in error
    assert by_name.items == [] and by_name.stats["heishi/refused/private_address"] == 1
    assert "localhost resolves to 127.0.0.1, a loopback address" in by_name.stderr
    assert list(allowed.by_id()) == ["701"]


def test_a_log_in_form_never_sends_the_credentials_to_another_host(tmp_path):
    login = "/member.php?mod=logging&action=login"
    site_file = FORUM_SITE + (
        'login = { url = "${FIXTURE_URL}/member.php?mod=logging&action=login", '
        'username_env = "BBS_USER", password_env = "BBS_PASS" }\n'
    )
    db = tmp_path / "heishi.db"
    with Server() as thief, Server() as site:
        form = f"""<html><body><form method="post" action="{thief.url}/steal">
<input type="text" name="username"><input type="password" name="password"></form></body></html>"""
        site.routes[login] = html(form)
        name = "hostile_forum"
        write_site(tmp_path / "sites", name, site_file)
        run = run_crawl(
            name,
            tmp_path,
            sites_dir=tmp_path / "sites",
            env={"FIXTURE_URL": site.url, "BBS_USER": "analyst", "BBS_PASS": "s3cret"},
            db=db,
        )
    assert run.returncode == 0, run.stderr[-3000:]
    assert thief.requests == []
    assert run.stats["heishi/refused/offsite"] == 1 and run.stats["heishi/login_failures"] == 1
    assert run_of(db)["status"] == "failed"


def test_a_start_page_sent_to_a_log_in_page_on_another_host_is_a_wall(tmp_path):
    db = tmp_path / "heishi.db"
    with Server() as passport, Server() as site:
        to = f"{passport.url}/passport/login?redirect=board"
        site.routes[BOARD] = html("", 302, {"Location": to})
        run = crawl(tmp_path, FORUM_SITE, site.url, db=db)
    assert run.returncode == 0, run.stderr[-3000:]
    assert passport.requests == []
    assert run.stats["heishi/blocked_pages"] == 1
    assert "log-in or captcha wall" in run_of(db)["error"]


# -- 8. sizes -------------------------------------------------------------------------------


def gzip_bomb(megabytes: int) -> bytes:
    """`megabytes` of zeros, gzip-compressed (about 1 KB per MB)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(1024 * 1024)
    return b"".join(packer.compress(chunk) for _ in range(megabytes)) + packer.flush()


def endless(request: BaseHTTPRequestHandler) -> None:
    """A page that never ends (chunked, no length), as fast as the crawler reads."""
    request.send_response(200)
    request.send_header("Content-Type", "text/html; charset=utf-8")
    request.send_header("Transfer-Encoding", "chunked")
    request.end_headers()
    chunk = b"<p>" + b"x" * 65530 + b"</p>"
    request.wfile.write(b"c\r\n<html><body>\r\n")
    while True:
        request.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))


def spawn_crawl(tmp_path: Path, site: str, url: str, db: Path) -> subprocess.Popen[str]:
    """Start a crawl as `run_crawl` runs it; `finish` waits for it."""
    sites = tmp_path / "sites"
    name = re.search(r'^name = "(.+)"', site, re.M).group(1)
    write_site(sites, name, site)
    args = [sys.executable, "-m", "spiders.crawl", name, "--db", str(db)]
    args += ["--stats", str(tmp_path / "stats.json"), "--set", f"HEISHI_SITES_DIR={sites}"]
    args += ["--set", "AUTOTHROTTLE_ENABLED=false", "--set", "HEISHI_RETRY_BACKOFF_BASE=0.1"]
    return subprocess.Popen(
        args,
        cwd=PROJECT_ROOT,
        env={**os.environ, "FIXTURE_URL": url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(child: subprocess.Popen[str], tmp_path: Path) -> tuple[CrawlRun, int]:
    """The crawl's outcome and its peak memory in bytes (its own rusage, from wait4)."""
    assert child.stderr is not None
    stderr = child.stderr.read()  # until the crawl ends; then reap it here, for its rusage
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    stats_path = tmp_path / "stats.json"
    stats = json.loads(stats_path.read_text()) if stats_path.exists() else {}
    return CrawlRun(child.returncode, stderr, [], stats), usage.ru_maxrss * 1024


def test_bombs_huge_and_endless_pages_are_cut_off_naming_the_url_and_the_limit(tmp_path):
    bomb = gzip_bomb(314)
    assert len(bomb) < 400_000
    routes = {
        BOARD: html(board([601, 602, 603, 604])),
        thread_path(601): html(bomb, headers={"Content-Encoding": "gzip"}),
        thread_path(602): html(b"<p>" + b"x" * (20 * 1024 * 1024) + b"</p>"),
        thread_path(603): endless,
        thread_path(604): html(thread(604)),
    }
    db = tmp_path / "heishi.db"
    with Server(routes) as site:
        started = time.monotonic()
        run, peak = finish(spawn_crawl(tmp_path, FORUM_SITE, site.url, db), tmp_path)
        seconds = time.monotonic() - started
    assert run.returncode == 0, run.stderr[-3000:]
    # Uncapped, the bomb took the crawl to 1.38 GB; capped it stays within a few hundred MB.
    assert peak < 600 * 1024 * 1024, f"the crawl grew to {peak / 2**20:.0f} MB"
    assert seconds < 120
    assert run.stats["heishi/items_stored"] == 1
    assert run.stats["heishi/pages_too_large"] == 3
    assert run.stats["heishi/detail_page_errors"] == 3
    limit = "larger than the download limit of 10,485,760 bytes"
    for tid in (601, 602, 603):  # the log names each page and the limit it hit
        lines = [line for line in run.stderr.splitlines() if f"tid={tid}&" in line]
        assert any(limit in line for line in lines), tid
    assert limit in run_of(db)["error"]


def test_an_endless_list_page_fails_the_run_naming_the_url_and_the_sites_limit(tmp_path):
    site_file = FORUM_SITE + "download_maxsize = 1048576\n"
    db = tmp_path / "heishi.db"
    with Server({BOARD: endless}) as site:
        run = crawl(tmp_path, site_file, site.url, db=db)
    assert run.returncode == 0, run.stderr[-3000:]
    row = run_of(db)
    assert row["status"] == "failed"
    assert f"list page {site.url}{BOARD} failed" in row["error"]
    assert "larger than the download limit of 1,048,576 bytes" in row["error"]


def test_a_page_that_trickles_forever_is_cut_off_by_the_timeout(tmp_path):
    def trickle(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "text/html; charset=utf-8")
        request.send_header("Transfer-Encoding", "chunked")
        request.end_headers()
        while True:  # 20 bytes a second, never done
            request.wfile.write(b"2\r\n..\r\n")
            request.wfile.flush()
            time.sleep(0.1)

    # Half a second is enough to tell a trickle from an answer: the chunks come every 0.1 s.
    site_file = FORUM_SITE + "download_timeout = 0.5\n"
    db = tmp_path / "heishi.db"
    started = time.monotonic()
    with Server({BOARD: trickle}) as site:
        run = crawl(tmp_path, site_file, site.url, db=db)
    assert run.returncode == 0, run.stderr[-3000:]
    assert time.monotonic() - started < 60  # three tries of 0.5 s, and the crawl's start
    error = run_of(db)["error"]
    assert f"{site.url}{BOARD}" in error and "took longer than 0.5 seconds" in error


def test_a_rendered_page_over_the_limit_is_not_parsed(tmp_path):
    # 9 KB over a limit of 4 KB: the check is the same at any size, and the evidence
    # screenshot masks 3,000 characters at once (400,000 ran its masking into Playwright's
    # 30 s timeout before the size was even checked).
    page = "<html><body><div id='done'></div><p>" + "料" * 3_000 + "</p></body></html>"
    site_file = MARKET_SITE.replace("max_pages = 1\n", "max_pages = 1\ndownload_maxsize = 4096\n")
    db = tmp_path / "heishi.db"
    with Server({"/search?q=%E6%96%99": html(page.encode("utf-8"))}) as site:
        run = crawl(tmp_path, site_file, site.url, db=db)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stats.get("heishi/pages_too_large") == 1, run.stderr[-3000:]
    assert "larger than the download limit of 4,096 bytes" in run_of(db)["error"]


def test_titles_and_texts_are_capped_the_cut_recorded_and_the_page_kept_whole(tmp_path):
    title = "出售 全国 身份证 四件套 " + "标" * 1_000_000
    text = "出售全国身份证四件套，一手货源，可验。\n" + "料" * 2_000_000
    routes = {BOARD: html(board([501])), thread_path(501): html(thread(501, text, title))}
    db = tmp_path / "heishi.db"
    with Server(routes) as site:
        run = crawl(tmp_path, FORUM_SITE, site.url, db=db)
    assert run.returncode == 0, run.stderr[-3000:]
    with sqlite3.connect(db) as conn:
        stored_title, stored_text, evidence = conn.execute(
            "SELECT title, text, evidence FROM listing_versions"
        ).fetchone()
    assert len(stored_title) <= 500 and stored_title.startswith("出售 全国 身份证 四件套")
    assert len(stored_text) <= 20_000 and stored_text.startswith("出售全国身份证四件套")
    assert stored_text.endswith(f"[… cut by heishi: the text had {len(text):,} characters]")
    assert run.items[0]["extra"]["truncated"] == {"title": len(title), "text": len(text)}
    assert run.stats["heishi/truncated/title"] == 1 and run.stats["heishi/truncated/text"] == 1
    # The page is kept whole as evidence.
    page = read_blob(evidence_dir(db), json.loads(evidence)["page"])
    assert page.count("料".encode("gbk")) == 2_000_000


def test_a_compressed_page_that_lies_about_its_charset_is_read_as_what_it_is(tmp_path):
    # GBK bytes, gzip-compressed, declared UTF-8 by the header and by the page itself.
    lying = thread(101, "出售 全国 身份证 四件套").replace(b"charset=gbk", b"charset=utf-8")
    headers = {"Content-Encoding": "gzip", "Content-Type": "text/html; charset=utf-8"}
    routes = {
        BOARD: html(gzip.compress(board([101]).encode("gbk")), headers=headers),
        thread_path(101): html(gzip.compress(lying), headers=headers),
    }
    with Server(routes) as site:
        run = crawl(tmp_path, FORUM_SITE, site.url)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.by_id()["101"]["text"] == "出售 全国 身份证 四件套"
    assert run.stats["heishi/reencoded/gb18030"] == 2


def test_pages_in_utf16_without_a_mark_or_big5_said_to_be_gbk_are_read(tmp_path):
    # Found by tests/test_hostile_fuzz.py: both were read as mojibake, so nothing matched.
    big5_page = discuz_thread(102, "出售 個資 102", "賣家", "2024-5-1 12:30", "台灣 個資 大量出售")
    routes = {
        BOARD: html(board([101, 102])),
        # UTF-16 without a byte order mark, said to be UTF-8 by the header.
        thread_path(101): html(
            discuz_thread(101, "出售 料子 101", "卖家", "2024-5-1 12:30", "大量出售 料子")
            .replace("charset=gbk", "charset=utf-8")
            .encode("utf-16-le"),
            headers={"Content-Type": "text/html; charset=utf-8"},
        ),
        # Big5 bytes, said to be GBK by the header and by the page.
        thread_path(102): html(big5_page.encode("big5", "xmlcharrefreplace")),
    }
    with Server(routes) as site:
        run = crawl(tmp_path, FORUM_SITE, site.url)
    assert run.returncode == 0, run.stderr[-3000:]
    items = run.by_id()
    assert items["101"]["text"] == "大量出售 料子"
    assert items["102"]["text"] == "台灣 個資 大量出售" and items["102"]["seller"] == "賣家"
    assert run.stats["heishi/reencoded/utf-16-le"] == 1 and run.stats["heishi/reencoded/big5"] == 1


# -- 9. rows that break parsers -------------------------------------------------------------


def test_a_row_with_a_script_link_hides_no_other_row(tmp_path):
    links = {302: "javascript:void(0)", 303: "mailto:seller@example.com"}
    routes = {BOARD: html(board([301, 302, 303, 304, 305], links))}
    routes.update({thread_path(t): html(thread(t)) for t in (301, 304, 305)})
    with Server(routes) as site:
        run = crawl(tmp_path, FORUM_SITE, site.url)
    assert run.returncode == 0, run.stderr[-3000:]
    assert sorted(run.by_id()) == ["301", "304", "305"]
    assert run.stats["heishi/rows_skipped/refused_link"] == 2
    assert "spider_exceptions/ValueError" not in run.stats


def test_every_row_of_a_list_page_is_stored_or_skipped_with_a_reason(tmp_path):
    # Found by tests/test_hostile_fuzz.py: rows whose own page was refused, gone, deleted,
    # failed or had no text, duplicate rows, rows without an id and rows whose page
    # redirected where another's had (Scrapy's duplicate filter) left no trace in the stats.
    tids = [451, 452, 453, 454, 455, 456, 457, 458, 459]
    page = board(tids, {458: None})
    page = page.replace('href="None"', "")  # a row without a link (so without an id)
    duplicate = page.split("<tbody")[2].split("</tbody>")[0]  # row 451 once more
    page = page.replace("</table>", f"<tbody{duplicate}</tbody></table>", 1)
    with Server() as internal, Server() as site:
        site.routes.update(
            {
                BOARD: html(page),
                thread_path(451): html(thread(451)),
                thread_path(452): html(thread(452)),
                thread_path(453): html("", 302, {"Location": f"{internal.url}/moved"}),
                thread_path(459): html("", 302, {"Location": f"{internal.url}/moved"}),
                thread_path(454): html("<h1>Not Found</h1>", 404),
                thread_path(455): html(discuz_removed()),
                thread_path(456): html(thread(456).replace(b'class="t_f"', b'class="t_g"')),
                thread_path(457): html("<h1>boom</h1>", 500),
            }
        )
        db = tmp_path / "heishi.db"
        run = crawl(tmp_path, FORUM_SITE, site.url, db=db)
        assert internal.requests == []
    assert run.returncode == 0, run.stderr[-3000:]
    skipped = {
        key.rsplit("/", 1)[1]: value
        for key, value in run.stats.items()
        if key.startswith("heishi/rows_skipped/")
    }
    assert skipped == {
        "duplicate": 1,
        "no_id": 1,
        "detail_refused": 1,
        "detail_gone": 1,
        "detail_removed": 1,
        "no_text": 1,
        "detail_failed": 1,
        "duplicate_page": 1,
    }
    assert run.stats["heishi/items_stored"] == 2
    assert run.stats["heishi/list_rows"] == 10 == 2 + sum(skipped.values())


def test_every_message_of_a_channel_page_is_stored_or_skipped_with_a_reason(tmp_path):
    messages = [{"id": i, "text": f"出售 料子 第{i}批"} for i in (21, 22, 23)]
    page = telegram_page("liaozi", messages, None)
    # A service message, a sticker without text, and message 21 once more.
    first = page.split('<div class="tgme_widget_message_wrap">')[1]
    service = first.replace("js-widget_message", "js-widget_message service_message").replace(
        'data-post="liaozi/21"', 'data-post="liaozi/24"'
    )
    sticker = first.replace('data-post="liaozi/21"', 'data-post="liaozi/25"').replace(
        '<div class="tgme_widget_message_text js-message_text" dir="auto">出售 料子 第21批</div>',
        '<i class="tgme_widget_message_sticker"></i>',
    )
    extra = "".join(f'<div class="tgme_widget_message_wrap">{m}' for m in (service, sticker, first))
    page = page.replace("</section>", extra + "</section>")
    site_file = """
name = "hostile"
kind = "channel"
start_urls = ["${FIXTURE_URL}/s/liaozi"]
network = { allow_private = true }
"""
    with Server({"/s/liaozi": html(page.encode("utf-8"))}) as site:
        run = crawl(tmp_path, site_file, site.url, db=tmp_path / "heishi.db")
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stats["heishi/items_stored"] == 3
    assert run.stats["heishi/rows_skipped/no_text"] == 2
    assert run.stats["heishi/rows_skipped/duplicate"] == 1
    assert run.stats["heishi/list_rows"] == 6


def test_absurd_counts_lose_the_count_not_the_listing(tmp_path):
    threads = [
        {"tid": 351, "title": "出售 料子 351", "author": "卖家", "replies": "9" * 400},
        {"tid": 352, "title": "出售 料子 352", "author": "卖家", "views": "1.2.3"},
        {"tid": 353, "title": "出售 料子 353", "author": "卖家", "replies": 7},
    ]
    routes = {BOARD: html(discuz_board(threads, 1, 1))}
    routes.update({thread_path(t["tid"]): html(thread(t["tid"])) for t in threads})
    with Server(routes) as site:
        run = crawl(tmp_path, FORUM_SITE, site.url)
    assert run.returncode == 0, run.stderr[-3000:]
    items = run.by_id()
    assert sorted(items) == ["351", "352", "353"]
    assert items["351"].get("replies") is None and items["352"].get("views") is None
    assert items["353"]["replies"] == 7
    assert not any(k.startswith("spider_exceptions/") for k in run.stats)


@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_deeply_nested_markup_hides_no_listing(tmp_path, depth):
    nest = "<div><span>" * depth + "深处" + "</span></div>" * depth
    page = board([401, 402, 403]).replace("出售 料子 401</a>", "出售 料子 401</a>" + nest)
    routes = {BOARD: html(page)}
    routes.update({thread_path(t): html(thread(t)) for t in (401, 403)})
    deep = discuz_thread(402, "出售 料子 402", "卖家", "2024-5-1 12:30", "NEST")
    routes[thread_path(402)] = html(deep.replace("NEST", nest))
    with Server(routes) as site:
        run = crawl(tmp_path, FORUM_SITE, site.url)
    assert run.returncode == 0, run.stderr[-3000:]
    items = run.by_id()
    assert sorted(items) == ["401", "402", "403"]
    assert "深处" in items["402"]["text"]
    assert run.stats["heishi/deep_pages_flattened"] == 2
    assert not any(k.startswith("spider_exceptions/") for k in run.stats)


def test_a_channel_message_nested_too_deep_is_read_with_every_other(tmp_path):
    nest = "<b>" * 100_000 + "嵌套" + "</b>" * 100_000
    messages = [{"id": i, "text": f"出售 料子 第{i}批"} for i in (11, 12, 13)]
    page = telegram_page("liaozi", messages, None).replace(
        "出售 料子 第11批", "出售 料子 第11批" + nest
    )
    site_file = """
name = "hostile"
kind = "channel"
start_urls = ["${FIXTURE_URL}/s/liaozi"]
network = { allow_private = true }
"""
    with Server({"/s/liaozi": html(page.encode("utf-8"))}) as site:
        run = crawl(tmp_path, site_file, site.url)
    assert run.returncode == 0, run.stderr[-3000:]
    assert sorted(run.by_id()) == ["11", "12", "13"]
    assert "嵌套" in run.by_id()["11"]["text"]


def test_unclosed_comment_blocks_do_not_stall_a_tieba_board(tmp_path):
    threads = [{"tid": 8800000001, "title": "出 四件套 实名 可验", "author": "料子哥"}]
    page = tieba_board("数据", threads, None).replace("</body>", "<code><!-- 料" * 60_000)
    thread_page = tieba_thread(8800000001, threads[0]["title"], "料子哥", "2024-05-01", "可验")
    routes = {
        "/f?kw=x": html(page.encode("utf-8"), headers={"Content-Type": "text/html; charset=utf-8"}),
        "/p/8800000001": html(thread_page.encode("utf-8")),
    }
    site_file = """
name = "hostile"
kind = "forum"
preset = "tieba"
start_urls = ["${FIXTURE_URL}/f?kw=x"]
network = { allow_private = true }
"""
    started = time.monotonic()
    with Server(routes) as site:
        run = crawl(tmp_path, site_file, site.url)
    assert run.returncode == 0, run.stderr[-3000:]
    assert list(run.by_id()) == ["8800000001"]
    assert time.monotonic() - started < 60


def test_a_page_of_a_thousand_rows_and_overlong_links_is_read_within_limits(tmp_path):
    messages = [{"id": i, "text": f"出售 料子 第{i}批"} for i in range(1, 1101)]
    page = telegram_page("liaozi", messages, None)
    long_link = "https://t.me/liaozi/7?" + "x" * 5000
    page = page.replace('href="https://t.me/liaozi/7"', f'href="{long_link}"')
    site_file = """
name = "hostile"
kind = "channel"
start_urls = ["${FIXTURE_URL}/s/liaozi"]
network = { allow_private = true }
"""
    with Server({"/s/liaozi": html(page.encode("utf-8"))}) as site:
        run = crawl(tmp_path, site_file, site.url)
    assert run.returncode == 0, run.stderr[-3000:]
    items = run.by_id()
    assert len(items) == 1000 and "1000" in items and "1001" not in items
    assert run.stats["heishi/rows_skipped/over_page_limit"] == 100
    # The message with a 5,000-character link keeps its text, with the page's address.
    assert items["7"]["text"] == "出售 料子 第7批" and items["7"]["url"] == f"{site.url}/s/liaozi"
    assert run.stats["heishi/refused/bad_url"] == 1


# -- 16. cookies ----------------------------------------------------------------------------


def test_a_cookie_flood_is_capped_and_the_next_sweep_still_works(tmp_path):
    def flood(request: BaseHTTPRequestHandler) -> None:
        body = board([201]).encode("gbk")
        request.send_response(200)
        request.send_header("Content-Type", "text/html; charset=gbk")
        request.send_header("Set-Cookie", "session=kept; Path=/; Max-Age=86400")
        for number in range(300):
            value = f"{number:04d}" + "v" * 4000
            request.send_header("Set-Cookie", f"junk{number}={value}; Path=/; Max-Age=86400")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    routes = {BOARD: flood, thread_path(201): html(thread(201))}
    db = tmp_path / "heishi.db"
    with Server(routes) as site:
        first = crawl(tmp_path, FORUM_SITE, site.url, db=db)
        jar = cookie_jar_path(db, "hostile_forum")
        second = crawl(tmp_path, FORUM_SITE, site.url, db=db)
        sent = [headers.get("cookie", "") for path, headers in site.requests if path == BOARD]
    assert first.returncode == 0 and second.returncode == 0, second.stderr[-3000:]
    assert jar.stat().st_size <= 40_000
    assert first.stats["heishi/cookies_dropped"] >= 290
    assert run_of(db)["status"] == "ok" and list(second.by_id()) == ["201"]
    assert "session=kept" in sent[-1] and len(sent[-1]) <= 33_000


# -- 17. the browser ------------------------------------------------------------------------


def probing_search_page(internal: str, internal2: str, stun: str) -> str:
    """A search page whose script reports its user agent, then probes local services every
    way a page can: fetch, an image, an iframe, a WebSocket, WebRTC (UDP to a STUN server at
    `stun`), and a redirect of its own."""
    targets = [
        f"{internal}/fetch",
        f"http://localhost:{internal.rsplit(':', 1)[1]}/localhost",
        f"{internal2}/other-address",
        f"http://2130706433:{internal.rsplit(':', 1)[1]}/decimal",
    ]
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>搜索</title></head><body>
<div class="item" data-id="31"><a href="/item/31">出售 料子 31</a></div>
<img src="{internal}/image.png"><iframe src="{internal}/frame"></iframe>
<script src="/bounce"></script>
<script>
fetch("/ua?" + encodeURIComponent(navigator.userAgent));
for (const url of {json.dumps(targets)}) fetch(url, {{mode: "no-cors"}}).catch(() => 0);
try {{ new WebSocket("{internal.replace("http", "ws")}/socket"); }} catch (e) {{}}
window.open("{internal}/popup");
try {{ const rtc = new RTCPeerConnection({{iceServers: [{{urls: "stun:{stun}"}}]}});
  rtc.createDataChannel("x"); rtc.createOffer().then(o => rtc.setLocalDescription(o));
}} catch (e) {{}}
setTimeout(() => {{ const d = document.createElement("div"); d.id = "done";
  document.body.appendChild(d); }}, 1500);
</script></body></html>"""


def test_a_rendered_page_reaches_no_other_local_service_and_one_user_agent_is_shown(tmp_path):
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(0.5)
    stun = f"127.0.0.1:{udp.getsockname()[1]}"
    with Server() as internal, Server(host="127.0.0.2") as internal2, Server() as site:
        detail = "<html><body><h1>出售 料子 31</h1><div class='desc'>料子 可验</div></body></html>"
        search = probing_search_page(internal.url, internal2.url, stun)
        site.routes.update(
            {
                "/search?q=%E6%96%99": html(search),
                "/bounce": html("", 302, {"Location": f"{internal.url}/bounced.js"}),
                "/item/31": html(detail),
            }
        )
        run = crawl(tmp_path, MARKET_SITE, site.url)
        reached = internal.paths() + internal2.paths()
        agents = {headers.get("user-agent") for _, headers in site.requests}
        reported = [path for path in site.paths() if path.startswith("/ua?")]
    with udp, pytest.raises(TimeoutError):
        udp.recvfrom(2048)  # no STUN packet ever came
    assert run.returncode == 0, run.stderr[-3000:]
    assert list(run.by_id()) == ["31"]
    assert reached == []
    assert run.stats["heishi/refused/offsite"] >= 5  # fetches, image, iframe, WebSocket
    for probe in ("fetch", "image.png", "frame", "socket", "popup"):
        assert f"/{probe}: 127.0.0.1:{internal.port} is not one of the site's hosts" in run.stderr
    # Scrapy's requests (the detail page), Chromium's and the page's script: one agent.
    assert len(agents) == 1
    (agent,) = agents
    assert "HeadlessChrome" not in agent and "Chrome/" in agent
    from urllib.parse import unquote

    assert [unquote(path[len("/ua?") :]) for path in reported] == [agent]


@pytest.mark.skipif(os.geteuid() != 0, reason="checks the drop from root")
def descendants(pid: int) -> dict[int, tuple[int, str, str]]:
    """The processes below `pid`: {pid: (uid, command line, status)}."""
    children: dict[int, list[int]] = {}
    info: dict[int, tuple[int, str, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        children.setdefault(int(fields["PPid"]), []).append(int(entry.name))
        info[int(entry.name)] = (int(fields["Uid"].split()[0]), cmdline, status)
    found, todo = {}, [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found[child] = info[child]
            todo.append(child)
    return found


@pytest.mark.skipif(os.geteuid() != 0, reason="checks the drop from root")
def test_rendering_runs_chromium_sandboxed_as_an_unprivileged_user(tmp_path):
    page = """<!DOCTYPE html><html><body><div class="item" data-id="1"><a href="/item/1">x</a>
</div><script>setTimeout(() => { const d = document.createElement("div"); d.id = "done";
document.body.appendChild(d); }, 3000);</script></body></html>"""
    seen: dict[int, tuple[int, str, str]] = {}
    with Server({"/search?q=%E6%96%99": html(page)}) as site:
        crawl_process = spawn_crawl(tmp_path, MARKET_SITE, site.url, tmp_path / "heishi.db")
        # Chromium's processes, while the page renders (it waits 3 s for #done).
        while crawl_process.poll() is None and not any(
            "--type=renderer" in c for _, c, _ in seen.values()
        ):
            seen.update(descendants(crawl_process.pid))
            time.sleep(0.1)
        time.sleep(0.5)
        seen.update(descendants(crawl_process.pid))
        run, _ = finish(crawl_process, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    # (`chromium --version`, which tells the user agent's version, runs no page: not counted)
    # (a process seen before setpriv's exec of Chromium is setpriv itself: the program that
    # runs is the first word of the command line, and only Chromium's are judged)
    chromium = {
        p: v
        for p, v in seen.items()
        if "chromium" in v[1].split(" ", 1)[0] and "--version" not in v[1]
    }
    browser = [v for v in chromium.values() if "--type=" not in v[1] and "crashpad" not in v[1]]
    renderers = [v for v in chromium.values() if "--type=renderer" in v[1]]
    assert browser and renderers, "the crawl's Chromium was not seen"
    assert all(uid != 0 for uid, _, _ in chromium.values())  # not one process as root
    assert not any("--no-sandbox" in command for _, command, _ in browser)
    # The renderers, which run the page's JavaScript, are inside the seccomp sandbox.
    assert all("Seccomp:\t2" in status for _, _, status in renderers)
