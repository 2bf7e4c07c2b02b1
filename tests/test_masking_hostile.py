"""Hostile sellers disguise personal numbers; none may stay readable anywhere heishi writes.

A generator writes more than a thousand valid ID, mobile and card numbers the ways sellers do
(full-width and other digit scripts, Chinese numerals, dots, dashes, spaces of every kind,
zero-width characters, labels glued on, tags and character references between digits in the
markup, numbers in attributes), a local forum serves them, a real crawl stores them, and
every table, search row and term, evidence file, the crawl log and every export is read the
way a person would read it (tags dropped, references decoded, digits of every script folded,
separators removed) and searched for each number. A fast variant masks the same disguises
without a crawl. Screenshots are checked against a rendering of the page as it must look
once masked, in the same Chromium.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import random
import sqlite3
import tempfile
from pathlib import Path

from monitor.analysis.lookup import lookup
from monitor.config import install_secret
from monitor.demo.local_server import LocalServer, html_page
from monitor.privacy.pii import digest_of, mask_pii
from monitor.running.evidence import evidence_dir, read_blob, write_page
from monitor.store import open_store
from tests.disguises import (
    NAMES,
    Planted,
    clear_numbers,
    exports,
    in_attribute,
    leaks,
    planted_numbers,
    store_texts,
)
from tests.servers import run_crawl, write_site

# -- the fast variant ------------------------------------------------------------------------


def test_a_thousand_disguised_numbers_are_masked_in_text_and_in_pages(tmp_path):
    plants = planted_numbers(1200, seed=15)
    numbers = {p.number for p in plants}
    rng = random.Random(16)
    secret = install_secret()
    texts = [f"{rng.choice(NAMES)} {p.text}" for p in plants]
    masked = [mask_pii(text, secret) for text in texts]
    digests = {hit.digest for _, hits in masked for hit in hits}
    missing = [p.number for p in plants if digest_of(p.kind, p.number, secret) not in digests]
    assert missing[:5] == [] and len(missing) == 0
    page = "<!DOCTYPE html><html><body>" + "".join(
        f"<p>{rng.choice(NAMES)} {p.markup}</p>{in_attribute(p, rng)}" for p in plants
    )
    relative, _ = write_page(tmp_path, page + "</body></html>", "utf-8", secret)
    stored = read_blob(tmp_path, relative).decode("utf-8")
    artefacts = {"masked texts": "\n".join(m for m, _ in masked), "evidence page": stored}
    assert leaks(artefacts, numbers) == {}
    # The generator does write clear numbers (the check above could fail).
    assert clear_numbers("\n".join(texts), numbers) == numbers
    assert clear_numbers(page, numbers) == numbers


# -- the crawl -------------------------------------------------------------------------------

THREADS = 40
PER_THREAD = 26
SALE = "出售全国身份证四件套，一手货源，可验，量大优惠"

HOSTILE_FORUM = """
name = "hostile_forum"
kind = "forum"
preset = "discuz"
start_urls = ["${FIXTURE_URL}/forum.php?mod=forumdisplay&fid=2"]
network = { allow_private = true }

[selectors]
price = "span.price"
"""


def thread_path(tid: int) -> str:
    return f"/forum.php?mod=viewthread&tid={tid}&extra=page%3D1"


def forum_page(title_markup: str, content: str) -> str:
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<title>{title_markup} - Powered by Discuz!</title></head>
<body><div id="wp" class="wp">{content}</div></body></html>"""


def hostile_forum(plants: list[Planted], rng: random.Random) -> tuple[dict, dict[str, str]]:
    """The pages, and each number a listing's text, title, author or price quotes (its kind)."""
    pages: dict[str, object] = {}
    quoted: dict[str, str] = {}
    rows = []
    chunks = [plants[i * PER_THREAD : (i + 1) * PER_THREAD] for i in range(THREADS)]
    extra = plants[THREADS * PER_THREAD :]
    for n, chunk in enumerate(chunks):
        tid = 300 + n
        title_plant, author_plant, price_plant = extra[3 * n : 3 * n + 3]
        title = f"出售 全国 身份证 四件套 {title_plant.markup.strip()}"
        author = f"卖家{author_plant.markup.strip()}" if n % 2 else "老王"
        lines = "<br />".join(f"样本{rng.choice(NAMES)}：{p.markup}" for p in chunk[:-2])
        attributes = "".join(in_attribute(p, rng) for p in chunk[-2:])
        body = f"""<h1 class="ts"><span id="thread_subject">{title}</span></h1>
<div id="postlist"><div id="post_{tid}0"><table><tr>
<td class="pls"><div class="authi"><a href="home.php?mod=space&amp;uid=1" class="xw1">{author}</a></div></td>
<td class="plc"><div class="authi"><em id="authposton{tid}0">发表于 2024-5-1 12:30</em></div>
<span class="price">800元 {price_plant.markup}</span>
<table><tr><td class="t_f" id="postmessage_{tid}0">{SALE}<br />{lines}<br />{attributes}</td></tr></table>
</td></tr></table></div></div>"""
        pages[thread_path(tid)] = html_page(forum_page(title, body))
        rows.append(
            f"""<tbody id="normalthread_{tid}"><tr><th class="common">
<a href="forum.php?mod=viewthread&amp;tid={tid}&amp;extra=page%3D1" class="s xst">{title}</a></th>
<td class="by"><cite><a href="home.php?mod=space&amp;uid=1">{author}</a></cite><em><span>2024-5-1</span></em></td>
<td class="num"><a href="#" class="xi2">3</a><em>99</em></td></tr></tbody>"""
        )
        for p in [*chunk[:-2], title_plant, price_plant] + ([author_plant] if n % 2 else []):
            quoted[p.number] = p.kind
    board = f"""<table id="threadlisttableid">{"".join(rows)}</table>
<div class="pg"><strong>1</strong></div>"""
    pages["/forum.php?mod=forumdisplay&fid=2"] = html_page(forum_page("数据交流", board))
    return pages, quoted


