"""A seeded fuzz run of hostile pages through a real `heishi run --once`.

A generator builds COUNT hostile sources (Discuz! boards and Telegram channel previews), one
list page each, on a real local server; every row of a page is dealt one hostility at random:
links in every scheme (`javascript:`, `file:`, `data:`, `ftp:`, `mailto:`) and to internal
addresses (another local port, 169.254.169.254, 10.x, 127.0.0.1 as one number), redirects
and meta refreshes of a listing's page to those addresses, gzip bombs, megabyte titles, long
texts, 5,000 nested elements in a row or a page, pages in GBK, GB18030, Big5 and UTF-16 or
lying about it, broken bytes, duplicate and id-less rows, channel messages that quote,
forward, poll or preview; and personal numbers disguised the ways sellers write them
(tests/disguises.py) in titles, texts, sellers, attributes and the parts of a message that go
to `extra`. `heishi run --once` crawls them all, as cron would.

Then it checks: the monitor exited cleanly; the store's integrity; no request reached an
internal address; no number of any disguise is readable in the store file, its WAL, the
decompressed evidence, the logs, the monitor's output or `heishi export`; and every row of
every page is accounted for in its run's stats: stored, or skipped with a reason
(`heishi/list_rows` = `heishi/items_stored` + the `heishi/rows_skipped/<reason>` counts,
docs/contracts.md), each row as its hostility says.

    HEISHI_FUZZ_SEED=7 HEISHI_FUZZ_COUNT=40 pytest tests/test_hostile_fuzz.py   # longer
    python -m tests.test_hostile_fuzz --seed 7 --count 40                        # the same
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import os
import random
import sqlite3
import string
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from monitor.demo.local_server import LocalServer, Page
from monitor.running.evidence import evidence_dir
from tests.disguises import (
    NAMES,
    Planted,
    exports,
    in_attribute,
    leaks,
    planted_numbers,
    store_texts,
)
from tests.helpers import heishi
from tests.servers import write_site

pytestmark = [pytest.mark.daemon, pytest.mark.slow]

SEED = int(os.environ.get("HEISHI_FUZZ_SEED") or 1515)
COUNT = int(os.environ.get("HEISHI_FUZZ_COUNT") or 6)

SALE = "出售全国身份证四件套，一手货源，可验，量大优惠"
BOARD = "forum.php?mod=forumdisplay&fid=2"


# -- what each row of a page does ------------------------------------------------------------


@dataclass
class Row:
    """One row of a hostile list page and what must become of it: `stored` under `site_id`,
    or skipped for `fate` (the reason its run's stats give)."""

    fate: str
    hostility: str
    site_id: str | None = None
    marker: str | None = None  # words the stored text must hold (read in the right encoding)


@dataclass
class HostilePage:
    source: str
    kind: str
    site_file: str
    rows: list[Row] = field(default_factory=list)


@dataclass
class World:
    pages: list[HostilePage]
    routes: dict[str, Page]
    numbers: set[str]
    undealt: list[str]  # hostilities and encodings no row got (a run too small for them all)


def tag(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_uppercase) for _ in range(6))


def marker_of(rng: random.Random) -> str:
    # Characters GB2312 and Big5 both have: a page in either encoding can say them.
    return f"大量出售{tag(rng)}"


class Deck:
    """Every card once in a random order, then cards at random: a run with enough rows deals
    every hostility (and every encoding) at least once."""

    def __init__(self, cards: Iterable[Any], rng: random.Random) -> None:
        self.cards = list(cards)
        self.rng = rng
        self.left = rng.sample(self.cards, len(self.cards))

    def draw(self) -> Any:
        return self.left.pop() if self.left else self.rng.choice(self.cards)


@dataclass
class Decks:
    board: Deck
    message: Deck
    encoding: Deck

    def undealt(self) -> list[str]:
        return [
            str(card) for deck in (self.board, self.message, self.encoding) for card in deck.left
        ]


class Numbers:
    """Disguised numbers handed out one at a time, every one remembered."""

    def __init__(self, seed: int) -> None:
        self.pool = planted_numbers(4000, seed)
        self.used: list[Planted] = []

    def take(self) -> Planted:
        planted = self.pool[len(self.used) % len(self.pool)]
        self.used.append(planted)
        return planted


