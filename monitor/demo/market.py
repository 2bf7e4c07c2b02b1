"""Demo marketplace: search results that only JavaScript renders, server-rendered items.

/search?q=TERM        HTML shell; /static/app.js fetches the results and renders them
/api/search?q=TERM    JSON list; TERM is a substring of title, description or tags
/item/ID              item page (UTF-8); 404 once removed
/shop/SELLER_ID       the seller's items
"""

from __future__ import annotations

import zlib
from urllib.parse import quote

from monitor.demo.content import Entry, live_entries
from monitor.demo.response import (
    Response,
    error_page,
    esc,
    html_page,
    json_response,
    split_path,
    text_to_html,
)

MARKET_NAME = "闲置数据集市"
# Every market entry is found by at least one of these (tests check it); "" finds everything.
SEARCH_TERMS = ("数据", "资料", "出售", "号", "料")

APP_JS = """// Renders search results after load, asynchronously, so only a real browser sees them.
(function () {
  var q = new URLSearchParams(window.location.search).get("q") || "";
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function render(items) {
    var box = document.getElementById("results");
    items.forEach(function (it) {
      var item = el("div", "item");
      item.setAttribute("data-id", it.id);
      var link = el("a", "item-title", it.title);
      link.href = it.url;
      item.appendChild(link);
      item.appendChild(el("span", "item-price", it.price));
      item.appendChild(el("span", "item-seller", it.seller));
      box.appendChild(item);
    });
    document.getElementById("count").textContent = items.length + " 个结果";
    var done = el("div");
    done.id = "results-done";
    document.body.appendChild(done);
  }
  window.addEventListener("load", function () {
    fetch("/api/search?q=" + encodeURIComponent(q))
      .then(function (r) { return r.json(); })
      .then(function (items) { setTimeout(function () { render(items); }, 200); });
  });
})();
"""


def seller_id(name: str) -> str:
    return f"s{zlib.crc32(name.encode('utf-8')) % 100000:05d}"


def search(day: int, term: str) -> list[Entry]:
    """Items live on `day` whose title, description or tags contain `term`."""
    found = []
    for item in live_entries("market", day):
        shown = item.version(day)
        haystack = "\n".join((shown.title, shown.text, *item.tags))
        if term in haystack:
            found.append(item)
    return sorted(found, key=lambda e: (e.posted, e.site_id), reverse=True)


def respond(path: str, day: int) -> Response:
    route, query = split_path(path)
    if route == "/":
        return html_page(_page(MARKET_NAME, _search_form("")))
    if route == "/search":
        return html_page(_shell(query.get("q", "")))
    if route == "/static/app.js":
        return Response(200, APP_JS.encode(), {"Content-Type": "application/javascript"})
    if route == "/api/search":
        return json_response([_summary(e, day) for e in search(day, query.get("q", ""))])
    if route.startswith("/item/"):
        found = [e for e in live_entries("market", day) if e.url == route]
        if not found:
            return html_page(_page("商品不存在", "<p>该商品不存在或已下架</p>"), status=404)
        return html_page(_item(found[0], day))
    if route.startswith("/shop/"):
        return html_page(_shop(route.removeprefix("/shop/"), day))
    return error_page(404, "Not Found")


def _summary(item: Entry, day: int) -> dict[str, str]:
    shown = item.version(day)
    return {
        "id": item.site_id,
        "title": shown.title,
        "price": shown.price or "面议",
        "seller": item.author,
        "seller_id": seller_id(item.author),
        "url": item.url,
    }


def _page(title: str, content: str, head: str = "") -> str:
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>{esc(title)} - {MARKET_NAME}</title>
{head}</head>
<body>
<header class="top"><a class="logo" href="/">{MARKET_NAME}</a></header>
<main>
{content}
</main>
</body>
</html>
"""


def _search_form(q: str) -> str:
    return f"""<form class="search" action="/search" method="get">
<input type="text" name="q" value="{esc(q)}" placeholder="搜索宝贝"><button type="submit">搜索</button>
</form>"""


def _shell(q: str) -> str:
    content = f"""{_search_form(q)}
<p id="count" class="count">加载中…</p>
<div id="results" class="results"></div>
<noscript>请启用 JavaScript 查看搜索结果</noscript>"""
    return _page(f"{q or '全部宝贝'} 搜索结果", content, '<script src="/static/app.js"></script>\n')


def _item(item: Entry, day: int) -> str:
    shown = item.version(day)
    sid = seller_id(item.author)
    tags = "".join(f'<a class="tag" href="/search?q={quote(t)}">{esc(t)}</a>' for t in item.tags)
    content = f"""<div class="item-detail" data-id="{item.site_id}">
<h1 class="item-title">{esc(shown.title)}</h1>
<div class="item-meta"><span class="item-price">{esc(shown.price or "面议")}</span>
<span class="item-posted">{item.posted[:10]}</span>
<span class="item-views">浏览 {item.views or 10 + zlib.crc32(item.site_id.encode()) % 500}</span></div>
<div class="seller">卖家：<a class="seller-name" href="/shop/{sid}">{esc(item.author)}</a></div>
<div class="item-desc">{text_to_html(shown.text, "<br>")}</div>
<div class="item-tags">{tags}</div>
</div>"""
    return _page(shown.title, content)


def _shop(sid: str, day: int) -> str:
    items = [e for e in live_entries("market", day) if seller_id(e.author) == sid]
    name = items[0].author if items else "店铺不存在"
    rows = "\n".join(f'<li><a href="{e.url}">{esc(e.version(day).title)}</a></li>' for e in items)
    return _page(
        name, f'<h1 class="shop-name">{esc(name)}</h1>\n<ul class="shop-items">{rows}</ul>'
    )