def test_a_crawl_of_a_thousand_disguised_numbers_leaves_none_readable(tmp_path):
    plants = planted_numbers(THREADS * PER_THREAD + 3 * THREADS, seed=1015)
    numbers = {p.number for p in plants}
    pages, quoted = hostile_forum(plants, random.Random(1016))
    assert len(numbers) >= 1000
    sites = tmp_path / "sites"
    write_site(sites, "hostile_forum", HOSTILE_FORUM)
    db = tmp_path / "store" / "heishi.db"
    with LocalServer(pages) as server:
        run = run_crawl(
            "hostile_forum", tmp_path, sites_dir=sites, env={"FIXTURE_URL": server.url}, db=db
        )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stats["heishi/items_stored"] == THREADS
    assert run.stats["heishi/evidence_pages"] == THREADS  # every listing matched
    with sqlite3.connect(db) as conn:
        prices = [r[0] for r in conn.execute("SELECT price_text FROM listings")]
    assert len(prices) == THREADS and all(p.startswith("800元 ") for p in prices)
    artefacts = store_texts(db)
    for path in evidence_dir(db).rglob("*.gz"):
        artefacts[f"evidence {path.name}"] = gzip.decompress(path.read_bytes()).decode()
    artefacts["crawl log"] = run.stderr
    artefacts["items feed"] = json.dumps(run.items, ensure_ascii=False)
    artefacts.update(exports(db))
    assert leaks(artefacts, numbers) == {}
    # Every number a listing quoted is found by its keyed hash.
    with open_store(db, readonly=True) as store:
        missed = [
            n for n, kind in quoted.items() if not lookup(store, kind, n, install_secret()).found
        ]
    assert missed == []
    assert len(quoted) >= 1000


CHANNEL = """
name = "hostile_channel"
kind = "channel"
start_urls = ["${FIXTURE_URL}/s/shuju"]
network = { allow_private = true }
"""


def channel_message(post: int, parts: str) -> str:
    return f"""<div class="tgme_widget_message_wrap"><div class="tgme_widget_message js-widget_message" data-post="shuju/{post}">
{parts}<div class="tgme_widget_message_text js-message_text" dir="auto">{SALE}</div>
<a class="tgme_widget_message_date" href="https://t.me/shuju/{post}"><time datetime="2024-05-01T08:00:00+00:00">08:00</time></a>
</div></div>"""


def test_numbers_in_the_nested_parts_of_a_channel_message_are_masked(tmp_path):
    """Found by tests/test_hostile_fuzz.py: a quoted reply, a poll, documents, a link preview
    and a forwarder are kept in `extra` as nested values, which were stored in clear."""
    plants = planted_numbers(11, seed=2016)
    m = [p.markup for p in plants]
    parts = [
        f"""<a class="tgme_widget_message_reply" href="https://t.me/shuju/1">
<div class="tgme_widget_message_text js-message_reply_text" dir="auto">回复 {m[0]}</div></a>""",
        f"""<div class="tgme_widget_message_poll"><div class="tgme_widget_message_poll_question">要哪个 {m[1]}</div>
<div class="tgme_widget_message_poll_option_text">{m[2]}</div></div>""",
        f"""<div class="tgme_widget_message_document"><div class="tgme_widget_message_document_title">样本{m[3]}.xlsx</div>
<div class="tgme_widget_message_document_extra">{m[4]}</div></div>""",
        f"""<a class="tgme_widget_message_link_preview" href="https://example.com/"><div class="link_preview_site_name">查询 {m[5]}</div>
<div class="link_preview_title">社工库 {m[6]}</div><div class="link_preview_description">免费 {m[7]}</div></a>""",
        f"""<div class="tgme_widget_message_forwarded_from">Forwarded from <a class="tgme_widget_message_forwarded_from_name" href="https://t.me/other/5">料子{m[8]}</a>
<span class="tgme_widget_message_forwarded_from_author">客服{m[9]}</span></div>""",
        f'<span class="tgme_widget_message_from_author">客服{m[10]}</span>',
    ]
    messages = "".join(channel_message(10 + i, part) for i, part in enumerate(parts))
    page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>数据日报</title></head>
