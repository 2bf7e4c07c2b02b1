"""Each spider kind against a real local server, through real Scrapy in a subprocess."""

from __future__ import annotations

import pytest

from monitor.demo.discuz_pages import discuz_board, discuz_login_wall, discuz_removed, discuz_thread
from monitor.demo.local_server import LocalServer, closed_port_url, html_page
from tests.servers import run_crawl, telegram_page, write_site

BOARD = "/forum.php?mod=forumdisplay&fid=2"


def _thread(tid: int, title: str, author: str = "卖家", replies: int = 0, views: int = 10):
    return {"tid": tid, "title": title, "author": author, "replies": replies, "views": views}


THREADS = {
    1: [_thread(101, "出售 全国 身份证 四件套", "老王", 3, 1200), _thread(102, "收 手机号 料子")],
    2: [_thread(103, "某酒店 开房 记录 130万", "酒店内鬼"), _thread(104, "已删除的帖子")],
    3: [_thread(105, "网贷 客户 资料 实时", "信贷"), _thread(106, "需要登录才能看的帖子")],
    4: [_thread(107, "第四页：超出 max_pages，不应抓取")],
}


def gbk(text: str, charset: str | None = "gbk") -> object:
    return html_page(text, charset=charset, encoding="gb18030")


def forum_pages() -> dict[str, object]:
    pages: dict[str, object] = {
        # Page 1 is honest GBK; page 2's header claims UTF-8; page 3 declares no charset at all.
        BOARD: gbk(discuz_board(THREADS[1], 1, 4)),
        f"{BOARD}&page=2": html_page(
            discuz_board(THREADS[2], 2, 4).replace("charset=gbk", "charset=utf-8"),
            charset="utf-8",
            encoding="gb18030",
        ),
        f"{BOARD}&page=3": html_page(
            discuz_board(THREADS[3], 3, 4).replace(
                '<meta http-equiv="Content-Type" content="text/html; charset=gbk" />', ""
            ),
            charset=None,
            encoding="gb18030",
        ),
        f"{BOARD}&page=4": gbk(discuz_board(THREADS[4], 4, 4)),
    }
    texts = {
        101: "出售全国身份证四件套\n一手货源，可验\n联系QQ：88661234",
        102: "长期收手机号料子，量大从优",
        103: "某酒店集团开房记录 130万条\n姓名 身份证 手机 入住时间",
        105: "网贷客户资料，一手实时，非多手倒卖",
    }
    for page, threads in THREADS.items():
        for t in threads:
            path = f"/forum.php?mod=viewthread&tid={t['tid']}&extra=page%3D{page}"
            if t["tid"] == 104:
                pages[path] = gbk(discuz_removed())
            elif t["tid"] == 106:
                pages[path] = gbk(discuz_login_wall())
            else:
                body = discuz_thread(
                    t["tid"], t["title"], t["author"], "2024-5-1 12:30", texts.get(t["tid"], "x")
                )
                if t["tid"] == 103:  # this thread lies too: UTF-8 header, GBK bytes, no meta
                    body = body.replace(
                        '<meta http-equiv="Content-Type" content="text/html; charset=gbk" />', ""
                    )
                    pages[path] = html_page(body, charset="utf-8", encoding="gb18030")
                else:
                    pages[path] = gbk(body)
    return pages


FORUM_SITE = """
name = "fixture_forum"
kind = "forum"
preset = "discuz"
start_urls = ["${FIXTURE_URL}/forum.php?mod=forumdisplay&fid=2"]
network = { allow_private = true }  # the fixture site is on 127.0.0.1
max_pages = 3
"""