# -- encodings ------------------------------------------------------------------------------

# (how the page is written, charset in the header, charset in the page's <meta>, BOM)
ENCODINGS = {
    "utf-8": ("utf-8", "utf-8", "utf-8", b""),
    "gbk": ("gbk", "gbk", "gbk", b""),
    "gb18030": ("gb18030", "gb18030", "gb18030", b""),
    "big5": ("big5", "big5", "big5", b""),
    "utf-16 with BOM": ("utf-16-le", "utf-16", None, b"\xff\xfe"),
    "utf-16 declared": ("utf-16-le", "utf-16le", None, b""),
    "gbk said to be utf-8": ("gbk", "utf-8", "utf-8", b""),
    "utf-8 said to be gbk": ("utf-8", "gbk", "gbk", b""),
    "big5 said nothing": ("big5", None, None, b""),
    "gb18030 said latin-1": ("gb18030", "iso-8859-1", None, b""),
    "big5 said to be gbk": ("big5", "gbk", "gbk", b""),
    "utf-16 said to be utf-8": ("utf-16-le", "utf-8", None, b""),
    "gbk with broken bytes": ("gbk", "gbk", "gbk", b""),
}
BROKEN = (b"\x80", b"\xff", b"\xfe\xfe", b"\x81\x20", b"\xa1")
BROKEN_DIGITS = "\x01"


def encoded(markup: str, encoding: str, rng: random.Random) -> Page:
    """`markup` written in `encoding` (characters it cannot write as references), with the
    headers that go with it; broken bytes scattered through it for the broken kind."""
    codec, header, meta, bom = ENCODINGS[encoding]
    if meta:
        markup = markup.replace("<head>", f'<head><meta charset="{meta}">', 1)
    body = bom + markup.encode(codec, "xmlcharrefreplace")
    if encoding == "gbk with broken bytes":
        # Before each line break (a byte that starts no character, or starts one the next
        # byte cannot end), so the text around them still decodes.
        pieces = body.split(b"<br />")
        body = b"".join(
            piece + (rng.choice(BROKEN) + b"<br />" if i < len(pieces) - 1 else b"")
            for i, piece in enumerate(pieces)
        )
        # And between the digits of a number (BROKEN_DIGITS marks where).
        body = body.replace(BROKEN_DIGITS.encode(), rng.choice((b"\x80", b"\xff")))
    content_type = f"text/html; charset={header}" if header else "text/html"
    return Page(body, 200, {"Content-Type": content_type})


# -- Discuz! boards -------------------------------------------------------------------------

# Hostile row links, each with the reason the row is skipped. `{internal}` is another local
# service, `{canary}` a local file; the private addresses are checked to be refused before the
# crawl (so nothing is ever sent to them).
ROW_LINKS = {
    "javascript link": ("refused_link", "javascript:void(window.open('{internal}'))"),
    "file link": ("refused_link", "file://{canary}"),
    "data link": ("refused_link", "data:text/html,<td class=t_f>{marker}</td>"),
    "ftp link": ("refused_link", "ftp://127.0.0.1/forum.php?mod=viewthread&tid={tid}"),
    "mailto link": ("refused_link", "mailto:seller@example.com?tid={tid}"),
    "another local port": ("refused_link", "{internal}/forum.php?mod=viewthread&tid={tid}"),
    "cloud metadata": ("refused_link", "http://169.254.169.254/latest/meta-data/?tid={tid}"),
    "private network": ("refused_link", "http://10.0.0.1/forum.php?mod=viewthread&tid={tid}"),
    "loopback as a number": (
        "refused_link",
        "http://2130706433:{internal_port}/forum.php?mod=viewthread&tid={tid}",
    ),
    "overlong link": ("refused_link", "forum.php?mod=viewthread&tid={tid}&x=" + "y" * 3000),
}
# A listing's own page that sends the crawler elsewhere or cannot be read.
DETAIL_LOSSES = (
    "redirect to another local port",
    "redirect to cloud metadata",
    "refresh to another local port",
    "gzip bomb",
    "gone",
    "deleted",
    "no text",
)
DETAIL_KINDS = (
    "plain",
    "huge title",
    "long text",
    "deep page",
    "deep row",
    "numbers in attributes",
    "odd counts",
)