<body><section class="tgme_channel_history">{messages}</section></body></html>"""
    sites = tmp_path / "sites"
    write_site(sites, "hostile_channel", CHANNEL)
    db = tmp_path / "heishi.db"
    with LocalServer({"/s/shuju": html_page(page)}) as server:
        run = run_crawl(
            "hostile_channel", tmp_path, sites_dir=sites, env={"FIXTURE_URL": server.url}, db=db
        )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stats["heishi/items_stored"] == len(parts)
    with sqlite3.connect(db) as conn:
        extras = [json.loads(r[0]) for r in conn.execute("SELECT extra FROM listings")]
    assert {key for extra in extras for key in extra} >= {
        "reply_to", "poll", "documents", "link_preview", "forwarded_from", "author_signature"
    }  # fmt: skip
    numbers = {p.number for p in plants}
    artefacts = store_texts(db)
    artefacts["items feed"] = json.dumps(run.items, ensure_ascii=False)
    assert leaks(artefacts, numbers) == {}
    with open_store(db, readonly=True) as store:
        missed = [
            p.number for p in plants if not lookup(store, p.kind, p.number, install_secret()).found
        ]
    assert missed == []


def test_the_scanner_finds_a_number_left_in_clear(tmp_path):
    """The reading above is not blind: numbers in clear, in the forms it must undo, are
    found in a store, a page and a JSON export."""
    numbers = {"13800138000", "11010519491231002X", "6222021234567890128"}
    page = "<p>1<b></b>38&#48;0138000</p> 身份证１１０１０５１９４９１２３１００２ｘ"
    exported = json.dumps({"text": "卡 6222\u00a00212\u200b3456 7890 128"})
    assert clear_numbers(page + exported, numbers) == numbers
    assert clear_numbers("13*******00 11**************2X 62***************28", numbers) == set()


# -- screenshots -----------------------------------------------------------------------------

SHOT_SITE = """
name = "hostile_channel"
kind = "channel"
start_urls = ["${FIXTURE_URL}/s/shuju"]
render = true
wait_selector = "#ready"
max_pages = 1
network = { allow_private = true }
"""

# Monospace: a masked digit takes the place of a digit, so the masked page lays out exactly as
# the reference does.
_SHOT_STYLE = """body { font: 20px/1.6 monospace; margin: 8px; width: 900px; }
input { font: 20px monospace; width: 320px; } canvas { display: block; }"""


def shot_page(masked: bool) -> str:
    """A channel page that hides numbers from a screenshot: split across elements, in
    ::after content, in input values (attribute and property), in open and closed shadow
    roots, in a canvas, written by CSS counters, typed into a textarea, and a
    MutationObserver and a timer that put them back. With
    `masked`, the same page as it must look once masked, without any script."""

    def m(number: str) -> str:
        return mask_pii(number, b"k")[0] if masked else number

    split = m("13812345678")
    after = m("13912345678")
    shadow_open, shadow_closed = m("18612345678"), m("17712345678")
    watched = m("15012345678")
    counted, typed = m("13312345678"), m("13212345678")
    canvas = '<canvas width="300" height="30" style="visibility: hidden"></canvas>'
    # CSS counters write digits no text node holds.
    counters = (
        f'#counted::after {{ content: " {counted}"; }}'
        if masked
        else "#counted { counter-reset: a 133 b 1234 c 5678; }"
        ' #counted::after { content: " " counter(a) counter(b) counter(c); }'
    )
    textarea = f'<textarea id="ta" rows="1" cols="20">{typed if masked else ""}</textarea>'
    if masked:
        shadows = f"""<div><template shadowrootmode="open"><b>{shadow_open}</b></template></div>
<div><template shadowrootmode="closed"><i>{shadow_closed}</i></template></div>"""
        inputs = f'<input value="{m("13700137000")}"> <input value="{m("13600136000")}">'
        script = ""
    else:
        shadows = '<div id="open"></div><div id="closed"></div>'
        inputs = '<input value="13700137000"> <input id="typed">'
        canvas = '<canvas id="cv" width="300" height="30"></canvas>'
        script = """<script>
