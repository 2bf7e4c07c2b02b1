"""Test helpers: fixture pages in the markup of the sites heishi reads, and running one crawl in
a subprocess (the Twisted reactor cannot restart inside the test process). The local server
and the Discuz! pages are in monitor/demo/ (local_server.py, discuz_pages.py), which the
benchmarks use too."""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.demo.local_server import Page

PROJECT_ROOT = Path(__file__).resolve().parent.parent

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
        # Local fixture sites answer at once: AutoThrottle would only slow the tests down.
        "AUTOTHROTTLE_ENABLED": False,
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


# -- phpBB 3 (prosilver) ---------------------------------------------------------------------


def phpbb_page(title: str, content: str) -> str:
    return f"""<!DOCTYPE html>
<html dir="ltr" lang="en-gb"><head><meta charset="utf-8" />
<title>{esc(title)} - Data Board</title></head>
<body id="phpbb" class="nojs notouch section-viewforum ltr ">
<div id="wrap" class="wrap">
<div class="navbar" role="navigation"><ul id="nav-main" class="nav-main linklist" role="menubar">
<li class="rightside" data-skip-responsive="true"><a href="./ucp.php?mode=login&amp;redirect=index.php" title="Login" accesskey="x" role="menuitem"><i class="icon fa-power-off fa-fw" aria-hidden="true"></i><span>Login</span></a></li>
</ul></div>
<div id="page-body" class="page-body" role="main">{content}</div></div></body></html>"""


def _phpbb_row(t: dict[str, Any], f: int) -> str:
    kind = "sticky_read" if t.get("sticky") else "topic_read"
    return f"""<li class="row bg{1 + t["tid"] % 2}{" sticky" if t.get("sticky") else ""}">
<dl class="row-item {kind}">
<dt title="No unread posts"><div class="list-inner">
<a href="./viewtopic.php?t={t["tid"]}&amp;sid=0f3c9a1b2d" class="topictitle">{esc(t["title"])}</a><br />
<div class="responsive-show" style="display: none;">Last post by <a href="./memberlist.php?mode=viewprofile&amp;u=3" class="username">someone</a></div>
<div class="topic-poster responsive-hide left-box">
by <a href="./memberlist.php?mode=viewprofile&amp;u=2" class="username">{esc(t["author"])}</a> &raquo; <time datetime="{t.get("date", "2024-05-01T12:30:00+00:00")}">Wed May 01, 2024 12:30 pm</time> &raquo; in <a href="./viewforum.php?f={f}">Data</a>
</div></div></dt>
<dd class="posts">{t.get("replies", 0)} <dfn>Replies</dfn></dd>
<dd class="views">{t.get("views", 0)} <dfn>Views</dfn></dd>
<dd class="lastpost"><span><dfn>Last post </dfn>by <a href="./memberlist.php?mode=viewprofile&amp;u=3" class="username">someone</a></span></dd>
</dl></li>"""


def phpbb_board(
    topics: list[dict[str, Any]],
    start: int,
    next_start: int | None,
    f: int = 2,
    announcements: Sequence[dict[str, Any]] = (),
) -> str:
    """viewforum.php?f=<f>&start=<start>; each topic: tid, title, author, replies, views."""
    nxt = ""
    if next_start is not None:
        nxt = f"""<li class="arrow next"><a class="button button-icon-only" href="./viewforum.php?f={f}&amp;start={next_start}" rel="next" role="button"><i class="icon fa-chevron-right fa-fw" aria-hidden="true"></i><span class="sr-only">Next</span></a></li>"""
    pagination = f"""<div class="action-bar bar-top"><div class="pagination">{len(topics)} topics
<ul><li class="active"><span>{start // 25 + 1}</span></li>{nxt}</ul></div></div>"""
    announce = ""
    if announcements:
        announce = f"""<div class="forumbg announcement"><div class="inner">
<ul class="topiclist"><li class="header"><dl class="row-item"><dt><div class="list-inner">Announcements</div></dt></dl></li></ul>
<ul class="topiclist topics">{"".join(_phpbb_row(t, f) for t in announcements)}</ul></div></div>"""
    rows = "".join(_phpbb_row(t, f) for t in topics)
    content = f"""<h2 class="forum-title"><a href="./viewforum.php?f={f}">Data</a></h2>
{pagination}{announce}
<div class="forumbg"><div class="inner">
<ul class="topiclist"><li class="header"><dl class="row-item"><dt><div class="list-inner">Topics</div></dt>
<dd class="posts">Replies</dd><dd class="views">Views</dd><dd class="lastpost"><span>Last post</span></dd></dl></li></ul>
<ul class="topiclist topics">{rows}</ul></div></div>{pagination}"""
    return phpbb_page("Data", content)