def forum_markup(title: str, content: str) -> str:
    return f"""<!DOCTYPE html><html><head><title>{title} - Powered by Discuz!</title></head>
<body><div id="wp" class="wp">{content}</div></body></html>"""


def thread_markup(
    tid: int, title: str, author: str, text: str, attributes: str = "", nest: int = 0
) -> str:
    body = f"""<h1 class="ts"><span id="thread_subject">{title}</span></h1>
<div id="postlist"><div id="post_{tid}0"><table><tr>
<td class="pls"><div class="authi"><a href="home.php?mod=space&amp;uid=1" class="xw1">{author}</a></div></td>
<td class="plc"><div class="authi"><em id="authposton{tid}0">发表于 2024-5-1 12:30</em></div>
<table><tr><td class="t_f" id="postmessage_{tid}0">{"<div>" * nest}{text}{"</div>" * nest}{attributes}</td></tr></table>
</td></tr></table></div></div>"""
    return forum_markup(title, body)


def board_row(tid: int, link: str | None, title: str, author: str, extra: str = "") -> str:
    anchor = (
        f'<a href="{html.escape(link)}" class="s xst">{title}</a>'
        if link is not None
        else f'<span class="s xst">{title}</span>'
    )
    return f"""<tbody id="normalthread_{tid}"><tr><th class="common">{anchor}{extra}</th>
<td class="by"><cite><a href="home.php?mod=space&amp;uid=1">{author}</a></cite><em><span>2024-5-1</span></em></td>
<td class="num"><a href="#" class="xi2">3</a><em>99</em></td></tr></tbody>"""