document.getElementById("typed").value = "13600136000";
document.getElementById("ta").value = "13212345678";
document.getElementById("open").attachShadow({mode: "open"}).innerHTML = "<b>18612345678</b>";
document.getElementById("closed").attachShadow({mode: "closed"}).innerHTML = "<i>17712345678</i>";
const pen = document.getElementById("cv").getContext("2d");
pen.font = "20px monospace"; pen.fillText("13512345678", 0, 20);
const texts = new Map();
for (const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT); w.nextNode();)
  texts.set(w.currentNode, w.currentNode.nodeValue);
const restore = () => { for (const [node, text] of texts) if (node.nodeValue !== text) node.nodeValue = text; };
new MutationObserver(restore).observe(document.body, {subtree: true, characterData: true, childList: true});
setInterval(restore, 5);
const ready = document.createElement("span"); ready.id = "ready"; document.body.append(ready);
</script>"""
    split_markup = (
        f"<span>{split[:3]}</span><b>{split[3:7]}</b><i>{split[7:]}</i>"
        if masked
        else "<span>138</span><b>1234</b><i>5678</i>"
    )
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>数据日报</title>
<style>{_SHOT_STYLE} #after::after {{ content: "备用 {after}"; }} {counters}</style></head>
<body><section class="tgme_channel_history"><div class="tgme_widget_message_wrap">
<div class="tgme_widget_message js-widget_message" data-post="shuju/7">
<div class="tgme_widget_message_text js-message_text" dir="auto">{SALE}<br/>手机 {split_markup}</div>
<a class="tgme_widget_message_date" href="/shuju/7"><time datetime="2024-05-01T08:00:00+00:00">08:00</time></a>
</div></div></section>
<p id="after">联系</p><p>{inputs}</p>{shadows}<p id="watched">{watched}</p>{canvas}
<p id="counted">联络</p>{textarea}
{script}</body></html>"""


_COMPARE = """async ([a, b]) => {
  const load = (src) => new Promise((ok, fail) => {
    const img = new Image(); img.onload = () => ok(img); img.onerror = fail; img.src = src; });
  const [x, y] = await Promise.all([load(a), load(b)]);
  if (x.width !== y.width || x.height !== y.height) return {size: [x.width, x.height, y.width, y.height]};
  const pixels = (img) => { const c = document.createElement("canvas"); c.width = img.width;
    c.height = img.height; const g = c.getContext("2d"); g.drawImage(img, 0, 0);
    return g.getImageData(0, 0, img.width, img.height).data; };
  const p = pixels(x), q = pixels(y);
  let differ = 0;
  for (let i = 0; i < p.length; i += 4)
    if (Math.abs(p[i] - q[i]) + Math.abs(p[i + 1] - q[i + 1]) + Math.abs(p[i + 2] - q[i + 2]) > 48) differ++;
  return {differ, total: p.length / 4};
}"""


def compare_with_reference(png: bytes, reference_html: str) -> dict:
    """Render `reference_html` in Chromium at the screenshot's width and count the pixels
    that differ between the two pictures."""
    from playwright.sync_api import sync_playwright

    width = int.from_bytes(png[16:20], "big")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=os.environ.get("HEISHI_CHROMIUM") or "/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu"],
        )
        try:
            page = browser.new_page(viewport={"width": width, "height": 720})
            with tempfile.TemporaryDirectory() as folder:
                reference = Path(folder) / "reference.html"
                reference.write_text(reference_html, encoding="utf-8")
                page.goto(reference.as_uri())
                expected = page.screenshot(full_page=True, type="png")
            page.set_content("<body></body>")
            urls = [
                "data:image/png;base64," + base64.b64encode(shot).decode()
                for shot in (png, expected)
            ]
            return page.evaluate(_COMPARE, urls)
        finally:
            browser.close()


def test_a_screenshot_shows_every_hidden_number_masked(tmp_path):
    sites = tmp_path / "sites"
    write_site(sites, "hostile_channel", SHOT_SITE)
    db = tmp_path / "heishi.db"
    pages = {"/s/shuju": html_page(shot_page(masked=False))}
    with LocalServer(pages) as server:
        run = run_crawl(
            "hostile_channel", tmp_path, sites_dir=sites, env={"FIXTURE_URL": server.url}, db=db
        )
    assert run.returncode == 0, run.stderr[-3000:]
    with sqlite3.connect(db) as conn:
        (evidence,) = conn.execute("SELECT evidence FROM listing_versions").fetchone()
        kinds = [r[0] for r in conn.execute("SELECT kind FROM pii_hashes")]
    reference = json.loads(evidence)
    assert reference["screenshot"], run.stderr[-3000:]
    png = read_blob(evidence_dir(db), reference["screenshot"])
    result = compare_with_reference(png, shot_page(masked=True))
    assert result.get("differ") == 0, result
    # The page the spider read was the page as served: the split number was hashed.
    assert kinds == ["phone"]
    with open_store(db, readonly=True) as store:
        assert lookup(store, "phone", "13812345678", install_secret()).found
