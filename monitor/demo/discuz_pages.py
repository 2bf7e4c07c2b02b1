"""Discuz! X pages (board, thread, removed thread, log-in wall) as heishi reads them, for the
local sites of tests and benchmarks."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

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
    tid: int, title: str, author: str, when: str, text: str, replies: Sequence[str] = ()
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
