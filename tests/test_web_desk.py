"""The review desk in a real Chromium against a real server on 127.0.0.1: a reviewer works
through a filtered queue with the keyboard (keys counted), the filters travel with every
alert and back, and next/previous stay inside the filtered queue."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web_server import Server, item, record_sweep

pytestmark = pytest.mark.browser

PASSWORD = "review-desk-pass-1"
LONG_TITLES = (
    "专业 定制 爬虫 采集 各大平台 用户数据 电商 外卖 点评 小红书 抖音 快手 微博 实时更新 一手 可验 支持担保",
    "Custom scraping of any platform: marketplace, delivery and review app user data, 爬虫",
)
TRIAGED = 20
REASON_KEYS = ("false_positive", "news_or_warning", "duplicate", "out_of_scope", "other")


def build_desk_store(db: Path) -> None:
    """26 identity listings of high severity (the queue the reviewer works through), and
    others the filter leaves out: identity of medium severity, vehicle of high."""
    from monitor.store import open_store, utc_now
    from monitor.web.auth import hash_password

    wanted = [
        item(f"id{n}", f"出售 身份证 四件套 第{n}批", f"身份证 四件套 {n}套 联系 @seller{n}",
             terms=[("身份证", "identity"), ("四件套", "identity")], seller=f"卖家{n}")
        for n in range(26)
    ]  # fmt: skip
    medium = [
        item(f"m{n}", f"身份证 料子 第{n}批", "身份证 料子 出售",
             terms=[("身份证", "identity")], seller=f"中{n}")
        for n in range(4)
    ]  # fmt: skip
    vehicle = [
        item(f"v{n}", f"车主 资料 第{n}批", "车险 车主 资料 出售",
             terms=[("车主", "vehicle")], seller=f"车{n}")
        for n in range(4)
    ]  # fmt: skip
    # Interleaved, so the wanted alerts' ids are not consecutive.
    mixed = [x for group in zip(wanted[:4], medium, vehicle, strict=True) for x in group]
    record_sweep(db, "forum", mixed + wanted[4:])
    # Hotel listings on a market: the first changes its price the next day (one row, two alerts).
    hotels = [("h1", "某酒店 开房记录 30万 5000元"), ("h2", "某酒店 入住记录 10万")]
    for price in ("5000元", "3000元"):  # day 1, day 2
        record_sweep(db, "market", [
            item(site_id, title.replace("5000元", price), f"开房 记录 出售 {price if site_id == 'h1' else ''}",
                 terms=[("开房", "travel")], seller="酒店哥")
            for site_id, title in hotels
        ])  # fmt: skip
    # Long titles, as sellers write them, for the narrow screens.
    record_sweep(db, "longshop", [
        item("L1", LONG_TITLES[0], "定制 爬虫 采集 各平台 用户数据", terms=[("爬虫", "scraping")],
             price="2000元", seller="采集工作室"),
        item("L2", LONG_TITLES[1], "custom scraping of any platform, 爬虫 to order",
             terms=[("爬虫", "scraping")], price="1500元", seller="scraper_studio"),
    ])  # fmt: skip
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alerts SET severity = 'high' WHERE source = 'forum'")
        conn.execute("UPDATE alerts SET severity = 'medium' WHERE title LIKE '身份证 料子%'")
    with open_store(db) as store:
        store.review.add_user("rita", "reviewer", hash_password(PASSWORD), now=utc_now())


@pytest.fixture(scope="module")
def desk_db(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("desk") / "heishi.db"
    build_desk_store(db)
    return db


@pytest.fixture(scope="module")
def desk_url(desk_db) -> Iterator[str]:
    with Server(desk_db) as url:
        yield url


@pytest.fixture
def page(chromium, desk_url):
    context = chromium.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    opened.goto(desk_url + "/login")
    opened.fill("input[name=name]", "rita")
    opened.fill("input[name=password]", PASSWORD)
    opened.click("button[type=submit]")
    opened.wait_for_url(lambda url: "/login" not in url)
    yield opened
    context.close()


def alerts_where(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(f"SELECT id, status, severity, categories FROM alerts {sql}").fetchall()


def shown_alert(page) -> int:
    return int(re.split(r"[?#]", page.url.split("/alerts/")[1])[0])


FILTERED = "/?status=open&category=identity&severity=high&sort=created&dir=asc"


def wanted_rows(db: Path) -> list[list[int]]:
    """The filtered queue's rows (a listing's alerts, reposts included), oldest row first."""
    rows: dict[int, list[int]] = {}
    for alert, listing in sqlite3.connect(db).execute(
        "SELECT id, listing_id FROM alerts WHERE severity = 'high' AND status = 'open' "
        "AND categories LIKE '%identity%' ORDER BY id"
    ):
        rows.setdefault(listing, []).append(alert)
    return sorted(rows.values(), key=max)


def test_a_reviewer_triages_twenty_alerts_of_a_filtered_queue_at_two_keys_each(
    desk_url, desk_db, page
):
    wanted = wanted_rows(desk_db)[:TRIAGED]
    untouched = {row[0] for row in alerts_where(desk_db, "")} - {a for r in wanted for a in r}
    page.goto(desk_url + FILTERED)
    keys = []  # every key pressed, alert by alert

    def press(key: str, navigates: bool) -> None:
        keys.append(key)
        if navigates:
            with page.expect_navigation():
                page.keyboard.press(key)
        else:
            page.keyboard.press(key)

    press("o", navigates=True)  # opens the queue's first alert
    visited, per_alert = [], []
    for n in range(TRIAGED):
        visited.append(shown_alert(page))
        assert "category=identity" in page.url and "severity=high" in page.url
        before = len(keys)
        if n % 2 == 0:
            press("c", navigates=False)
            assert page.locator("#armed-hint").is_visible()  # one press only arms it
            assert "again" in page.locator("#armed-hint").inner_text()
            press("c", navigates=True)
        else:
            press("d", navigates=False)
            press(str(1 + (n // 2) % 5), navigates=True)
        per_alert.append(len(keys) - before)
        assert page.locator("#done").is_visible()
    # The filtered queue, a row at a time in its order (each opened at its newest alert).
    assert visited == [max(row) for row in wanted]
    assert max(per_alert) <= 2
    print(f"keys per alert: {len(keys) / TRIAGED:.2f} with opening the first, "
          f"{sum(per_alert) / TRIAGED:.2f} per decision")  # fmt: skip
    assert len(keys) <= 2 * TRIAGED + 1

    with sqlite3.connect(desk_db) as conn:
        events = conn.execute(
            "SELECT alert_id, actor, new_status, reason FROM alert_events "
            "WHERE action = 'status' ORDER BY alert_id"
        ).fetchall()
    expected = []
    for n, row in enumerate(wanted):
        for alert in row:  # every alert of the row, each with its own event
            if n % 2 == 0:
                expected.append((alert, "rita", "confirmed", None))
            else:
                expected.append((alert, "rita", "dismissed", REASON_KEYS[(n // 2) % 5]))
    assert events == sorted(expected)
    assert {row[0] for row in alerts_where(desk_db, "WHERE status = 'open'")} == untouched


def test_filters_travel_with_the_alert_and_back_and_next_stays_in_the_queue(
    desk_url, desk_db, page
):
    queue = "/?status=all&category=identity&severity=high&sort=created&dir=desc"
    page.goto(desk_url + queue)
    rows = page.locator("#queue tbody tr")
    first, second = (int(rows.nth(i).locator(".c-id a").inner_text()) for i in (0, 1))
    page.keyboard.press("j")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert shown_alert(page) == first
    assert "1 of" in page.locator("#position").inner_text()
    with page.expect_navigation():
        page.keyboard.press("]")
    assert shown_alert(page) == second
    (_, _, severity, categories), = alerts_where(desk_db, f"WHERE id = {second}")  # fmt: skip
    assert severity == "high" and "identity" in categories
    assert "<kbd>" in page.locator("#previous").inner_html()
    with page.expect_navigation():
        page.keyboard.press("[")
    assert shown_alert(page) == first
    with page.expect_navigation():
        page.keyboard.press("u")
    assert page.url.startswith(desk_url + "/?")
    assert page.locator("select[name=severity]").input_value() == "high"
    assert page.locator("select[name=category]").input_value() == "identity"
    assert page.locator(".tabs a[aria-current]").inner_text().startswith("all")
    page.goto(desk_url + f"/alerts/{second}?" + queue.split("?")[1])
    page.locator("#to-queue").click()
    assert "severity=high" in page.url and "dir=desc" in page.url


def test_an_alert_opened_on_its_own_stays_open_after_a_decision(desk_url, desk_db, page):
    (alert, *_), = alerts_where(desk_db, "WHERE title LIKE '车主%' ORDER BY id LIMIT 1")  # fmt: skip
    page.goto(desk_url + f"/alerts/{alert}")
    assert page.locator("#triage-form input[name=queue]").count() == 0
    page.keyboard.press("e")
    page.keyboard.press("Escape")  # cancelled: nothing happens
    assert page.locator("#armed-hint").is_hidden()
    page.keyboard.press("a")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert shown_alert(page) == alert
    assert page.locator(".alert-head .status").inner_text() == "acknowledged"
    page.keyboard.press("m")
    with page.expect_navigation():
        page.keyboard.press("m")  # assigned to me
    assert "rita" in page.locator(".alert-head").inner_text()
    page.keyboard.press("n")
    page.keyboard.type("checked the seller's other posts")
    with page.expect_navigation():
        page.keyboard.press("Control+Enter")
    page.keyboard.press("r")
    with page.expect_navigation():
        page.keyboard.press("r")
    assert page.locator(".alert-head .status").inner_text() == "resolved"
    with sqlite3.connect(desk_db) as conn:
        assert conn.execute(
            "SELECT action, new_status, note FROM alert_events WHERE alert_id = ? "
            "AND actor = 'rita' ORDER BY id",
            (alert,),
        ).fetchall() == [
            ("status", "acknowledged", None),
            ("assign", "acknowledged", "nobody → rita"),
            ("note", "acknowledged", "checked the seller's other posts"),
            ("status", "resolved", None),
        ]


def test_a_listings_alerts_share_one_row_and_one_decision_decides_them_all(desk_url, desk_db, page):
    page.goto(desk_url + "/?status=open&category=travel&sort=created&dir=desc")
    rows = page.locator("#queue tbody tr")
    assert rows.count() == 2
    hotel = rows.filter(has_text="30万")
    assert hotel.locator(".events .kind").all_inner_texts() == ["new", "changed"]
    ids = [int(i) for i in hotel.locator("input[name=ids]").get_attribute("value").split(",")]
    assert len(ids) == 2
    with page.expect_navigation():
        hotel.locator(".title-link").click()
    assert shown_alert(page) == max(ids)  # the row opens its newest alert
    assert page.locator("#group a.kind").count() == 2
    page.keyboard.press("d")
    with page.expect_navigation():
        page.keyboard.press("3")
    assert "h2" not in page.url and page.locator("#done").inner_text() == "2 alerts dismissed."
    with sqlite3.connect(desk_db) as conn:
        events = conn.execute(
            "SELECT alert_id, actor, old_status, new_status, reason FROM alert_events "
            f"WHERE alert_id IN ({ids[0]}, {ids[1]}) AND action = 'status' ORDER BY alert_id"
        ).fetchall()
    assert events == [(i, "rita", "open", "dismissed", "duplicate") for i in sorted(ids)]
    assert page.locator(".listing-title").inner_text() == "某酒店 入住记录 10万"  # the next row


def test_the_alert_opens_on_what_changed_since_the_reviewer_last_looked(desk_url, desk_db, page):
    def offer(price: str, volume: str) -> dict:
        return item("s1", f"银行 客户 资料 {volume} {price}", f"银行 客户 资料 {volume}，{price}",
                    terms=[("客户", "finance")], seller="老李", price=price)  # fmt: skip

    record_sweep(desk_db, "shop", [offer("800元", "5万")])
    queue = desk_url + "/?status=all&source=shop"
    page.goto(queue)
    row = page.locator("#queue tbody tr")
    assert "unseen" in row.get_attribute("class")  # never opened
    with page.expect_navigation():
        row.locator(".title-link").click()
    assert page.locator("#since").count() == 0  # one version: nothing changed since
    record_sweep(desk_db, "shop", [offer("600元", "8万")])  # version 2, and a "changed" alert
    page.goto(queue)
    mark = page.locator("#queue tbody tr .since-mark")
    assert mark.inner_text() == "changed since you looked (v1 → v2)"
    record_sweep(desk_db, "shop", [offer("500元", "8万")])  # version 3
    with page.expect_navigation():
        page.locator("#queue tbody tr .title-link").click()
    since = page.locator("#since")
    assert "you saw version 1" in since.inner_text()
    assert since.locator("h3").inner_text() == "Version 1 → 3"
    price = since.locator("table.sxs[data-field=price_text]")
    assert price.locator("del").inner_text() == "800"
    assert price.locator("ins").inner_text() == "500"
    page.goto(queue)
    assert page.locator("#queue tbody tr .since-mark").count() == 0  # seen now
    assert "unseen" not in page.locator("#queue tbody tr").get_attribute("class")
    with sqlite3.connect(desk_db) as conn:
        assert conn.execute(
            "SELECT v.user, v.version FROM listing_views v JOIN listings l ON l.id = v.listing_id "
            "WHERE l.site_id = 's1'"
        ).fetchall() == [("rita", 3)]
    page.goto(desk_url + page.locator("#queue tbody tr .title-link").get_attribute("href"))
    assert page.locator("#since").count() == 0  # nothing new since: the usual diff
    assert page.locator("#history #diff h3").inner_text() == "Version 2 → 3"


def test_the_queue_search_is_heishi_search_traditional_finds_simplified_and_hits_are_marked(
    desk_url, desk_db, page
):
    from monitor.analysis.search import search
    from monitor.store import open_store

    with open_store(desk_db, readonly=True) as store:
        wanted = {hit.listing_id for hit in search(store, "身份證", limit=1000).hits}
    with sqlite3.connect(desk_db) as conn:
        alerted = {row[0] for row in conn.execute("SELECT DISTINCT listing_id FROM alerts")}
    assert len(wanted & alerted) > 25  # the CLI's search finds them by the traditional form
    page.goto(desk_url + "/?status=all&q=身份證&per=100")
    rows = page.locator("#queue tbody tr")
    assert rows.count() == len(wanted & alerted)
    marks = page.locator("#queue tbody tr .title-link mark.search").all_inner_texts()
    assert len(marks) == rows.count() and set(marks) == {"身份证"}
    # A word only the text has: found, and shown where it stands in the text.
    page.goto(desk_url + "/?status=all&q=@seller7")
    assert page.locator("#queue tbody tr").count() == 1
    snippet = page.locator("#queue tbody tr .snippet")
    assert snippet.locator("mark.search").inner_text() == "seller7"
    assert "<mark" not in page.locator("#queue tbody tr .title-link").inner_html()
    # A query that cannot be searched says why, and shows nothing.
    page.goto(desk_url + '/?status=all&q="身份证')
    assert "cannot be run" in page.locator("#search-error").inner_text()
    assert page.locator("#queue tbody tr td.empty").count() == 1


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_the_queue_and_the_alert_page_fit_phones_and_tablets(desk_url, desk_db, chromium, locale):
    with sqlite3.connect(desk_db) as conn:
        alert = conn.execute("SELECT id FROM alerts WHERE source = 'longshop'").fetchone()[0]
    fits = "document.documentElement.scrollWidth <= window.innerWidth"
    for width in (390, 820):
        context = chromium.new_context(viewport={"width": width, "height": 844}, locale=locale)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(desk_url + "/login")
        page.fill("input[name=name]", "rita")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)
        for path in ("/?status=all&per=100", f"/alerts/{alert}?status=all", "/?q=身份證"):
            page.goto(desk_url + path)
            assert page.evaluate(fits), (
                width,
                path,
                page.evaluate("document.documentElement.scrollWidth"),
            )
        page.goto(desk_url + "/?status=all&per=100")
        rows = page.locator("#queue tbody tr")
        if width == 390:  # cards: no table head, each row a box of its own
            assert page.locator("#queue thead").is_hidden()
            assert rows.first.evaluate("row => getComputedStyle(row).display") == "flex"
            assert page.locator("#filter-box").get_attribute("open") is None  # folded away
        else:
            assert page.locator("#queue thead").is_visible()
            lines = page.locator("#queue .title-link").evaluate_all(
                "links => links.map(a => [a.title, "
                "Math.round(a.getBoundingClientRect().height / parseFloat(getComputedStyle(a).lineHeight))])"
            )
            for title, shown in lines:
                assert shown <= 2, (title, shown)
            for title in LONG_TITLES:  # the long ones are whole within two lines, not cut
                link = page.locator("#queue .title-link", has_text=title[:20])
                assert link.evaluate("a => a.scrollHeight <= a.clientHeight + 1"), title
        # The alert page: one column, the decision right after the title.
        page.goto(desk_url + f"/alerts/{alert}?status=all")
        title_box = page.locator("#listing-title").bounding_box()
        triage_box = page.locator("#triage").bounding_box()
        text_box = page.locator("#listing-text").bounding_box()
        assert title_box["y"] < triage_box["y"] < text_box["y"]
        assert triage_box["width"] > width * 0.85
        context.close()


def test_search_highlights_escape_every_segment_of_hostile_text():
    from monitor.analysis.search_results import hit_spans
    from monitor.web.text import marked

    hostile = '<img src=x onerror="alert(1)">身份證<script>x()</script>'
    html = str(marked(hostile, hit_spans(hostile, ["身份证"])))
    assert html == (
        "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;"
        '<mark class="hit search">身份證</mark>&lt;script&gt;x()&lt;/script&gt;'
    )
