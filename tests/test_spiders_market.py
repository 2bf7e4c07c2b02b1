"""The marketplace kind: search pages rendered by a real Chromium through scrapy-playwright."""

from __future__ import annotations

import json
import sqlite3
import urllib.request
from urllib.parse import quote

from parsel import Selector

from monitor.demo.local_server import LocalServer, html_page
from monitor.running.evidence import evidence_dir, read_blob
from tests.servers import js_search_page, json_page, market_item, run_crawl, write_site

MARKET_SITE = """
name = "fixture_market"
kind = "marketplace"
search_url = "${FIXTURE_URL}/search?q={term}"
network = { allow_private = true }  # the fixture site is on 127.0.0.1
search_terms = ["身份证", "手机号"]
render = true
wait_selector = "#results-done"

[selectors]
item = "div.item[data-id]"
item_id = "::attr(data-id)"
item_link = "a.item-title::attr(href)"
item_title = "a.item-title"
item_price = "span.item-price"
item_author = "span.item-seller"
title = "h1.item-title"
price = "span.item-price"
author = "a.seller-name"
text = "div.item-desc"
posted = "span.item-posted"
"""

ITEMS = {
    "11": (
        "出售 身份证 正反面 照片 5000张",
        "¥800",
        "证件小铺",
        "正反面高清\n可批量",
        "2024-04-02",
    ),
    "12": (
        "身份证 手机号 四件套 一手",
        "1200元/套",
        "老刘",
        "四件套，银行卡 手机卡 U盾",
        "2024-04-03",
    ),
    "13": ("手机号 实名 卡 批发", "10元/张", "卡商", "已经下架", "2024-04-04"),
}


def summary(item_id: str) -> dict[str, str]:
    title, price, seller, _, _ = ITEMS[item_id]
    return {
        "id": item_id,
        "url": f"/item/{item_id}",
        "title": title,
        "price": price,
        "seller": seller,
    }


def market_pages() -> dict[str, object]:
    pages: dict[str, object] = {}
    for term, ids in (("身份证", ["11", "12"]), ("手机号", ["12", "13"])):
        q = quote(term)
        pages[f"/search?q={q}"] = html_page(js_search_page(f"/api/search?q={q}"))
        pages[f"/api/search?q={q}"] = json_page([summary(i) for i in ids])
    for item_id in ("11", "12"):
        pages[f"/item/{item_id}"] = html_page(market_item(*ITEMS[item_id]))
    pages["/item/13"] = html_page("<p>该商品不存在或已下架</p>", status=404)
    return pages


def test_marketplace_renders_search_pages_in_chromium(tmp_path):
    sites = tmp_path / "sites"
    write_site(sites, "fixture_market", MARKET_SITE)
    with LocalServer(market_pages()) as server:
        raw = urllib.request.urlopen(f"{server.url}/search?q={quote('身份证')}").read().decode()
        run = run_crawl(
            "fixture_market",
            tmp_path,
            sites_dir=sites,
            env={"FIXTURE_URL": server.url},
            db=tmp_path / "heishi.db",
        )
        hits = dict(server.hits)
    # The listings are not in the HTML a plain download sees; only a browser finds them.
    assert "出售 身份证" not in raw
    assert not Selector(raw).css("div.item[data-id]")
    assert run.returncode == 0, run.stderr[-3000:]
    items = run.by_id()
    assert sorted(items) == ["11", "12"]  # 13 was removed (404)
    first = items["11"]
    assert first["title"] == "出售 身份证 正反面 照片 5000张"
    assert first["price_text"] == "¥800"
    assert first["seller"] == "证件小铺"
    assert first["text"] == "正反面高清\n可批量"
    assert first["posted_at"] == "2024-04-02"
    assert first["url"] == f"{server.url}/item/11"
    assert first["extra"] == {"search_term": "身份证"}
    # Item 12 was found by both searches but fetched once; detail pages are plain HTTP.
    assert hits["/item/12"] == 1
    assert run.stats["playwright/page_count"] == 2
    assert run.stats["heishi/detail_pages_gone"] == 1
    assert run.stats.get("heishi/list_page_errors", 0) == 0
    # Evidence: the detail page as fetched, and the screenshot of the rendered search page
    # that showed the listing (the detail page itself was plain HTTP).
    with sqlite3.connect(tmp_path / "heishi.db") as conn:
        row = conn.execute(
            "SELECT v.evidence FROM listing_versions v JOIN listings l ON l.id = v.listing_id "
            "WHERE l.site_id = '11'"
        ).fetchone()
    evidence = json.loads(row[0])
    assert evidence["url"] == f"{server.url}/item/11"
    assert evidence["screenshot"].endswith(".png")
    assert evidence["screenshot_url"] == f"{server.url}/search?q={quote('身份证')}"
    png = read_blob(evidence_dir(tmp_path / "heishi.db"), evidence["screenshot"])
    assert png.startswith(b"\x89PNG")


def test_a_search_page_that_never_finishes_rendering_is_a_list_page_error(tmp_path):
    sites = tmp_path / "sites"
    write_site(sites, "fixture_market", MARKET_SITE.replace('"手机号"', '"没有"'))
    stuck = "<html><body><p>加载中…</p></body></html>"
    pages = {
        f"/search?q={quote('身份证')}": html_page(stuck),
        f"/search?q={quote('没有')}": html_page(stuck),
    }
    with LocalServer(pages) as server:
        run = run_crawl(
            "fixture_market",
            tmp_path,
            sites_dir=sites,
            env={"FIXTURE_URL": server.url},
            settings={"HEISHI_RENDER_WAIT_TIMEOUT": 1500},
        )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.items == []
    assert run.stats["heishi/list_page_errors"] == 2