def gzip_bomb(megabytes: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(1024 * 1024)
    return b"".join(packer.compress(chunk) for _ in range(megabytes)) + packer.flush()


def numbers_text(numbers: Numbers, rng: random.Random, count: int) -> str:
    return "<br />".join(f"样本{rng.choice(NAMES)}：{numbers.take().markup}" for _ in range(count))


def hostile_board(
    n: int,
    rng: random.Random,
    numbers: Numbers,
    decks: Decks,
    base: str,
    internal: str,
    canary: Path,
) -> tuple[HostilePage, dict[str, Page]]:
    source = f"fuzz_board_{n}"
    prefix = f"/b{n}/"
    page = HostilePage(
        source,
        "forum",
        f"""name = "{source}"
kind = "forum"
preset = "discuz"
start_urls = ["{base}{prefix}{BOARD}"]
network = {{ allow_private = true }}
autothrottle = false  # a local site answers at once: AutoThrottle would only slow the run
max_pages = 2
""",
    )
    routes: dict[str, Page] = {}
    rows_markup = []
    chosen = [("stored", "plain")] + [decks.board.draw() for _ in range(rng.randint(10, 18))]
    stored_tids: list[int] = []
    lost_here: set[str] = set()
    for index, (group, hostility) in enumerate(chosen):
        tid = 1000 * n + index + 1
        title = f"出售 全国 身份证 四件套 {numbers.take().markup}"
        author = f"卖家{numbers.take().markup}"
        path = f"forum.php?mod=viewthread&tid={tid}"
        link: str | None = path
        extra = ""
        if group == "link":
            fate, template = ROW_LINKS[hostility]
            link = template.format(
                internal=internal,
                internal_port=internal.rsplit(":", 1)[1],
                canary=canary,
                tid=tid,
                marker="CANARY",
            )
            page.rows.append(Row(fate, hostility))
        elif group == "odd" and hostility == "duplicate row" and stored_tids:
            tid = rng.choice(stored_tids)
            link = f"forum.php?mod=viewthread&tid={tid}"
            page.rows.append(Row("duplicate", hostility))
        elif group == "odd":
            link = None
            page.rows.append(Row("no_id", hostility))
        else:
            marker = marker_of(rng)
            encoding = decks.encoding.draw()
            text = f"{SALE}<br />{marker}<br />{numbers_text(numbers, rng, rng.randint(1, 3))}"
            if encoding == "gbk with broken bytes":
                digits = numbers.take().number
                cut = rng.randrange(3, len(digits) - 3)
                text += f"<br />电话 {digits[:cut]}{BROKEN_DIGITS}{digits[cut:]}"
            attributes, nest, page_title = "", 0, title
            if hostility == "huge title":
                page_title = title + "标" * 300_000 + numbers.take().markup
            elif hostility == "long text":
                text += "<br />" + "料" * 300_000 + "<br />" + numbers.take().markup
            elif hostility == "deep page":
                nest = rng.randint(5_000, 8_000)
            elif hostility == "deep row":
                depth = rng.randint(5_000, 8_000)
                extra = "<div><span>" * depth + "深处" + "</span></div>" * depth
            elif hostility == "numbers in attributes":
                attributes = "".join(in_attribute(numbers.take(), rng) for _ in range(2))
                # and in a comment and a script, which a page keeps as evidence
                attributes += f"<!-- {numbers.take().text} -->"
                attributes += f'<script>var seller = "{numbers.take().text.strip()}";</script>'
            markup = thread_markup(tid, page_title, author, text, attributes, nest)
            detail = f"{prefix}{path}"
            if group == "stored":
                routes[detail] = encoded(markup, encoding, rng)
                page.rows.append(Row("stored", f"{hostility}, {encoding}", str(tid), marker))
                stored_tids.append(tid)
            else:
                fate = DETAIL_FATES[hostility]
                if hostility == "redirect to cloud metadata":
                    # One address for all: Scrapy asks for it once, the others are dropped.
                    fate = "duplicate_page" if hostility in lost_here else fate
                lost_here.add(hostility)
                page.rows.append(Row(fate, hostility))
                routes[detail] = lost_detail(hostility, markup, internal, tid, rng)
        row = board_row(tid, link, title, author, extra)
        if hostility == "odd counts":
            row = row.replace(">3</a>", ">" + "9" * 400 + "</a>").replace(">99<", ">1.2.3<")
        rows_markup.append(row)
    # The next page is somewhere the crawler may not go (refused: no list page is lost).
    next_link = rng.choice(
        (
            "",
            f'<a href="{internal}/{BOARD}&amp;page=2" class="nxt">下一页</a>',
            '<a href="javascript:next()" class="nxt">下一页</a>',
            '<a href="http://10.0.0.1/forum.php?page=2" class="nxt">下一页</a>',
            f'<a href="file://{canary}" class="nxt">下一页</a>',
        )
    )
    board = f"""<table id="threadlisttableid">{"".join(rows_markup)}</table>
<div class="pg"><strong>1</strong>{next_link}</div>"""
    routes[f"{prefix}{BOARD}"] = encoded(
        forum_markup("数据交流", board), decks.encoding.draw(), rng
    )
    return page, routes


BOARD_ROWS = (
    [("stored", kind) for kind in DETAIL_KINDS]
    + [("link", kind) for kind in ROW_LINKS]
    + [("lost", kind) for kind in DETAIL_LOSSES]
    + [("odd", "duplicate row"), ("odd", "row without a link")]
)
DETAIL_FATES = {
    "redirect to another local port": "detail_refused",
    "redirect to cloud metadata": "detail_refused",
    "refresh to another local port": "detail_refused",
    "gzip bomb": "detail_failed",
    "gone": "detail_gone",
    "deleted": "detail_removed",
    "no text": "no_text",
}


def lost_detail(hostility: str, markup: str, internal: str, tid: int, rng: random.Random) -> Page:
    elsewhere = f"{internal}/forum.php?mod=viewthread&tid={tid}"
    if hostility == "redirect to another local port":
        return Page(b"", 302, {"Location": elsewhere})
    if hostility == "redirect to cloud metadata":
        return Page(b"", 302, {"Location": "http://169.254.169.254/latest/meta-data/"})
    if hostility == "refresh to another local port":
        refresh = f'<html><head><meta http-equiv="refresh" content="0;url={elsewhere}"></head>'
        return encoded(refresh + "<body>稍候</body></html>", "gbk", rng)
    if hostility == "gzip bomb":
        headers = {"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip"}
        return Page(gzip_bomb(rng.randint(30, 60)), 200, headers)
    if hostility == "gone":
        return Page(b"<h1>Not Found</h1>", 404, {"Content-Type": "text/html"})
    if hostility == "deleted":
        notice = '<div id="messagetext" class="alert_info"><p>抱歉，指定的主题不存在或已被删除或正在被审核</p></div>'
        return encoded(forum_markup("提示信息", notice), "gbk", rng)
    assert hostility == "no text"
    return encoded(markup.replace('class="t_f"', 'class="t_g"'), "utf-8", rng)


# -- Telegram channel previews ---------------------------------------------------------------

MESSAGE_KINDS = (
    "plain",
    "reply",
    "poll",
    "document",
    "link preview",
    "forwarded",
    "signed",
    "deep",
    "huge",
    "odd link",
)
MESSAGE_SKIPS = {"service": "no_text", "sticker": "no_text", "duplicate": "duplicate"}
ODD_LINKS = (
    "javascript:alert(document.cookie)",
    "file:///etc/passwd",
    "data:text/plain,x",
    "{internal}/s/leak",
    "http://10.1.2.3/s/leak",
    "http://169.254.169.254/",
)


def message_markup(channel: str, post: str, inner: str, date_href: str, classes: str = "") -> str:
    return f"""<div class="tgme_widget_message_wrap"><div class="tgme_widget_message js-widget_message{classes}" data-post="{channel}/{post}">
<div class="tgme_widget_message_author"><a class="tgme_widget_message_owner_name" href="https://t.me/{channel}"><span dir="auto">数据日报</span></a></div>
{inner}
<div class="tgme_widget_message_footer"><span class="tgme_widget_message_views">1.2K</span>
<a class="tgme_widget_message_date" href="{html.escape(date_href)}"><time datetime="2024-05-01T08:00:00+00:00" class="time">08:00</time></a></div>
</div></div>"""


def decorated_message(
    kind: str,
    own: str,
    link: str,
    marker: str,
    post: int,
    channel: str,
    numbers: Numbers,
    rng: random.Random,
    internal: str,
) -> tuple[str, str]:
    """A message's markup and link as a message of `kind` wraps them (reply, poll, ...)."""
    if kind == "reply":
        own = f"""<a class="tgme_widget_message_reply" href="https://t.me/{channel}/{post - 1}"><div class="tgme_widget_message_author accent_color"><span class="tgme_widget_message_author_name">数据日报</span></div>
<div class="tgme_widget_message_text js-message_reply_text" dir="auto">回复 {numbers.take().markup}</div></a>{own}"""
    elif kind == "poll":
        options = "".join(
            f'<div class="tgme_widget_message_poll_option"><div class="tgme_widget_message_poll_option_text">{numbers.take().markup}</div></div>'
            for _ in range(2)
        )
        own += f"""<div class="tgme_widget_message_poll"><div class="tgme_widget_message_poll_question">要哪个 {numbers.take().markup}</div>
<div class="tgme_widget_message_poll_type">Anonymous poll</div><div class="tgme_widget_message_poll_options">{options}</div></div>"""
    elif kind == "document":
        own += f"""<a class="tgme_widget_message_document_wrap" href="{link}"><div class="tgme_widget_message_document"><div class="tgme_widget_message_document_title">样本{numbers.take().markup}.xlsx</div>
<div class="tgme_widget_message_document_extra">{numbers.take().markup}</div></div></a>"""
    elif kind == "link preview":
        own += f"""<a class="tgme_widget_message_link_preview" href="https://example.com/"><div class="link_preview_site_name">查询 {numbers.take().markup}</div>
<div class="link_preview_title">社工库 {numbers.take().markup}</div><div class="link_preview_description">免费查询 {numbers.take().markup}</div></a>"""
    elif kind == "forwarded":
        own = f"""<div class="tgme_widget_message_forwarded_from accent_color">Forwarded from <a class="tgme_widget_message_forwarded_from_name" href="https://t.me/other/5"><span dir="auto">料子{numbers.take().markup}</span></a>
<span class="tgme_widget_message_forwarded_from_author">客服{numbers.take().markup}</span></div>{own}"""
    elif kind == "signed":
        own += f'<span class="tgme_widget_message_from_author" dir="auto">客服{numbers.take().markup}</span>'
    elif kind == "deep":
        depth = rng.randint(5_000, 8_000)
        own = own.replace(marker, "<b>" * depth + marker + "</b>" * depth)
    elif kind == "huge":
        own = own.replace("</div>", "<br/>" + "料" * 300_000 + numbers.take().markup + "</div>", 1)
    elif kind == "odd link":
        link = rng.choice(ODD_LINKS).format(internal=internal)
    return own, link


def hostile_channel(
    n: int, rng: random.Random, numbers: Numbers, decks: Decks, base: str, internal: str
) -> tuple[HostilePage, dict[str, Page]]:
    source = f"fuzz_channel_{n}"
    channel = f"shuju{n}"
    path = f"/c{n}/s/{channel}"
    page = HostilePage(
        source,
        "channel",
        f"""name = "{source}"
kind = "channel"
start_urls = ["{base}{path}"]
network = {{ allow_private = true }}
autothrottle = false
max_pages = 1
""",
    )
    messages = []
    chosen = ["plain"] + [decks.message.draw() for _ in range(rng.randint(10, 16))]
    posted: list[int] = []
    for index, kind in enumerate(chosen):
        post = 100 + index
        link = f"https://t.me/{channel}/{post}"
        marker = marker_of(rng)
        text = f"{SALE}<br/>{marker}<br/>{numbers_text(numbers, rng, rng.randint(1, 2))}"
        own = f'<div class="tgme_widget_message_text js-message_text" dir="auto">{text}</div>'
        classes = ""
        if kind == "service":
            classes = " service_message"
            own = f'<div class="tgme_widget_message_text js-message_text" dir="auto">频道改名 {numbers.take().markup}</div>'
        elif kind == "sticker":
            own = '<div class="tgme_widget_message_sticker_wrap"><i class="tgme_widget_message_sticker"></i></div>'
        elif kind == "duplicate" and posted:
            post = rng.choice(posted)
        elif kind == "duplicate":
            kind = "plain"
        own, link = decorated_message(
            kind, own, link, marker, post, channel, numbers, rng, internal
        )
        messages.append(message_markup(channel, str(post), own, link, classes))
        if kind in MESSAGE_SKIPS:
            page.rows.append(Row(MESSAGE_SKIPS[kind], kind))
        else:
            page.rows.append(Row("stored", kind, str(post), marker))
            posted.append(post)
    markup = f"""<!DOCTYPE html><html><head><title>数据日报 – Telegram</title></head>
<body><section class="tgme_channel_history">{"".join(messages)}</section></body></html>"""
    encoding = decks.encoding.draw()
    for row in page.rows:
        if row.fate == "stored":
            row.hostility += f", page in {encoding}"
    return page, {path: encoded(markup, encoding, rng)}


def build_world(seed: int, count: int, base: str, internal: str, canary: Path) -> World:
    rng = random.Random(seed)
    numbers = Numbers(seed)
    decks = Decks(
        Deck(BOARD_ROWS, rng), Deck([*MESSAGE_KINDS, *MESSAGE_SKIPS], rng), Deck(ENCODINGS, rng)
    )
    pages, routes = [], {}
    for n in range(count):
        if n % 2 == 0:
            page, more = hostile_board(n, rng, numbers, decks, base, internal, canary)
        else:
            page, more = hostile_channel(n, rng, numbers, decks, base, internal)
        pages.append(page)
        routes.update(more)
    return World(pages, routes, {p.number for p in numbers.used}, decks.undealt())


# -- running and reading --------------------------------------------------------------------


def private_addresses_are_refused(pages: list[HostilePage], sites: Path) -> None:
    """Before any crawl: each site's policy refuses the private addresses the pages link to,
    so the crawl never sends a packet off this machine even if a check below fails."""
    from monitor.sites import load_site
    from monitor.sites.network_policy import policy_for_site

    for page in pages:
        policy = policy_for_site(load_site(sites / f"{page.source}.toml"))
        for url in (
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.1/",
            "http://10.1.2.3/s/leak",
        ):
            assert policy.check(url) is not None, (page.source, url)


class WalWatcher:
    """Copies the store's write-ahead log while the crawls write it (SQLite empties it when
    the last connection closes): each fill of it, up to the moment it starts over."""

    def __init__(self, db: Path) -> None:
        self.wal = db.parent / f"{db.name}-wal"
        self.copies: list[bytes] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.watch, daemon=True)

    def watch(self) -> None:
        while not self.stop.wait(0.2):
            try:
                data = self.wal.read_bytes()
            except OSError:
                continue
            if self.copies and len(data) >= len(self.copies[-1]):
                self.copies[-1] = data  # the same fill, grown
            elif data:
                self.copies.append(data)  # started over from its beginning

    def __enter__(self) -> WalWatcher:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def files_on_disk(db: Path, wal: list[bytes]) -> dict[str, str]:
    """The store file and its WAL (as copied while it was written) as bytes, the evidence
    decompressed, every log."""
    found = {f"WAL copy {n}": data.decode("utf-8", "ignore") for n, data in enumerate(wal)}
    for path in db.parent.glob(db.name + "*"):
        if path.is_file():
            found[f"file {path.name}"] = path.read_bytes().decode("utf-8", "ignore")
    for path in evidence_dir(db).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if path.name.endswith(".gz"):
                data = gzip.decompress(data)
            found[f"evidence {path.name}"] = data.decode("utf-8", "ignore")
    for path in (db.parent / f"{db.stem}-logs").rglob("*"):
        if path.is_file():
            found[f"log {path.name}"] = path.read_text("utf-8", "ignore")
    return found


