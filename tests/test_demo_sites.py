"""The demo sites as real servers on 127.0.0.1, read with urllib, against their ground truth."""

from __future__ import annotations

import html
import json
import re
import urllib.error
import urllib.request
from collections import Counter
from urllib.parse import quote

import pytest

from monitor.demo import content
from monitor.demo.channel import MESSAGES_PER_PAGE
from monitor.demo.forum import REMOVED_MESSAGE, THREADS_PER_PAGE, board_pages
from monitor.demo.market import SEARCH_TERMS, seller_id
from monitor.demo.sites import DemoSites
from monitor.vocabulary import CATEGORIES


@pytest.fixture(scope="module")
def sites(demo_sites):
    return demo_sites


@pytest.fixture
def day(demo_day):
    return demo_day


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def board(sites: DemoSites, page: int | None = None) -> str:
    query = "" if page is None else f"&page={page}"
    status, headers, body = get(f"{sites.urls['forum']}/forum.php?mod=forumdisplay&fid=2{query}")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=gbk"
    return body.decode("gbk")


def thread(sites: DemoSites, tid: str) -> str:
    status, headers, body = get(f"{sites.urls['forum']}/forum.php?mod=viewthread&tid={tid}")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=gbk"
    return body.decode("gb18030")


def first_post(page: str) -> tuple[str, str]:
    subject = re.search(r'<span id="thread_subject">(.*?)</span>', page)
    body = re.search(r'id="postmessage_\d+">\n(.*?)</td>', page, re.S)
    assert subject and body
    text = html.unescape(body.group(1).replace("<br />", "\n"))
    return html.unescape(subject.group(1)), text


def api(sites: DemoSites, term: str) -> list[dict]:
    status, headers, body = get(f"{sites.urls['market']}/api/search?q={quote(term)}")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    return json.loads(body)


def channel_page(sites: DemoSites, before: str | None = None) -> str:
    query = f"?before={before}" if before else ""
    status, headers, body = get(f"{sites.urls['channel']}/s/{content.CHANNEL}{query}")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    return body.decode("utf-8")


def message_ids(page: str) -> list[str]:
    return re.findall(rf'data-post="{content.CHANNEL}/(\d+)"', page)


def test_sites_listen_on_loopback_and_env_points_at_them(sites):
    assert set(sites.urls) == {"forum", "market", "channel"}
    assert all(url.startswith("http://127.0.0.1:") for url in sites.urls.values())
    assert sites.env() == {
        "HEISHI_DEMO_FORUM_URL": sites.urls["forum"],
        "HEISHI_DEMO_MARKET_URL": sites.urls["market"],
        "HEISHI_DEMO_CHANNEL_URL": sites.urls["channel"],
    }
    with pytest.raises(ValueError):
        sites.set_day(4)


def test_forum_board_pages_decode_as_gbk_and_list_each_pages_threads(day):
    sites = day(1)
    pages = board_pages(1)
    assert len(pages) >= 3
    assert board(sites) == board(sites, 1)
    listed = []
    for number, expected in enumerate(pages, start=1):
        page = board(sites, number)
        assert '<meta http-equiv="Content-Type" content="text/html; charset=gbk" />' in page
        tids = re.findall(r'<tbody id="normalthread_(\d+)">', page)
        assert tids == [e.site_id for e in expected]
        assert len(tids) <= THREADS_PER_PAGE
        assert f"<strong>{number}</strong>" in page
        next_link = f'page={number + 1}" class="nxt">下一页</a>'
        assert (next_link in page) == (number < len(pages))
        for item in expected:
            assert f'class="s xst">{html.escape(item.version(1).title)}</a>' in page
        listed += tids
    assert sorted(listed) == sorted(e.site_id for e in content.live_entries("forum", 1))


def test_forum_thread_pages_carry_subject_author_date_and_posts(day):
    sites = day(1)
    for item in content.live_entries("forum", 1):
        page = thread(sites, item.site_id)
        shown = item.version(1)
        assert first_post(page) == (shown.title, shown.text)
        pid = int(item.site_id) * 10
        assert f'<em id="authposton{pid}">发表于 {item.posted}</em>' in page
        assert f'class="xw1">{html.escape(item.author)}</a></div>' in page
        assert len(re.findall(r'<div id="post_\d+">', page)) == 1 + len(item.replies)


def test_forum_page_that_lies_about_its_encoding(day):
    sites = day(1)
    status, headers, body = get(f"{sites.urls['forum']}/forum.php?mod=viewthread&tid=3042&lie=1")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    honest = thread(sites, "3042")
    assert body.decode("gb18030") == honest.replace(
        '<meta http-equiv="Content-Type" content="text/html; charset=gbk" />', ""
    )
    assert "🔥" in honest  # emoji survive GB18030


