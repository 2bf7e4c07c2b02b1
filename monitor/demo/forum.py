"""Demo forum: Discuz! X board and thread pages, served in GBK (encoded as GB18030).

/forum.php?mod=forumdisplay&fid=2[&page=N]     board, THREADS_PER_PAGE threads a page
/forum.php?mod=viewthread&tid=ID               thread; a removed one shows Discuz's notice
/forum.php?mod=viewthread&tid=ID&lie=1         same bytes, but the header says utf-8
"""

from __future__ import annotations

import zlib

from monitor.demo.content import Entry, live_entries
from monitor.demo.response import Response, error_page, esc, html_page, split_path, text_to_html

FID = 2
BOARD_NAME = "数据交流"
FORUM_NAME = "黑市论坛"
THREADS_PER_PAGE = 15
REMOVED_MESSAGE = "抱歉，指定的主题不存在或已被删除或正在被审核"
GBK_META = '<meta http-equiv="Content-Type" content="text/html; charset=gbk" />'


def board_pages(day: int) -> list[list[Entry]]:
    """The board's pages on `day`, newest thread first."""
    threads = sorted(live_entries("forum", day), key=lambda e: (e.posted, e.site_id), reverse=True)
    pages = [threads[i : i + THREADS_PER_PAGE] for i in range(0, len(threads), THREADS_PER_PAGE)]
    return pages or [[]]


def uid(name: str) -> int:
    """A stable user id for a user name."""
    return 1000 + zlib.crc32(name.encode("utf-8")) % 90000


def respond(path: str, day: int) -> Response:
    route, query = split_path(path)
    if route in ("/", "/index.php"):
        return _gbk(_page(FORUM_NAME, _board_link_list()))
    if route != "/forum.php":
        return error_page(404, "Not Found")
    mod = query.get("mod", "")
    if mod == "forumdisplay" and query.get("fid") == str(FID):
        try:
            page = max(1, int(query.get("page") or 1))
        except ValueError:
            page = 1
        return _gbk(_board(day, page))
    if mod == "viewthread":
        thread = _thread(day, query.get("tid", ""))
        if query.get("lie") == "1":
            # Lies about its encoding: GB18030 bytes, a utf-8 header and no meta.
            return html_page(thread.replace(GBK_META, ""), charset="utf-8", encoding="gb18030")
        return _gbk(thread)
    return error_page(404, "Not Found")


def _gbk(page: str) -> Response:
    return html_page(page, charset="gbk", encoding="gb18030")


def _page(title: str, content: str) -> str:
    return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
{GBK_META}
<title>{esc(title)} -  Powered by Discuz!</title>
<meta name="generator" content="Discuz! X3.4" />
</head>
<body id="nv_forum" class="pg_forumdisplay" onkeydown="if(event.keyCode==27) return false;">
<div id="hd"><div class="wp"><div class="hdc cl"><h2><a href="./" title="{FORUM_NAME}">{FORUM_NAME}</a></h2></div></div></div>
<div id="wp" class="wp">
{content}
</div>
<div id="ft" class="wp cl"><p class="xs0">Powered by <strong><a href="http://www.discuz.net" target="_blank">Discuz!</a></strong> <em>X3.4</em></p></div>
</body>
</html>
"""


def _board_link_list() -> str:
    href = f"forum.php?mod=forumdisplay&amp;fid={FID}"
    return f'<div class="fl bm"><h2><a href="{href}">{BOARD_NAME}</a></h2></div>'


def _board(day: int, page: int) -> str:
    pages = board_pages(day)
    page = min(page, len(pages))
    rows = "\n".join(_thread_row(e, day, page) for e in pages[page - 1])
    content = f"""<div id="pt" class="bm cl"><div class="z"><a href="./" class="nvhm" title="首页">{FORUM_NAME}</a> <em>&rsaquo;</em> <a href="forum.php?mod=forumdisplay&amp;fid={FID}">{BOARD_NAME}</a></div></div>
<div class="boardnav"><div id="ct" class="wp cl">
<div class="bm bml pbn"><div class="bm_h cl"><h1 class="xs2"><a href="forum.php?mod=forumdisplay&amp;fid={FID}">{BOARD_NAME}</a></h1></div></div>
<div id="threadlist" class="tl bm bmw">
<div class="th"><table cellspacing="0" cellpadding="0"><tr><th colspan="2">主题</th><td class="by">作者</td><td class="num">回复/查看</td><td class="by">最后发表</td></tr></table></div>
<div class="bm_c">
<form method="post" autocomplete="off" name="moderate" id="moderate" action="forum.php?mod=topicadmin&amp;action=moderate&amp;fid={FID}&amp;infloat=yes&amp;nopost=yes">
<table summary="forum_{FID}" cellspacing="0" cellpadding="0" id="threadlisttableid">
<tbody id="separatorline" class="emptb"><tr class="ts"><td>&nbsp;</td><th>版块主题</th><td>&nbsp;</td><td>&nbsp;</td><td>&nbsp;</td></tr></tbody>
{rows}
</table>
</form>
</div>
</div>
<div class="bm bw0 pgs cl"><span id="fd_page_bottom">{_pager(page, len(pages))}</span></div>
</div></div>"""
    return _page(f"{BOARD_NAME} - {FORUM_NAME}", content)


def _thread_row(thread: Entry, day: int, page: int) -> str:
    shown = thread.version(day)
    href = f"forum.php?mod=viewthread&amp;tid={thread.site_id}&amp;extra=page%3D{page}"
    last_author = thread.replies[-1][0] if thread.replies else thread.author
    date = thread.posted[:10]
    return f"""<tbody id="normalthread_{thread.site_id}">