def phpbb_topic(tid: int, title: str, author: str, when: str, text: str) -> str:
    """viewtopic.php?t=<tid>: the first post, then a reply."""

    def post(pid: int, who: str, body: str, first: bool) -> str:
        lines = "<br />".join(esc(line) for line in body.split("\n"))
        return f"""<div id="p{pid}" class="post has-profile bg{1 + pid % 2}"><div class="inner">
<dl class="postprofile" id="profile{pid}"><dt class="has-profile-rank no-avatar">
<div class="avatar-container"></div>
<a href="./memberlist.php?mode=viewprofile&amp;u=2" class="username">{esc(who)}</a></dt>
<dd class="profile-rank">Member</dd><dd class="profile-posts"><strong>Posts:</strong> <a href="./search.php?author_id=2&amp;sr=posts">12</a></dd></dl>
<div class="postbody"><div id="post_content{pid}">
<h3{' class="first"' if first else ""}><a href="./viewtopic.php?p={pid}#p{pid}">{"" if first else "Re: "}{esc(title)}</a></h3>
<p class="author"><a class="unread" href="./viewtopic.php?p={pid}#p{pid}" title="Post"><i class="icon fa-file fa-fw icon-lightgray icon-md" aria-hidden="true"></i><span class="sr-only">Post</span></a>
<span class="responsive-hide">by <strong><a href="./memberlist.php?mode=viewprofile&amp;u=2" class="username">{esc(who)}</a></strong> &raquo; </span><time datetime="{when}">Wed May 01, 2024 12:30 pm</time></p>
<div class="content">{lines}</div>
</div></div>
<div class="back2top"><a href="#top" class="top" title="Top"><i class="icon fa-chevron-circle-up fa-fw icon-gray" aria-hidden="true"></i></a></div>
</div></div><hr class="divider" />"""

    content = f"""<h2 class="topic-title"><a href="./viewtopic.php?t={tid}">{esc(title)}</a></h2>
{post(tid * 10, author, text, True)}{post(tid * 10 + 1, "reader", "pm sent", False)}"""
    return phpbb_page(title, content)


# -- Baidu Tieba -----------------------------------------------------------------------------


def tieba_board(
    kw: str, threads: list[dict[str, Any]], next_href: str | None, in_comment: bool = True
) -> str:
    """/f?kw=<kw>: the thread list as Tieba serves it, inside a commented-out BigPipe pagelet
    (`in_comment`); each thread: tid, title, author, replies, abstract, top (sticky)."""
    rows = "".join(
        f"""<li class=" j_thread_list{" thread_top" if t.get("top") else ""} clearfix thread_item_box" data-field='{{"id":{t["tid"]},"author_name":"{esc(t["author"])}","first_post_id":{t["tid"] * 10},"reply_num":{t.get("replies", 0)},"is_bakan":null,"vid":"","is_good":null,"is_top":{"1" if t.get("top") else "null"}}}' data-tid="{t["tid"]}">
<div class="t_con cleafix">
<div class="col2_left j_threadlist_li_left"><span class="threadlist_rep_num center_text" title="回复">{t.get("replies", 0)}</span></div>
<div class="col2_right j_threadlist_li_right "><div class="threadlist_lz clearfix">
<div class="threadlist_title pull_left j_th_tit "><a rel="noopener" href="/p/{t["tid"]}" title="{esc(t["title"])}" target="_blank" class="j_th_tit ">{esc(t["title"])}</a></div>
<div class="threadlist_author pull_right"><span class="tb_icon_author " title="主题作者: {esc(t["author"])}" data-field='{{"user_id":1}}'><i class="icon_author"></i><span class="frs-author-name-wrap"><a rel="noopener" data-field='{{"un":"{esc(t["author"])}"}}' class="frs-author-name j_user_card " href="/home/main/?un={esc(t["author"])}&ie=utf-8&fr=frs" target="_blank">{esc(t["author"])}</a></span></span>
<span class="pull-right is_show_create_time" title="创建时间">5-1</span></div></div>
<div class="threadlist_detail clearfix"><div class="threadlist_text pull_left"><div class="threadlist_abs threadlist_abs_onlyline ">{esc(t.get("abstract", ""))}</div></div></div>
</div></div></li>"""
        for t in threads
    )
    pager = ""
    if next_href:
        pager = f"""<div id="frs_list_pager" class="pagination-default clearfix"><span class="pagination-current pagination-item ">1</span>
<a href="{next_href}" class="next pagination-item " >下一页&gt;</a></div>"""
    listing = f"""<div class="threadlist_bright j_threadlist_bright"><ul id="thread_list" class="threadlist_bright j_threadlist_bright">{rows}</ul>
<div class="thread_list_bottom clearfix"><div id="frs_list_pager" class="pagination-default clearfix">{pager}</div></div></div>"""
    if in_comment:
        listing = f"""<code id="pagelet_html_frs-list/pagelet/thread_list" style="display:none;"><!--
{listing}
--></code><script>Bigpipe.register("frs-list/pagelet/thread_list", {{"forceSync":false}});</script>"""
    return f"""<!DOCTYPE html><!--STATUS OK--><html><head><meta charset="UTF-8"><title>{esc(kw)}吧-百度贴吧</title></head>
<body><div id="pagelet_frs-header/pagelet/head"></div><div class="content">{listing}</div></body></html>"""


