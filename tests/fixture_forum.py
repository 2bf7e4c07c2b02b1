"""The fixture forum: a Discuz! board of four pages and its threads, served by
monitor.demo.local_server.LocalServer, whose pages lie about their charset (a GBK body under a UTF-8
header, no charset at all), with a removed thread and one behind a login wall."""

from __future__ import annotations

from monitor.demo.discuz_pages import discuz_board, discuz_login_wall, discuz_removed, discuz_thread
from monitor.demo.local_server import html_page

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
