"""A listing written to hurt whoever is notified: a real crawl of a real local channel whose
messages carry mentions, links, HTML and Markdown, then the outbox sent to real webhook
receivers (Apprise's json:// plain and as HTML, and Mattermost, which renders Markdown and
mentions). Nothing of it arrives live; Apprise is told the body is plain text."""

from __future__ import annotations

import re
import sqlite3
import unicodedata

import pytest

from monitor.alerting.notify import BODY_CHARS, DIGEST_CHARS, TITLE_CHARS, drain_outbox
from monitor.alerting.notify_text import neutralise
from monitor.demo.local_server import LocalServer, html_page
from tests.receivers import WebhookReceiver
from tests.servers import run_crawl, telegram_page, write_site

HOSTILE = [
    "<b>urgent</b> <a href='https://evil.example/x'>pay</a> <script>alert(1)</script>",
    "@everyone @here @all @channel <!channel> <!here> <!everyone> <@U0123ABC> <@&456> <#C99>",
    "通知 @13800138000 @所有人 mail me: seller@evil.example",
    "[click](https://evil.example/login) ![x](http://10.0.0.5/p.png) <https://evil.example>",
    "**bold** __under__ `code` ```block``` ~~gone~~ ||spoiler|| > quote\n# Heading\n## more",
    "www.evil.example t.me/evilchannel evil.example/path HTTPS://EVIL.EXAMPLE ftp://x.example",
    "tg://resolve?domain=evil javascript:alert(1) data:text/html;base64,PHNjcmlwdD4=",
    "bidi \u202egnp.exe\u202c zero\u200bwidth\u2060join \x00nul \x1b[31mansi\x07 \r\nline\u2028sep",
]
# What would be live somewhere: a mention, a tag, a link, markup, a hidden character.
LIVE = [
    re.compile(r"[@<>]"),  # mentions (@all, @13800138000), Slack <!channel>, HTML, autolinks
    re.compile(r"(?i)\b(?:https?|ftp|tg)://"),  # a link with a scheme
    re.compile(r"(?i)\bjavascript:|\bdata:text/"),
    re.compile(r"[0-9a-z-]\.[a-z]", re.IGNORECASE),  # a bare domain (auto-linked)
    re.compile(r"[*_`~|]"),  # Markdown emphasis, code, strike, spoiler
    re.compile(r"(?m)^\s{0,3}#"),  # Markdown heading
]


def live_parts(text: str) -> list[str]:
    found = [m.group(0) for pattern in LIVE for m in pattern.finditer(text)]
    found += [
        repr(c)
        for c in text
        if c not in "\r\n" and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")
    ]
    return found


@pytest.mark.parametrize("text", HOSTILE)
def test_neutralise_leaves_nothing_live_and_is_stable(text):
    once = neutralise(text)
    assert live_parts(once) == [], once
    assert neutralise(once) == once  # applied again (a digest of messages): no change
    # Still readable: the words are there.
    for word in re.findall(r"[A-Za-z]{4,}|[\u4e00-\u9fff]+", text):
        if word.lower() not in ("https", "http", "javascript"):
            assert word in once, (word, once)


def test_neutralise_keeps_ordinary_listing_text_as_it_is():
    text = "出售 身份证四件套 3.5万条 价格 800元/万 可测 [HIGH] 1.5k (实时)"
    assert neutralise(text) == text


def test_neutralise_caps_the_length():
    capped = neutralise("身份证" * 10_000 + "@everyone", 100)
    assert len(capped) == 100 and capped.endswith("…") and "@" not in capped


CHANNEL_SITE = """
name = "hostile_channel"
kind = "channel"
start_urls = ["${FIXTURE_URL}/s/leaks"]
max_pages = 1
network = { allow_private = true }
"""


def hostile_channel() -> dict[str, object]:
    message = (
        "出售 身份证 四件套 @everyone <b>urgent</b> <!channel> **今日特价**\n"
        "价格 30U 可测 实时 https://evil.example/pay?id=1 www.evil.example\n"
        "联系 @all @here @13800138000 <@U0123ABC> [验证](https://evil.example/v)\n"
        "# 置顶 ||隐藏|| `code` \u202eexe.txt"
    )
    messages = [{"id": 7, "text": message}]
    return {"/s/leaks": html_page(telegram_page("leaks", messages, before=None))}