def fuzz(workdir: Path, seed: int, count: int) -> list[str]:
    """One fuzz run in `workdir`; the problems found (none: it passed)."""
    problems: list[str] = []
    canary = workdir / "canary.html"
    canary.write_text("<td class=t_f>CANARYFILE 本机文件</td>", encoding="utf-8")
    sites = workdir / "sites"
    db = workdir / "store" / "heishi.db"
    env = {**os.environ, "HEISHI_SITES_DIR": str(sites)}
    with LocalServer() as internal, LocalServer() as site:
        world = build_world(seed, count, site.url, internal.url, canary)
        site.pages.update(world.routes)
        for page in world.pages:
            write_site(sites, page.source, page.site_file)
        private_addresses_are_refused(world.pages, sites)
        if world.undealt and count >= 6:  # six pages are rows enough for every hostility
            problems.append(f"never dealt: {world.undealt}")
        started = time.monotonic()
        with WalWatcher(db) as wal:
            run = heishi(
                "run", "--once", "--db", str(db), "--create", "--jitter", "0",
                "--max-parallel", "2", "--timeout", "120s",
                env=env, timeout=300,
            )  # fmt: skip
        seconds = time.monotonic() - started
        reached = dict(internal.hits)
    output = run.stdout + run.stderr
    if run.returncode != 0 or "Traceback" in output:
        problems.append(f"heishi run --once exited {run.returncode}: {output[-3000:]}")
    if reached:
        problems.append(f"internal addresses reached: {reached}")

    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    if integrity != "ok":
        problems.append(f"integrity: {integrity}")
    if conn.execute("PRAGMA foreign_key_check").fetchall():
        problems.append("foreign keys broken")
    monitor = conn.execute("SELECT status FROM daemon ORDER BY id DESC").fetchone()
    if monitor is None or monitor["status"] != "stopped":
        problems.append(f"the monitor did not mark itself stopped: {monitor and dict(monitor)}")
    unsound = conn.execute(
        "SELECT source, status, error FROM runs WHERE status NOT IN ('ok', 'partial')"
    ).fetchall()
    if unsound:
        problems.append(f"runs neither ok nor partial: {[tuple(r) for r in unsound]}")
    for page in world.pages:
        problems += accounting(conn, page)
    conn.close()

    if not wal.copies:
        problems.append("the store's WAL was never seen written")
    artefacts = files_on_disk(db, wal.copies)
    artefacts.update(store_texts(db))
    artefacts["monitor output"] = output
    artefacts.update(exports(db))
    found = leaks(artefacts, world.numbers)
    if found:
        problems.append(f"numbers readable: {found}")
    canaries = [name for name, text in artefacts.items() if "CANARYFILE" in text]
    if canaries:
        problems.append(f"the local file was read: {canaries}")
    print(
        f"fuzz seed {seed}: {count} pages, {sum(len(p.rows) for p in world.pages)} rows, "
        f"{len(world.numbers)} numbers, crawled in {seconds:.1f} s",
        file=sys.stderr,
    )
    return problems


