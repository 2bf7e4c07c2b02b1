"""Test helpers: real HTTP servers on 127.0.0.1 (port 0, a thread each), fixture pages in the
markup of the sites heishi reads, and running one crawl in a subprocess (the Twisted reactor
cannot restart inside the test process)."""

from __future__ import annotations

import html
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Page:
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


def html_page(
    text: str, *, charset: str | None = "utf-8", encoding: str | None = None, status: int = 200
) -> Page:
    """`text` encoded with `encoding` (default: `charset`); the header declares `charset`, or
    no charset at all when it is None."""
    content_type = f"text/html; charset={charset}" if charset else "text/html"
    return Page(text.encode(encoding or charset or "utf-8"), status, {"Content-Type": content_type})


Route = Page | Callable[[], Page]


class LocalServer:
    """Serves `pages` ({"/path?query": Page or a callable returning one}); 404 otherwise.
    `hits` counts requests per path, for asserting what a crawl fetched."""

    def __init__(self, pages: Mapping[str, Route] | None = None) -> None:
        self.pages: dict[str, Route] = dict(pages or {})
        self.hits: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start the server first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> LocalServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                with owner._lock:
                    owner.hits[self.path] = owner.hits.get(self.path, 0) + 1
                route = owner.pages.get(self.path)
                page = route() if callable(route) else route
                if page is None:
                    page = html_page("<h1>Not Found</h1>", status=404)
                self.send_response(page.status)
                for name, value in page.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(page.body)))
                self.end_headers()
                self.wfile.write(page.body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()


def closed_port_url() -> str:
    """An address on 127.0.0.1 where nothing listens (a site that is down)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# -- running crawls -------------------------------------------------------------------------


@dataclass
class CrawlRun:
    returncode: int
    stderr: str
    items: list[dict[str, Any]]
    stats: dict[str, Any]

    def by_id(self) -> dict[str, dict[str, Any]]:
        return {str(item["site_id"]): item for item in self.items}


def write_site(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run_crawl(
    source: str,
    tmp_path: Path,
    *,
    sites_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    settings: Mapping[str, Any] | None = None,
    db: Path | None = None,
    timeout: float = 180,
) -> CrawlRun:
    """`python -m spiders.crawl SOURCE` in a subprocess; items come back through Scrapy's own
    feed export (a JSON-lines file), stats through `--stats`. Without `db` nothing is stored
    and the item pipelines are off; with it the project's pipelines and run recording run."""
    items_path = tmp_path / f"{source}-items.jsonl"
    stats_path = tmp_path / f"{source}-stats.json"
    items_path.unlink(missing_ok=True)
    stats_path.unlink(missing_ok=True)
    overrides: dict[str, Any] = {
        "FEEDS": {str(items_path): {"format": "jsonlines", "overwrite": True}},
        "HEISHI_RETRY_BACKOFF_BASE": 0.1,
    }
    if db is None:
        overrides.update({"ITEM_PIPELINES": {}, "HEISHI_RECORD_RUNS": False})
    if sites_dir is not None:
        overrides["HEISHI_SITES_DIR"] = str(sites_dir)
    overrides.update(settings or {})
    args = [sys.executable, "-m", "spiders.crawl", source, "--stats", str(stats_path)]
    if db is not None:
        args += ["--db", str(db)]
    for key, value in overrides.items():
        text = value if isinstance(value, str) else json.dumps(value)
        args += ["--set", f"{key}={text}"]
    child_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        args,
        cwd=PROJECT_ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    items = []
    if items_path.exists():
        items = [json.loads(line) for line in items_path.read_text().splitlines() if line.strip()]
    stats = json.loads(stats_path.read_text()) if stats_path.exists() else {}
    return CrawlRun(proc.returncode, proc.stderr, items, stats)


# -- fixture pages in the markup heishi reads -----------------------------------------------

esc = html.escape


def discuz_page(title: str, content: str, meta_charset: str | None = "gbk") -> str:
    meta = (
        f'<meta http-equiv="Content-Type" content="text/html; charset={meta_charset}" />'
        if meta_charset
        else ""
    )
    return f"""<!DOCTYPE html><html><head>{meta}<title>{esc(title)} - Powered by Discuz!</title></head>
<body><div id="hd"><a href="member.php?mod=logging&amp;action=login">登录</a>
<a href="member.php?mod=register">立即注册</a></div>
<div id="wp" class="wp">{content}</div></body></html>"""


def discuz_board(threads: list[dict[str, Any]], page: int, last: int, fid: int = 2) -> str:
    """A Discuz! X board page; each thread: tid, title, author, replies, views, date."""
    rows = "".join(
        f"""<tbody id="normalthread_{t["tid"]}"><tr>
<th class="common"><a href="forum.php?mod=viewthread&amp;tid={t["tid"]}&amp;extra=page%3D{page}" class="s xst">{esc(t["title"])}</a></th>
<td class="by"><cite><a href="home.php?mod=space&amp;uid=1">{esc(t["author"])}</a></cite><em><span>{t.get("date", "2024-5-1")}</span></em></td>
<td class="num"><a href="#" class="xi2">{t.get("replies", 0)}</a><em>{t.get("views", 0)}</em></td>
</tr></tbody>"""
        for t in threads
    )
    sticky = """<tbody id="stickthread_1"><tr><th><a href="forum.php?mod=viewthread&amp;tid=1" class="s xst">版规</a></th></tr></tbody>"""
    nxt = (
        f'<a href="forum.php?mod=forumdisplay&amp;fid={fid}&amp;page={page + 1}" class="nxt">下一页</a>'
        if page < last
        else ""
    )
    content = f"""<table id="threadlisttableid">{sticky}{rows}</table>
<div class="pg"><strong>{page}</strong>{nxt}</div>"""
    return discuz_page("数据交流", content)


def discuz_thread(
    tid: int, title: str, author: str, when: str, text: str, replies: list[str] = ()
) -> str:
    def post(pid: int, who: str, body: str) -> str:
        return f"""<div id="post_{pid}"><table><tr>
<td class="pls"><div class="authi"><a href="home.php?mod=space&amp;uid=1" class="xw1">{esc(who)}</a></div></td>
<td class="plc"><div class="authi"><em id="authposton{pid}">发表于 {when}</em></div>
<table><tr><td class="t_f" id="postmessage_{pid}">{"<br />".join(esc(line) for line in body.split(chr(10)))}</td></tr></table>
</td></tr></table></div>"""

    posts = post(tid * 10, author, text) + "".join(
        post(tid * 10 + i, "回复者", r) for i, r in enumerate(replies, 1)
    )
    content = f"""<h1 class="ts"><span id="thread_subject">{esc(title)}</span></h1>
<div id="postlist">{posts}</div>"""
    return discuz_page(title, content)


def discuz_removed() -> str:
    return discuz_page(
        "提示信息",
        '<div id="messagetext" class="alert_info"><p>抱歉，指定的主题不存在或已被删除或正在被审核</p></div>',
    )


def discuz_login_wall() -> str:
    return discuz_page(
        "提示信息",
        """<div id="messagetext" class="alert_error"><p>您需要先登录才能继续本操作</p></div>
<div id="messagelogin"><form name="login"><input type="text" name="username" />
<input type="password" name="password" /></form></div>""",
    )


def telegram_page(channel: str, messages: list[dict[str, Any]], before: int | None) -> str:
    """t.me/s/<channel> markup; each message: id, text, datetime, views, reply_to (quoted)."""
    more = ""
    if before is not None:
        more = f"""<link rel="prev" href="/s/{channel}?before={before}">
<div class="tgme_widget_message_centered js-messages_more_wrap"><a href="/s/{channel}?before={before}" data-before="{before}" class="tme_messages_more js-messages_more"></a></div>"""
    body = "".join(
        f"""<div class="tgme_widget_message_wrap"><div class="tgme_widget_message js-widget_message" data-post="{channel}/{m["id"]}">
<div class="tgme_widget_message_author"><a class="tgme_widget_message_owner_name" href="https://t.me/{channel}"><span dir="auto">数据日报</span></a></div>
{_reply_block(m.get("reply_to"))}<div class="tgme_widget_message_text js-message_text" dir="auto">{"<br/>".join(esc(line) for line in m["text"].split(chr(10)))}</div>
<div class="tgme_widget_message_footer"><span class="tgme_widget_message_views">{m.get("views", "1.2K")}</span>
<a class="tgme_widget_message_date" href="https://t.me/{channel}/{m["id"]}"><time datetime="{m.get("datetime", "2024-05-01T08:00:00+00:00")}" class="time">08:00</time></a></div>
</div></div>"""
        for m in messages
    )
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>数据日报 – Telegram</title></head>
<body><section class="tgme_channel_history">{more}{body}</section></body></html>"""


def _reply_block(quoted: str | None) -> str:
    if not quoted:
        return ""
    return f"""<a class="tgme_widget_message_reply" href="#"><div class="tgme_widget_message_author accent_color"><span class="tgme_widget_message_author_name">数据日报</span></div>
<div class="tgme_widget_message_text js-message_reply_text" dir="auto">{esc(quoted)}</div></a>"""


def js_search_page(api_path: str) -> str:
    """A search page whose results only JavaScript renders: after load it fetches `api_path`
    (a JSON list of {id, url, title, price, seller}) and builds the result list."""
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>搜索</title></head>
<body><div id="results"></div><noscript>请启用 JavaScript</noscript>
<script>
window.addEventListener("load", function () {{
  fetch({json.dumps(api_path)}).then(function (r) {{ return r.json(); }}).then(function (data) {{
    setTimeout(function () {{
      var box = document.getElementById("results");
      data.forEach(function (it) {{
        var d = document.createElement("div"); d.className = "item"; d.setAttribute("data-id", it.id);
        var a = document.createElement("a"); a.className = "item-title"; a.href = it.url; a.textContent = it.title;
        var p = document.createElement("span"); p.className = "item-price"; p.textContent = it.price;
        var s = document.createElement("span"); s.className = "item-seller"; s.textContent = it.seller;
        d.appendChild(a); d.appendChild(p); d.appendChild(s); box.appendChild(d);
      }});
      var done = document.createElement("div"); done.id = "results-done"; document.body.appendChild(done);
    }}, 300);
  }});
}});
</script></body></html>"""


def json_page(data: Any) -> Page:
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return Page(body, 200, {"Content-Type": "application/json; charset=utf-8"})


def market_item(title: str, price: str, seller: str, text: str, posted: str) -> str:
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{esc(title)}</title></head>
<body><div class="item-detail"><h1 class="item-title">{esc(title)}</h1>
<span class="item-price">{esc(price)}</span><span class="item-posted">{posted}</span>
<div class="seller">卖家：<a class="seller-name" href="/shop/1">{esc(seller)}</a></div>
<div class="item-desc">{"<br>".join(esc(line) for line in text.split(chr(10)))}</div></div></body></html>"""