def test_forum_removed_thread_shows_discuz_notice_and_leaves_the_board(day):
    sites = day(2)
    changes = content.expected_changes("forum", 1, 2)
    assert changes["removed"]
    every_listed = "".join(board(sites, n) for n in range(1, len(board_pages(2)) + 1))
    for tid in changes["removed"]:
        assert REMOVED_MESSAGE in thread(sites, tid)
        assert f"normalthread_{tid}" not in every_listed
    for tid in changes["new"]:
        assert f"normalthread_{tid}" in every_listed
    relisted = content.expected_changes("forum", 2, 3)["relisted"]
    day(3)
    assert relisted and all(REMOVED_MESSAGE not in thread(sites, tid) for tid in relisted)


def test_market_search_shell_has_no_results_until_javascript_renders_them(day):
    sites = day(1)
    status, headers, body = get(f"{sites.urls['market']}/search?q={quote('数据')}")
    page = body.decode("utf-8")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<div id="results" class="results"></div>' in page
    assert 'class="item"' not in page and "results-done" not in page
    assert '<script src="/static/app.js"></script>' in page
    for item in content.live_entries("market", 1):
        assert item.version(1).title not in page
    script = get(f"{sites.urls['market']}/static/app.js")[2].decode()
    assert "setTimeout" in script and "results-done" in script and "/api/search" in script


def test_market_api_matches_title_description_or_tags(day):
    sites = day(1)
    live = {e.site_id: e for e in content.live_entries("market", 1)}
    everything = api(sites, "")
    assert sorted(r["id"] for r in everything) == sorted(live)
    for term in ("数据", "裤子", "四件套", "资料"):
        found = {r["id"] for r in api(sites, term)}
        expected = {
            i
            for i, e in live.items()
            if term in e.version(1).title or term in e.version(1).text or term in e.tags
        }
        assert found == expected, term


@pytest.mark.parametrize("number", content.DAYS)
def test_every_market_item_is_found_by_a_generic_search_term(day, number):
    sites = day(number)
    found = {r["id"] for term in SEARCH_TERMS for r in api(sites, term)}
    assert found == {e.site_id for e in content.live_entries("market", number)}


def test_market_item_pages_are_server_rendered(day):
    sites = day(1)
    for item in content.live_entries("market", 1):
        status, _, body = get(sites.urls["market"] + item.url)
        page = body.decode("utf-8")
        shown = item.version(1)
        assert status == 200
        assert f'<h1 class="item-title">{html.escape(shown.title)}</h1>' in page
        assert f'<span class="item-price">{html.escape(shown.price)}</span>' in page
        assert f'<span class="item-posted">{item.posted[:10]}</span>' in page
        assert f'class="seller-name" href="/shop/{seller_id(item.author)}">' in page
        assert html.escape(shown.text.split("\n")[0]) in page


def test_removed_market_item_answers_404_and_leaves_search(day):
    sites = day(2)
    removed = content.expected_changes("market", 1, 2)["removed"]
    assert removed
    ids = {r["id"] for r in api(sites, "")}
    for item_id in removed:
        assert get(f"{sites.urls['market']}/item/{item_id}")[0] == 404
        assert item_id not in ids


def test_channel_pages_newest_first_and_older_ones_by_before(day):
    sites = day(1)
    live = sorted((e.site_id for e in content.live_entries("channel", 1)), key=int)
    assert len(live) > MESSAGES_PER_PAGE
    page = channel_page(sites)
    newest = message_ids(page)
    assert newest == live[-MESSAGES_PER_PAGE:]
    oldest_shown = newest[0]
    assert f'data-before="{oldest_shown}"' in page
    assert f'<link rel="prev" href="/s/{content.CHANNEL}?before={oldest_shown}">' in page
    older_page = channel_page(sites, oldest_shown)
    older = message_ids(older_page)
    assert older + newest == live
    assert "js-messages_more" not in older_page and 'rel="prev"' not in older_page


def test_channel_messages_use_telegram_markup(day):
    sites = day(1)
    page = channel_page(sites)
    item = content.live_entries("channel", 1)[-1]
    assert f'data-post="{content.CHANNEL}/{item.site_id}"' in page
    assert f'<span dir="auto">{html.escape(content.CHANNEL_TITLE)}</span>' in page
    assert 'class="tgme_widget_message_text js-message_text" dir="auto">' in page
    stamp = item.posted.replace(" ", "T") + ":00+00:00"
    assert f'<time datetime="{stamp}" class="time">' in page
    assert f'href="https://t.me/{content.CHANNEL}/{item.site_id}"' in page
    assert '<a href="https://t.me/sgk_free_bot"' in channel_page(sites, "110")


def test_channel_is_down_on_day_two_and_back_on_day_three(day):
    sites = day(2)
    assert content.site_down("channel", 2)
    for path in (f"/s/{content.CHANNEL}", f"/s/{content.CHANNEL}?before=120", "/"):
        assert get(sites.urls["channel"] + path)[0] == 503
    assert get(sites.urls["forum"] + "/forum.php?mod=forumdisplay&fid=2")[0] == 200
    sites = day(3)
    new = content.expected_changes("channel", 2, 3)["new"]
    assert 1 <= len(new) <= 2
    assert set(new) <= set(message_ids(channel_page(sites)))