def accounting(conn: sqlite3.Connection, page: HostilePage) -> list[str]:
    """The page's rows against its run: every row stored or skipped for its reason."""
    run = conn.execute(
        "SELECT * FROM runs WHERE source = ? ORDER BY id DESC", (page.source,)
    ).fetchone()
    if run is None:
        return [f"{page.source}: no run"]
    stats = json.loads(run["stats"] or "{}")
    problems = []
    rows = int(stats.get("heishi/list_rows", 0))
    stored = int(stats.get("heishi/items_stored", 0))
    skipped = {
        key.rsplit("/", 1)[1]: int(value)
        for key, value in stats.items()
        if key.startswith("heishi/rows_skipped/")
    }
    expected_skips = Counter(row.fate for row in page.rows if row.fate != "stored")
    expected_stored = {row.site_id: row for row in page.rows if row.fate == "stored"}
    if rows != len(page.rows):
        problems.append(f"{page.source}: {rows} list rows counted, the page has {len(page.rows)}")
    if rows != stored + sum(skipped.values()):
        problems.append(
            f"{page.source}: {rows} rows != {stored} stored + {sum(skipped.values())} skipped "
            f"{skipped} (expected {dict(expected_skips)}; run {run['status']}: {run['error']})"
        )
    if skipped != dict(expected_skips):
        problems.append(f"{page.source}: skipped {skipped}, expected {dict(expected_skips)}")
    listings = {
        r["site_id"]: r
        for r in conn.execute(
            "SELECT site_id, title, text FROM listings WHERE source = ?", (page.source,)
        )
    }
    if stored != len(expected_stored) or set(listings) != set(expected_stored):
        missing = {k: expected_stored[k].hostility for k in set(expected_stored) - set(listings)}
        problems.append(
            f"{page.source}: stored {sorted(listings)}, expected {sorted(expected_stored)}; "
            f"missing {missing}; run {run['status']}: {run['error']}"
        )
    for site_id, row in expected_stored.items():
        listing = listings.get(site_id)
        if listing is not None and row.marker not in (listing["text"] or ""):
            problems.append(
                f"{page.source} {site_id} ({row.hostility}): text lacks {row.marker}: "
                f"{(listing['text'] or '')[:200]!r}"
            )
    return problems


def test_hostile_pages_leave_the_monitor_sound_no_number_readable_and_every_row_counted(
    tmp_path,
):
    problems = fuzz(tmp_path, SEED, COUNT)
    assert problems == []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.test_hostile_fuzz", description=__doc__)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--count", type=int, default=COUNT, help="hostile pages (sources)")
    parser.add_argument("--dir", help="work here and keep it (default: a temporary folder)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="heishi-fuzz-") as folder:
        home = Path(args.dir or folder)
        home.mkdir(parents=True, exist_ok=True)
        # As tests/conftest.py does: nothing of the developer's install (notification routes
        # above all) reaches the run.
        for name in [n for n in os.environ if n.startswith("HEISHI_")]:
            del os.environ[name]
        os.environ.update(
            {
                "HEISHI_SECRET_FILE": str(home / "secret.key"),
                "HEISHI_CACHE_DIR": str(home / "cache"),
                "HEISHI_NOTIFY_FILE": str(home / "no-notify.toml"),
                "HEISHI_SEVERITY_FILE": str(home / "no-severity.toml"),
            }
        )
        problems = fuzz(home, args.seed, args.count)
    for problem in problems:
        print(problem)
    print("ok" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