@pytest.fixture
def receivers():
    started = [WebhookReceiver().start() for _ in range(3)]
    yield started
    for receiver in started:
        receiver.stop()


def test_a_crawled_hostile_listing_reaches_webhooks_with_nothing_live(
    tmp_path, receivers, monkeypatch
):
    plain, as_html, mattermost = receivers
    urls = [
        plain.url,
        f"json://127.0.0.1:{as_html.port}/hook?format=html",
        f"mmost://127.0.0.1:{mattermost.port}/token123",
    ]
    config = tmp_path / "notify.toml"
    config.write_text(
        "[[routes]]\nname = 'team'\nurls = [" + ", ".join(f"'{u}'" for u in urls) + "]\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("HEISHI_NOTIFY_FILE", str(config))
    sites = tmp_path / "sites"
    write_site(sites, "hostile_channel", CHANNEL_SITE)
    db = tmp_path / "heishi.db"
    with LocalServer(hostile_channel()) as server:
        run = run_crawl(
            "hostile_channel",
            tmp_path,
            sites_dir=sites,
            env={"FIXTURE_URL": server.url, "HEISHI_NOTIFY_FILE": str(config)},
            db=db,
        )
    assert run.returncode == 0, run.stderr[-3000:]
    with sqlite3.connect(db) as conn:
        (title,) = conn.execute("SELECT title FROM alerts WHERE kind = 'new'").fetchone()
    assert "@everyone" in title  # the store keeps what the site said, as evidence
    result = drain_outbox(db)
    assert result.sent == 3, result.errors
    (sent,) = plain.received
    message = sent["json"]["title"] + "\n" + sent["json"]["message"]
    assert "身份证" in message and "30U" in message
    assert "＠everyone" in message and "hxxps[://]t[.]me/leaks/7" in message  # defanged
    assert live_parts(message) == [], message
    # Told it is plain text, Apprise turned it into HTML for a receiver that wants HTML:
    # line breaks as <br/>, and none of the listing's own tags.
    (html_sent,) = as_html.received
    html_body = html_sent["json"]["message"]
    assert "<br/>" in html_body
    assert live_parts(re.sub(r"<br/>", "\n", html_body).replace("&amp;", "")) == [], html_body
    # Mattermost renders Markdown, @channel/@all/@here and links: none are left.
    (mm,) = mattermost.received
    assert mm["path"] == "/hooks/token123"
    assert live_parts(mm["json"]["text"]) == [], mm["json"]["text"]


def test_messages_and_digests_are_capped(db_path, tmp_path, receivers, monkeypatch):
    from tests.test_ingest import listing, sweep

    single, digest, _ = receivers
    config = tmp_path / "notify.toml"
    config.write_text(
        f"[[routes]]\nname = 'each'\nurls = ['{single.url}']\n\n"
        f"[[routes]]\nname = 'daily'\nurls = ['{digest.url}']\ndigest = '1h'\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("HEISHI_NOTIFY_FILE", str(config))
    huge = "身份证四件套 " + "@everyone https://evil.example/ " * 40
    sweep(db_path, [listing(str(i), huge) for i in range(40)])
    drain_outbox(db_path, now="2030-01-01T00:00:00Z")
    assert len(single.received) == 40
    for sent in single.received:
        assert len(sent["json"]["title"]) <= TITLE_CHARS
        assert len(sent["json"]["message"]) <= BODY_CHARS
        assert live_parts(sent["json"]["title"] + sent["json"]["message"]) == []
    drain_outbox(db_path, now="2030-01-02T00:00:00Z")
    (sent,) = digest.received
    body = sent["json"]["message"]
    assert len(body) <= DIGEST_CHARS and live_parts(body) == []
    assert "more alert(s)" in body and "40 alert(s)" in sent["json"]["title"]
