"""What real sites do to crawlers: Big5 pages that lie about their charset, broken HTML, error
answers, and a site whose markup changes between two sweeps."""

from __future__ import annotations

import json
import sqlite3

from monitor.demo.discuz_pages import discuz_board, discuz_thread
from monitor.demo.local_server import LocalServer, html_page
from tests.servers import run_crawl, write_site

BOARD = "/forum.php?mod=forumdisplay&fid=2"
META_GBK = '<meta http-equiv="Content-Type" content="text/html; charset=gbk" />'
SITE = """
name = "fixture_tw"
kind = "forum"
preset = "discuz"
start_urls = ["${FIXTURE_URL}/forum.php?mod=forumdisplay&fid=2"]
network = { allow_private = true }  # the fixture site is on 127.0.0.1
"""


def thread_path(tid: int) -> str:
    return f"/forum.php?mod=viewthread&tid={tid}&extra=page%3D1"


# The fixture templates' simplified words, as a Taiwanese forum writes them.
TRADITIONAL = {
    "数据交流": "數據交流",
    "立即注册": "立即註冊",
    "登录": "登錄",
    "发表于": "發表於",
    "版规": "版規",
}


def big5(text: str, charset: str | None) -> object:
    text = text.replace(META_GBK, "")
    for simplified, traditional in TRADITIONAL.items():
        text = text.replace(simplified, traditional)
    return html_page(text, charset=charset, encoding="big5")


def test_big5_pages_with_a_wrong_or_no_charset_and_broken_html_are_read(tmp_path):
    threads = [
        {"tid": 401, "title": "出售 台灣 個資 50萬筆", "author": "資料商"},
        {"tid": 402, "title": "身分證 正反面 照片 批發", "author": "證件王"},
        {"tid": 403, "title": "殘缺的頁面", "author": "壞掉"},
    ]
    board = discuz_board(threads, 1, 1)
    # Broken board markup: rows never closed, a stray closing tag, the page cut short.
    board = board.replace("</tr></tbody>", "").replace("<table id", "</div><table id")
    board = board[: board.index("</body>")]
    pages = {BOARD: big5(board, "utf-8")}  # Big5 bytes, the header says UTF-8
    texts = {
        401: "台灣個資最新一批\n含 姓名 身分證字號 電話 地址",
        402: "身分證正反面照片，可批發",
        403: "頁面被截斷了",
    }
    for t in threads:
        body = discuz_thread(t["tid"], t["title"], t["author"], "2024-5-1 12:30", texts[t["tid"]])
        if t["tid"] == 403:  # cut off after the first post's text, every tag left open
            body = body[: body.index(texts[403]) + len(texts[403])]
        pages[thread_path(t["tid"])] = big5(body, None)  # no charset anywhere
    sites = tmp_path / "sites"
    write_site(sites, "fixture_tw", SITE)
    with LocalServer(pages) as server:
        run = run_crawl("fixture_tw", tmp_path, sites_dir=sites, env={"FIXTURE_URL": server.url})
    assert run.returncode == 0, run.stderr[-3000:]
    items = run.by_id()
    assert sorted(items) == ["401", "402", "403"]
    assert items["401"]["title"] == "出售 台灣 個資 50萬筆"
    assert items["401"]["text"] == "台灣個資最新一批\n含 姓名 身分證字號 電話 地址"
    assert items["402"]["seller"] == "證件王"
    assert items["403"]["text"] == "頁面被截斷了"
    assert run.stats["heishi/reencoded/big5"] >= 1  # at least the board that said UTF-8


def test_error_answers_are_retried_counted_and_never_taken_for_removals(tmp_path):
    threads = [{"tid": t, "title": f"出售 料子 {t}", "author": "卖家"} for t in (501, 502, 503)]
    throttled = iter([html_page("slow down", status=429)])

    def busy_then_ok():
        page = next(throttled, None)
        if page is not None:
            page.headers["Retry-After"] = "0"
            return page
        return html_page(discuz_thread(502, "出售 料子 502", "卖家", "2024-5-1", "料子"))

    pages = {
        BOARD: html_page(discuz_board(threads, 1, 1)),
        thread_path(501): html_page(discuz_thread(501, "出售 料子 501", "卖家", "2024-5-1", "料")),
        thread_path(502): busy_then_ok,
        thread_path(503): html_page("<h1>Internal Server Error</h1>", status=500),
    }
    sites = tmp_path / "sites"
    write_site(sites, "fixture_tw", SITE)
    db = tmp_path / "heishi.db"
    with LocalServer(pages) as server:
        run = run_crawl(
            "fixture_tw",
            tmp_path,
            sites_dir=sites,
            env={"FIXTURE_URL": server.url},
            settings={"RETRY_TIMES": 1},
            db=db,
        )
        hits = dict(server.hits)
    assert run.returncode == 0, run.stderr[-3000:]
    assert sorted(run.by_id()) == ["501", "502"]
    assert hits[thread_path(502)] == 2 and hits[thread_path(503)] == 2  # retried once each
    assert run.stats["heishi/detail_page_errors"] == 1
    with sqlite3.connect(db) as conn:
        status, error = conn.execute("SELECT status, error FROM runs").fetchone()
    # A listing page that failed blocks removals: the run is partial, naming the page.
    assert status == "partial" and "tid=503" in error


def test_a_site_whose_markup_changed_is_source_health_never_removals(tmp_path):
    threads = [
        {"tid": 600 + i, "title": f"出售 身份证 四件套 第{i}批", "author": "老王"} for i in range(8)
    ]
    pages: dict[str, object] = {BOARD: html_page(discuz_board(threads, 1, 1))}
    for t in threads:
        text = f"{t['title']}\n一手货源，可验，量大从优"
        pages[thread_path(t["tid"])] = html_page(
            discuz_thread(t["tid"], t["title"], t["author"], "2024-5-1 12:30", text)
        )
    sites = tmp_path / "sites"
    write_site(sites, "fixture_tw", SITE)
    db = tmp_path / "heishi.db"
    with LocalServer(pages) as server:
        env = {"FIXTURE_URL": server.url}
        first = run_crawl("fixture_tw", tmp_path, sites_dir=sites, env=env, db=db)
        assert first.returncode == 0, first.stderr[-3000:]
        # The theme changed overnight: the rows have new ids, the selectors find none.
        changed = discuz_board(threads, 1, 1).replace("normalthread_", "thread-row-")
        server.pages[BOARD] = html_page(changed)
        second = run_crawl("fixture_tw", tmp_path, sites_dir=sites, env=env, db=db)
        assert second.returncode == 0, second.stderr[-3000:]
    assert second.items == [] and second.stats["heishi/empty_list_pages"] == 1
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        runs = [dict(r) for r in conn.execute("SELECT * FROM runs ORDER BY id")]
        statuses = {r["status"] for r in conn.execute("SELECT status FROM listings")}
        alerts = [dict(r) for r in conn.execute("SELECT kind, source FROM alerts")]
    assert [r["status"] for r in runs] == ["ok", "failed"]
    assert runs[0]["items"] == 8 and runs[1]["items"] == 0
    assert "changed shape" in runs[1]["error"]
    assert statuses == {"live"}  # nothing was marked removed
    assert {"kind": "source_changed_shape", "source": "fixture_tw"} in alerts
    assert not any(a["kind"] == "removed" for a in alerts)
    # The run's statistics: pages, items, bytes and duration of each sweep.
    assert runs[0]["pages"] >= 9 and runs[0]["bytes"] > 0 and runs[0]["duration"] > 0
    assert json.loads(runs[1]["stats"])["heishi/empty_list_pages"] == 1