<tr>
<td class="icn"><a href="{href}" title="有新回复 - 新窗口打开" target="_blank"><img src="static/image/common/folder_new.gif" /></a></td>
<th class="common">
<a href="{href}" onclick="atarget(this)" class="s xst">{esc(shown.title)}</a>
</th>
<td class="by">
<cite><a href="home.php?mod=space&amp;uid={uid(thread.author)}" c="1">{esc(thread.author)}</a></cite>
<em><span>{date}</span></em>
</td>
<td class="num"><a href="{href}" class="xi2">{len(thread.replies)}</a><em>{_views(thread)}</em></td>
<td class="by">
<cite><a href="home.php?mod=space&amp;username={esc(last_author)}" c="1">{esc(last_author)}</a></cite>
<em><a href="forum.php?mod=redirect&amp;tid={thread.site_id}&amp;goto=lastpost#lastpost">{thread.posted}</a></em>
</td>
</tr>
</tbody>"""


def _views(thread: Entry) -> int:
    return thread.views or 40 + zlib.crc32(thread.site_id.encode()) % 900


def _pager(page: int, last: int) -> str:
    if last <= 1:
        return ""

    def href(n: int) -> str:
        return f"forum.php?mod=forumdisplay&amp;fid={FID}&amp;page={n}"

    parts = []
    if page > 1:
        parts.append(f'<a href="{href(page - 1)}" class="prev">&nbsp;&nbsp;</a>')
    for n in range(1, last + 1):
        parts.append(f"<strong>{n}</strong>" if n == page else f'<a href="{href(n)}">{n}</a>')
    parts.append(
        f'<label><input type="text" name="custompage" class="px" size="2" title="输入页码，按回车快速跳转" value="{page}" /><span title="共 {last} 页"> / {last} 页</span></label>'
    )
    if page < last:
        parts.append(f'<a href="{href(page + 1)}" class="nxt">下一页</a>')
    return f'<div class="pg">{"".join(parts)}</div>'


def _thread(day: int, tid: str) -> str:
    found = [e for e in live_entries("forum", day) if e.site_id == tid]
    if not found:
        return _removed_notice()
    thread = found[0]
    shown = thread.version(day)
    pid0 = int(thread.site_id) * 10
    posts = [_post(pid0, thread.author, thread.posted, shown.text, 1)]
    for i, (author, text) in enumerate(thread.replies, start=1):
        posts.append(_post(pid0 + i, author, _reply_time(thread.posted, i), text, i + 1))
    board = f"forum.php?mod=forumdisplay&amp;fid={FID}"
    content = f"""<div id="pt" class="bm cl"><div class="z"><a href="./" class="nvhm" title="首页">{FORUM_NAME}</a> <em>&rsaquo;</em> <a href="{board}">{BOARD_NAME}</a> <em>&rsaquo;</em> <a href="forum.php?mod=viewthread&amp;tid={tid}">{esc(shown.title)}</a></div></div>
<div id="ct" class="wp cl">
<div id="postlist" class="pl bm">
<table cellspacing="0" cellpadding="0"><tr>
<td class="pls ptn pbn"><div class="hm ptn"><span class="xg1">查看:</span> <span class="xi1">{_views(thread)}</span><span class="pipe">|</span><span class="xg1">回复:</span> <span class="xi1">{len(thread.replies)}</span></div></td>
<td class="plc ptm pbn vwthd"><h1 class="ts"><span id="thread_subject">{esc(shown.title)}</span></h1></td>
</tr></table>
{"".join(posts)}
</div>
</div>"""
    return _page(f"{shown.title} - {BOARD_NAME} - {FORUM_NAME}", content)


def _reply_time(posted: str, n: int) -> str:
    hour = (int(posted[11:13]) + n) % 24
    return f"{posted[:11]}{hour:02d}{posted[13:]}"


def _post(pid: int, author: str, when: str, text: str, floor: int) -> str:
    space = f"home.php?mod=space&amp;uid={uid(author)}"
    return f"""<div id="post_{pid}">
<table id="pid{pid}" class="plhin" summary="pid{pid}" cellspacing="0" cellpadding="0">
<tr>
<td class="pls" rowspan="2"><div id="favatar{pid}" class="pls favatar"><div class="pi"><div class="authi"><a href="{space}" target="_blank" class="xw1">{esc(author)}</a></div></div></div></td>
<td class="plc"><div class="pi"><strong><a href="forum.php?mod=redirect&amp;goto=findpost&amp;pid={pid}" id="postnum{pid}">{floor}<sup>#</sup></a></strong>
<div class="pti"><div class="authi"><em id="authposton{pid}">发表于 {when}</em></div></div></div>
<div class="pct"><div class="pcb"><div class="t_fsz">
<table cellspacing="0" cellpadding="0"><tr><td class="t_f" id="postmessage_{pid}">
{text_to_html(text)}</td></tr></table>
</div></div></div>
</td></tr></table>
</div>
"""


def _removed_notice() -> str:
    content = f"""<div id="ct" class="wp cl w"><div class="nfl"><div class="f_c altw">
<div id="messagetext" class="alert_info">
<p>{REMOVED_MESSAGE}</p>
<p class="alert_btnleft"><a href="javascript:history.back()">[ 点击这里返回上一页 ]</a></p>
</div></div></div></div>"""
    return _page(f"提示信息 - {FORUM_NAME}", content)