def tieba_thread(tid: int, title: str, author: str, when: str, text: str) -> str:
    """/p/<tid>: the first floor (the seller's), then a reply floor."""

    def floor(number: int, who: str, body: str) -> str:
        lines = "<br>".join(esc(line) for line in body.split("\n"))
        first = " d_post_content_firstfloor" if number == 1 else ""
        return f"""<div class="l_post l_post_bright j_l_post clearfix  " data-field='{{"author":{{"user_id":1,"user_name":"{esc(who)}"}},"content":{{"post_id":{tid * 10 + number},"post_no":{number}}}}}'>
<div class="d_author"><ul class="p_author"><li class="icon"></li><li class="d_name" data-field='{{"user_id":1}}'><a alog-group="p_author" class="p_author_name j_user_card" href="/home/main?un={esc(who)}&ie=utf-8&id=tb.1" target="_blank">{esc(who)}</a></li></ul></div>
<div class="d_post_content_main{first}"><div class="p_content  "><cc><div id="post_content_{tid * 10 + number}" class="d_post_content j_d_post_content " style="display:;">            {lines}</div><br></cc></div>
<div class="core_reply j_lzl_wrapper"><div class="core_reply_tail clearfix"><div class="post-tail-wrap"><span class="tail-info">来自Android客户端</span><span class="tail-info">{number}楼</span><span class="tail-info">{when}</span></div></div></div>
</div></div>"""

    return f"""<!DOCTYPE html><html><head><meta charset="UTF-8"><title>{esc(title)}_百度贴吧</title></head>
<body><div class="left_section"><div class="core_title_wrap_bright clearfix"><div class="core_title core_title_theme_bright">
<h3 class="core_title_txt pull-left text-overflow  " title="{esc(title)}" style="width: 396px">{esc(title)}</h3></div></div>
<div class="p_postlist" id="j_p_postlist">{floor(1, author, text)}{floor(2, "路过的", "顶")}</div></div></body></html>"""


# -- paste sites (pastebin.com's archive) ----------------------------------------------------


def pastebin_archive(pastes: list[dict[str, Any]]) -> str:
    """/archive: each paste: id, title, ago, syntax."""
    rows = "".join(
        f"""<tr><td><span class="status -public"></span><a href="/{p["id"]}">{esc(p["title"])}</a></td>
<td class="td_smaller h_800">{p.get("ago", "3 sec ago")}</td>
<td class="td_smaller h_800"><a href="/archive/{p.get("syntax", "text")}">{p.get("syntax", "None")}</a></td></tr>"""
        for p in pastes
    )
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8"><title>Pastes Archive - Pastebin.com</title></head>
<body><div class="wrap"><div class="container"><div class="content"><div class="page-archive">
<div class="content__title">Pastes Archive</div>
<div class="archive-table"><table class="maintable">
<tr class="top"><th scope="col">Name / Title</th><th scope="col">Posted</th><th scope="col">Syntax</th></tr>
{rows}</table></div></div></div></div></div></body></html>"""


def text_page(text: str, status: int = 200) -> Page:
    return Page(text.encode("utf-8"), status, {"Content-Type": "text/plain; charset=utf-8"})