def test_forum_crawls_gbk_board_pages_that_lie_about_their_charset(tmp_path):
    sites = tmp_path / "sites"
    write_site(sites, "fixture_forum", FORUM_SITE)
    with LocalServer(forum_pages()) as server:
        run = run_crawl("fixture_forum", tmp_path, sites_dir=sites, env={"FIXTURE_URL": server.url})
    assert run.returncode == 0, run.stderr[-3000:]
    items = run.by_id()
    # Three pages (max_pages = 3); the removed thread and the log-in wall yield nothing.
    assert sorted(items) == ["101", "102", "103", "105"]
    first = items["101"]
    assert first["title"] == "出售 全国 身份证 四件套"
    assert first["text"] == "出售全国身份证四件套\n一手货源，可验\n联系QQ：88661234"
    assert first["seller"] == "老王"
    assert first["posted_at"] == "2024-05-01T12:30:00"
    assert first["replies"] == 3 and first["views"] == 1200
    assert first["url"].endswith("/forum.php?mod=viewthread&tid=101&extra=page%3D1")
    # Decoded correctly although the page said UTF-8 (103) or nothing (page 3: 105).
    assert items["103"]["title"] == "某酒店 开房 记录 130万"
    assert items["103"]["text"].startswith("某酒店集团开房记录 130万条\n姓名")
    assert items["105"]["seller"] == "信贷"
    assert "1" not in items  # the sticky thread is not a board row
    assert run.stats["heishi/removed_pages"] == 1
    assert run.stats["heishi/blocked_pages"] == 1
    assert run.stats.get("heishi/list_page_errors", 0) == 0
    assert run.stats["heishi/reencoded/gb18030"] >= 2  # board page 2 and thread 103
    assert server.hits.get(f"{BOARD}&page=4") is None


def test_a_site_that_is_down_counts_list_page_errors(tmp_path):
    sites = tmp_path / "sites"
    write_site(sites, "fixture_forum", FORUM_SITE)
    run = run_crawl(
        "fixture_forum",
        tmp_path,
        sites_dir=sites,
        env={"FIXTURE_URL": closed_port_url()},
        settings={"RETRY_TIMES": 1},
    )
    assert run.returncode == 0, run.stderr[-3000:]  # the crawl finished; the store judges it
    assert run.items == []
    assert run.stats["heishi/list_page_errors"] == 1
    assert run.stats["retry/max_reached"] == 1
    assert run.stats["finish_reason"] == "finished"


def test_a_list_page_answering_an_error_counts_and_a_wall_is_blocked(tmp_path):
    sites = tmp_path / "sites"
    write_site(sites, "fixture_forum", FORUM_SITE)
    pages = {
        BOARD: html_page("<h1>Forbidden</h1>", status=403),
    }
    with LocalServer(pages) as server:
        run = run_crawl("fixture_forum", tmp_path, sites_dir=sites, env={"FIXTURE_URL": server.url})
    assert run.returncode == 0
    assert run.stats["heishi/list_page_errors"] == 1
    assert run.stats["heishi/blocked_pages"] == 1

    captcha = '<html><body><form><img src="/captcha.png">请输入验证码<input name="code"></form></body></html>'
    with LocalServer({BOARD: html_page(captcha)}) as server:
        run = run_crawl("fixture_forum", tmp_path, sites_dir=sites, env={"FIXTURE_URL": server.url})
    assert run.returncode == 0
    assert run.stats["heishi/blocked_pages"] == 1
    assert run.items == []


def test_retries_back_off_and_then_succeed(tmp_path):
    sites = tmp_path / "sites"
    write_site(sites, "fixture_forum", FORUM_SITE)
    answers = iter([html_page("busy", status=503), html_page("busy", status=429)])

    def flaky_board():
        return next(answers, None) or html_page(discuz_board([], 1, 1), charset="utf-8")

    with LocalServer({BOARD: flaky_board}) as server:
        run = run_crawl(
            "fixture_forum",
            tmp_path,
            sites_dir=sites,
            env={"FIXTURE_URL": server.url},
            settings={"HEISHI_RETRY_BACKOFF_BASE": 0.2},
        )
        assert server.hits[BOARD] == 3
    assert run.returncode == 0
    assert run.stats["retry/count"] == 2
    assert run.stats["heishi/retry_backoff_seconds"] == pytest.approx(0.6)
    assert run.stats.get("heishi/list_page_errors", 0) == 0
    assert run.stats["heishi/empty_list_pages"] == 1