def test_content_counts_cover_every_category():
    listings, negatives = [], []
    for site in content.SITES:
        for item in content.all_entries(site):
            (listings if item.label == 1 else negatives).append(item)
    assert len(listings) >= 65 and len(negatives) >= 35
    per_category = Counter(c for item in listings for c in item.categories)
    assert set(per_category) == set(CATEGORIES)
    assert len(content.all_entries("forum")) >= 40
    assert len(content.all_entries("market")) >= 30
    assert len(content.live_entries("channel", 1)) >= 30
    numbers = {
        n for s in content.SITES for e in content.entries(s) for n in content.personal_numbers(e)
    }
    assert sum(len(n) == 18 and content.id_checksum_ok(n) for n in numbers) >= 3
    assert sum(len(n) == 11 for n in numbers) >= 3
    assert sum(len(n) in (16, 19) and content.luhn_ok(n) for n in numbers) >= 1


@pytest.mark.parametrize("site", ["forum", "market"])
def test_day_two_changes_prices_adds_and_removes(site):
    changes = content.expected_changes(site, 1, 2)
    priced = [i for i, fields in changes["changed"].items() if {"price", "volume"} & set(fields)]
    assert len(priced) >= 3
    assert len(changes["new"]) >= 3 and len(changes["removed"]) >= 2
    assert any(content.entry(site, i)["label"] == 1 for i in changes["removed"])
    later = content.expected_changes(site, 2, 3)
    assert not later["new"] and not later["changed"] and not later["removed"]


def test_one_removed_listing_is_relisted_on_day_three():
    relisted = [i for s in content.SITES for i in content.expected_changes(s, 2, 3)["relisted"]]
    assert relisted == ["3005"]
    assert "3005" in content.expected_changes("forum", 1, 2)["removed"]


# What each site serves, read over HTTP: id -> fields a crawler can see.
SERVED_FIELDS = {
    "forum": ("title", "text"),
    "market": ("title", "text", "price"),
    "channel": ("text",),
}


def served(sites: DemoSites, site: str) -> dict[str, dict[str, str]] | None:
    if site == "forum":
        ids = [
            tid for n in range(1, 10) for tid in re.findall(r'normalthread_(\d+)"', board(sites, n))
        ]
        out = {}
        for tid in dict.fromkeys(ids):
            title, text = first_post(thread(sites, tid))
            out[tid] = {"title": title, "text": text}
        return out
    if site == "market":
        out = {}
        for row in api(sites, ""):
            page = get(sites.urls["market"] + row["url"])[2].decode()
            desc = re.search(r'<div class="item-desc">(.*?)</div>', page, re.S).group(1)
            text = html.unescape(desc.replace("<br>", "\n"))
            out[row["id"]] = {"title": row["title"], "text": text, "price": row["price"]}
        return out
    status, _, _ = get(f"{sites.urls['channel']}/s/{content.CHANNEL}")
    if status == 503:
        return None
    out, before = {}, None
    while True:
        page = channel_page(sites, before)
        for match in re.finditer(
            r'data-post="[^/]+/(\d+)".*?js-message_text" dir="auto">(.*?)</div>', page, re.S
        ):
            text = re.sub(r"<[^>]+>", "", match.group(2).replace("<br/>", "\n"))
            out[match.group(1)] = {"text": html.unescape(text)}
        more = re.search(r'data-before="(\d+)"', page)
        if not more:
            return out
        before = more.group(1)


@pytest.mark.parametrize("site", content.SITES)
def test_expected_changes_agree_with_what_the_servers_serve(day, site):
    snapshots = {}
    for number in content.DAYS:
        snapshots[number] = served(day(number), site)
        assert (snapshots[number] is None) == content.site_down(site, number)
        if snapshots[number] is not None:
            assert set(snapshots[number]) == {e.site_id for e in content.live_entries(site, number)}
    for start, end in ((1, 2), (2, 3), (1, 3)):
        expected = content.expected_changes(site, start, end)
        seen = [snapshots[d] for d in content.DAYS if d <= start and snapshots[d] is not None]
        after = snapshots[end]
        if after is None or not seen:
            assert not expected["removed"] and not expected["changed"]
            continue
        before, ever = seen[-1], set().union(*seen)
        assert sorted(set(after) - set(before) - ever) == sorted(expected["new"])
        assert sorted(set(after) & (ever - set(before))) == sorted(expected["relisted"])
        assert sorted(set(before) - set(after)) == sorted(expected["removed"])
        diffs = {}
        for item_id in set(before) & set(after):
            fields = {f for f in SERVED_FIELDS[site] if before[item_id][f] != after[item_id][f]}
            if fields:
                diffs[item_id] = fields
        wanted = {i: set(f) & set(SERVED_FIELDS[site]) for i, f in expected["changed"].items()}
        assert diffs == {i: f for i, f in wanted.items() if f}