CHANNEL_SITE = """
name = "fixture_channel"
kind = "channel"
start_urls = ["${FIXTURE_URL}/s/shuju"]
network = { allow_private = true }  # the fixture site is on 127.0.0.1
max_pages = 3
"""


def channel_pages() -> dict[str, object]:
    def msgs(ids):
        return [
            {
                "id": i,
                "text": f"第{i}条：出售 手机号 实名 料\n价格 {i}0U 可测\n联系 @seller{i}",
                "datetime": f"2024-05-{i % 28 + 1:02d}T08:00:00+00:00",
                "views": "1.5K" if i % 2 else "830",
            }
            for i in ids
        ]

    long_text = "超长标题" * 30
    newest = msgs([9, 10, 11])
    newest[1]["reply_to"] = "被回复的旧消息"
    newest.append({"id": 12, "text": long_text + "\n第二行", "views": "12"})
    return {
        "/s/shuju": html_page(telegram_page("shuju", newest, before=9)),
        "/s/shuju?before=9": html_page(telegram_page("shuju", msgs([5, 6, 7, 8]), before=5)),
        "/s/shuju?before=5": html_page(telegram_page("shuju", msgs([3, 4]), before=3)),
        "/s/shuju?before=3": html_page(telegram_page("shuju", msgs([1, 2]), before=None)),
    }


def test_channel_reads_messages_and_pages_back_with_before(tmp_path):
    sites = tmp_path / "sites"
    write_site(sites, "fixture_channel", CHANNEL_SITE)
    with LocalServer(channel_pages()) as server:
        run = run_crawl(
            "fixture_channel", tmp_path, sites_dir=sites, env={"FIXTURE_URL": server.url}
        )
    assert run.returncode == 0, run.stderr[-3000:]
    items = run.by_id()
    # max_pages = 3: the newest page, ?before=9 and ?before=5, but not ?before=3.
    assert sorted(items, key=int) == ["3", "4", "5", "6", "7", "8", "9", "10", "11", "12"]
    assert server.hits.get("/s/shuju?before=3") is None
    seven = items["7"]
    assert seven["text"] == "第7条：出售 手机号 实名 料\n价格 70U 可测\n联系 @seller7"
    assert seven["title"] == "第7条：出售 手机号 实名 料"
    assert seven["posted_at"] == "2024-05-08T08:00:00+00:00"
    assert seven["views"] == 1500
    assert items["8"]["views"] == 830
    assert items["10"]["text"].startswith("第10条")  # not the quoted message it replies to
    assert seven["seller"] == "数据日报"
    assert seven["url"] == "https://t.me/shuju/7"
    assert len(items["12"]["title"]) == 60 and items["12"]["title"].endswith("…")
    assert run.stats.get("heishi/list_page_errors", 0) == 0


def test_crawl_exits_2_naming_the_file_and_key_of_a_bad_site_file(tmp_path):
    sites = tmp_path / "sites"
    text = FORUM_SITE.replace("fixture_forum", "bad").replace("max_pages = 3", "max_pages = 0")
    path = write_site(sites, "bad", text)
    run = run_crawl("bad", tmp_path, sites_dir=sites, env={"FIXTURE_URL": "http://127.0.0.1:9"})
    assert run.returncode == 2
    last = run.stderr.strip().splitlines()[-1]
    assert last == f"heishi: site file error: {path}:7 [max_pages]: must be at least 1"

    run = run_crawl("nothing", tmp_path, sites_dir=sites)
    assert run.returncode == 2
    assert "no site file defines this source" in run.stderr


def test_a_store_that_cannot_be_opened_stops_the_crawl_with_exit_1(tmp_path):
    sites = tmp_path / "sites"
    write_site(sites, "fixture_forum", FORUM_SITE)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the store's directory should be")
    with LocalServer(forum_pages()) as server:
        run = run_crawl(
            "fixture_forum",
            tmp_path,
            sites_dir=sites,
            env={"FIXTURE_URL": server.url},
            db=blocker / "heishi.db",
        )
    assert run.returncode == 1
    assert "cannot open a run in" in run.stderr.strip().splitlines()[-1]
