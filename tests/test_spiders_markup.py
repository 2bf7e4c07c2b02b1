"""Every preset against markup rebuilt from the real thing (tests/data/markup/*/SOURCE.md):
Discuz! X3.4 in GBK and UTF-8 (with URL rewriting), phpBB 3.3 prosilver, Tieba with its
BigPipe pagelets, Telegram's t.me/s with every kind of message, and a paste archive. Each
site file names only its preset and address; the crawls assert ids, titles, authors, dates,
texts and the pages followed."""

from __future__ import annotations

from parsel import Selector

from monitor.sites import PRESETS
from monitor.sites.selectors import first_text
from tests.markup_sites import KW, MarkupSite, fixture_bytes
from tests.servers import run_crawl, write_site


def site_file(name: str, kind: str, preset: str, urls: list[str], **keys: object) -> str:
    lines = [f'name = "{name}"', f'kind = "{kind}"', f'preset = "{preset}"']
    lines.append("start_urls = [" + ", ".join(f'"${{FIXTURE_URL}}{u}"' for u in urls) + "]")
    lines.append("network = { allow_private = true }  # the fixture site is on 127.0.0.1")
    lines += [f"{key} = {value}" for key, value in keys.items()]
    return "\n".join(lines) + "\n"


def crawl(tmp_path, server, name, text, **kwargs):
    sites = tmp_path / "sites"
    write_site(sites, name, text)
    return run_crawl(name, tmp_path, sites_dir=sites, env={"FIXTURE_URL": server.url}, **kwargs)


# -- Discuz! X3.4 --------------------------------------------------------------------------


def test_discuz_gbk_and_rewritten_utf8_boards_are_read_with_the_preset(tmp_path):
    with MarkupSite("discuz") as server:
        run = crawl(
            tmp_path,
            server,
            "dz",
            site_file(
                "dz",
                "forum",
                "discuz",
                ["/forum.php?mod=forumdisplay&fid=36", "/forum-36-1.html"],
                max_pages=2,
            ),
        )
        hits = dict(server.hits)
    assert run.returncode == 0, run.stderr[-3000:]
    items = run.by_id()
    # Sticky rules (stickthread_) and the announcement row are not listings; 4690 was deleted;
    # the GBK board's page 2 is not served (404), the rewritten board's page 2 is followed.
    assert sorted(items) == ["4685", "4708", "4711", "5102", "5117", "5120"]
    assert run.stats["heishi/removed_pages"] == 1
    assert hits.get("/forum-36-2.html") == 1

    sale = items["4711"]
    assert sale["title"] == "出售 全国 身份证 四件套 实名 可验"
    assert sale["seller"] == "老王数据"
    # The post's own time (a "3 小时前" with the time in its title), not the board's date.
    assert sale["posted_at"] == "2024-05-01T11:20:05"
    assert sale["replies"] == 3 and sale["views"] == 12000  # 1.2万 on the board
    # Discuz's anti-copy jammer strings and hidden spans are not text; the edit notice is.
    assert sale["text"] == (
        "本帖最后由 老王数据 于 2024-5-1 11:48 编辑\n\n"
        "出售全国身份证四件套，实名可验\n"
        "身份证正反面 + 银行卡 + 手机卡，打包一套 800 元\n"
        "量大可谈，支持验货，先验后付\n"
        "样本：110105199003071239\n"
        "联系 TG @laowang_data 或 QQ 123456789"
    )
    assert sale["url"].endswith("/forum.php?mod=viewthread&tid=4711&extra=page%3D1")
    # Author above the post (authoronleft off), a quote inside the text.
    courier = items["4708"]
    assert courier["seller"] == "快递内鬼"
    assert courier["posted_at"] == "2024-04-29T18:40:12"
    assert courier["text"].startswith("快递单号数据，日更\n\n圆通 中通 韵达 全有")
    assert "以前的单子还有吗？" in courier["text"]
    # An anonymous post: the name is plain text, the date a plain date.
    assert items["4685"]["seller"] == "匿名"
    assert items["4685"]["posted_at"] == "2024-04-18T20:03:11"
    # UTF-8, URL rewriting (thread-<tid>-1-1.html), plain dates, an English post.
    assert items["5120"]["title"] == "【长期】车主信息 新车 上牌 数据 分城市"
    assert items["5120"]["seller"] == "car_data"
    assert items["5120"]["posted_at"] == "2024-04-30T08:15:00"
    assert items["5117"]["text"].startswith("Fresh waybill dumps: name, phone, full address.")
    assert items["5102"]["url"].endswith("/thread-5102-1-1.html")
    assert run.stats.get("heishi/unparsed_pages", 0) == 0
    assert run.stats.get("heishi/blocked_pages", 0) == 0


def test_discuz_next_page_links_are_found_on_both_boards():
    def next_page(name: str) -> str | None:
        page = Selector(
            text=fixture_bytes("discuz", name).decode("gbk" if "gbk" in name else "utf-8")
        )
        return first_text(page, PRESETS["discuz"].selectors["next_page"])

    assert next_page("forumdisplay_fid36_gbk.html") == "forum.php?mod=forumdisplay&fid=36&page=2"
    assert next_page("forum-36-1.html") == "forum-36-2.html"
    assert next_page("forum-36-2.html") is None  # the last page


# -- phpBB 3.3 prosilver -------------------------------------------------------------------


def test_phpbb_33_board_and_topics_are_read_with_the_preset(tmp_path):
    with MarkupSite("phpbb") as server:
        run = crawl(
            tmp_path,
            server,
            "bb",
            site_file("bb", "forum", "phpbb", ["/viewforum.php?f=12"], max_pages=2),
        )
    assert run.returncode == 0, run.stderr[-3000:]
    items = run.by_id()
    # Announcements and global announcements left out, the sticky and page 2 kept.
    assert sorted(items, key=int) == ["88", "201", "226", "229", "231"]
    first = items["231"]
    assert first["title"] == "Selling fresh 身份证 data, 2024 (500k rows)"
    assert first["seller"] == "dumpking"
    assert first["posted_at"] == "2024-05-01T12:30:00+00:00"
    assert first["replies"] == 12 and first["views"] == 4512
    assert first["text"].startswith("Selling fresh 身份证 data, 2024.\n500k rows: full name")
    assert first["text"].endswith("Contact: tox 7F3A...E21 (masked sample on request)")
    assert "No refunds." not in first["text"]  # the signature is not the post
    assert "Last edited by" not in first["text"]
    # A group-coloured member and a guest, on the board and on the topic page.
    assert items["226"]["seller"] == "VIP_seller"
    assert items["229"]["seller"] == "Guest_Buyer"
    assert items["226"]["text"].startswith(
        "Hotel check-in records for 2023, all of it.\nname and ID"
    )
    assert items["201"]["posted_at"] == "2024-04-01T06:00:00+00:00"
    assert first["url"].endswith("/viewtopic.php?t=231&sid=5b1e0f7c2a9d4e8f")


def test_phpbb_next_page_link_and_last_page():
    nxt = PRESETS["phpbb"].selectors["next_page"]
    page1 = Selector(text=fixture_bytes("phpbb", "viewforum_f12.html").decode())
    page2 = Selector(text=fixture_bytes("phpbb", "viewforum_f12_start25.html").decode())
    assert first_text(page1, nxt) == "./viewforum.php?f=12&sid=5b1e0f7c2a9d4e8f&start=25"
    assert first_text(page2, nxt) is None


# -- Tieba ---------------------------------------------------------------------------------


def test_tieba_board_in_bigpipe_pagelets_and_thread_pages(tmp_path):
    with MarkupSite("tieba") as server:
        run = crawl(
            tmp_path,
            server,
            "tb",
            site_file("tb", "forum", "tieba", [f"/f?kw={KW}&ie=utf-8"], max_pages=2),
        )
    assert run.returncode == 0, run.stderr[-3000:]
    items = run.by_id()
    # The board rules (thread_top) and the ad row are not listings; page 2 (pn=50) is.
    assert sorted(items) == ["8912345598", "8912345602", "8912345603", "8912345605"]
    seller = items["8912345602"]
    assert seller["title"] == "出 四件套 实名 可验"
    assert seller["seller"] == "料子哥"
    assert seller["replies"] == 12
    assert seller["posted_at"] == "2024-05-01T12:30:00"
    assert (
        seller["text"]
        == "出 四件套 实名 可验\n身份证 银行卡 手机卡 U盾 一套带走\n需要的私聊 薇信 同号"
    )
    # A floor without a client tail still has its date.
    assert items["8912345605"]["posted_at"] == "2024-04-29T08:00:00"
    assert items["8912345598"]["seller"] == "sgk_bot"


# -- Telegram t.me/s -----------------------------------------------------------------------

TEXT_MESSAGES = ["5", "6", "7", "11", "12", "14", "16", "18", "20", "24", "30"] + [
    "62",
    "79",
    "81",
    "85",
    "89",
    "90",
    "94",
    "95",
    "96",
    "97",
    "98",
]


def test_telegram_keeps_every_message_with_text_and_counts_the_rest(tmp_path):
    with MarkupSite("telegram") as server:
        run = crawl(
            tmp_path,
            server,
            "tg",
            site_file("tg", "channel", "telegram", ["/s/shuju_daily"], max_pages=2),
        )
    assert run.returncode == 0, run.stderr[-3000:]
    items = run.by_id()
    assert sorted(items, key=int) == sorted(TEXT_MESSAGES, key=int)
    skipped = {
        key.rsplit("/", 1)[1]: value
        for key, value in run.stats.items()
        if key.startswith("heishi/skipped_messages/")
    }
    # 34 messages on two pages: 22 listings, 12 with nothing to read, each with its reason.
    assert skipped == {
        "service": 3,
        "sticker": 1,
        "location": 2,
        "voice": 1,
        "photo": 2,
        "round_video": 1,
        "video": 1,
        "media": 1,
    }
    assert run.stats["heishi/skipped_messages"] == 12
    assert len(items) + run.stats["heishi/skipped_messages"] == 34

    first = items["62"]
    assert first["title"] == "【今日上新】"
    assert first["text"].startswith("【今日上新】\n1. 车主信息 新车上牌 5 万条")
    assert first["seller"] == "数据日报 📊"
    assert first["posted_at"] == "2024-04-20T08:00:00+00:00"
    assert first["views"] == 12000
    assert first["url"] == "https://t.me/shuju_daily/62"

    # A poll: its question and options are the text.
    poll = items["11"]
    assert (
        poll["text"]
        == "本周上新哪一类？（私聊预订）\n车主信息 新车上牌\n快递单号 三通一达\n酒店开房记录"
    )
    assert poll["extra"]["poll"]["type"] == "Anonymous Poll"
    # A document with and without a caption.
    assert items["12"]["text"] == "怎么下单，听这段\n\n客服语音说明.mp3"
    assert items["98"]["text"] == "价格表_2024_04.xlsx"
    assert items["98"]["extra"]["documents"] == [
        {"title": "价格表_2024_04.xlsx", "extra": "48.2 KB"}
    ]
    # Captions of an album, a photo, a video.
    assert items["14"]["text"] == "样本截图三张，已打码\n整包 5000U"
    assert items["14"]["extra"]["media"] == ["photo"]
    assert items["18"]["extra"]["media"] == ["video"]
    # Link previews: their title and description are read, with the message's own text.
    assert items["94"]["text"] == (
        "https://leak-news.example.com/2024/04/hotel\n\n"
        "某连锁酒店 2023 年入住记录在售\n卖家称数据包含姓名、身份证号和入住日期，售价 5000 USDT。"
    )
    assert items["94"]["extra"]["link_preview"]["site"] == "Leak News"
    assert items["97"]["text"] == "数据商城 - 全部商品\n车主 快递 酒店 银行 四件套"
    # Signed, edited, forwarded, replies.
    assert items["5"]["extra"] == {"author_signature": "老王", "edited": True}
    assert items["79"]["extra"] == {"author_signature": "老王"}
    assert items["95"]["extra"] == {"edited": True}
    assert items["85"]["extra"]["forwarded_from"] == {
        "url": "https://t.me/liaozi_pifa/377",
        "channel": "liaozi_pifa",
        "message_id": 377,
        "name": "料子批发 🦈",
    }
    assert items["89"]["extra"]["forwarded_from"]["channel"] == "zhang_mgr"
    assert "message_id" not in items["89"]["extra"]["forwarded_from"]
    assert items["90"]["extra"]["forwarded_from"] == {"name": "匿名卖家"}  # a hidden account
    assert items["96"]["extra"]["reply_to"] == {
        "url": "https://t.me/shuju_daily/95",
        "channel": "shuju_daily",
        "message_id": 95,
        "text": "今晚 8 点前下单送 1 万条 🎁",
    }
    assert items["96"]["text"] == "活动延长到明天"  # the quoted message is not its text
    assert items["20"]["extra"]["reply_to"]["message_id"] == 19
    assert items["6"]["extra"] == {}
    assert run.stats.get("heishi/empty_list_pages", 0) == 0


def test_telegram_channel_with_no_posts_is_an_empty_source_not_a_broken_selector(tmp_path):
    with MarkupSite("telegram") as server:
        run = crawl(
            tmp_path,
            server,
            "quiet",
            site_file("quiet", "channel", "telegram", ["/s/quiet_channel"]),
        )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.items == []
    assert run.stats["heishi/source_empty_pages"] == 1
    assert run.stats.get("heishi/empty_list_pages", 0) == 0
    assert run.stats.get("heishi/blocked_pages", 0) == 0


def test_discuz_empty_board_is_empty_although_its_header_has_a_password_field(tmp_path):
    with MarkupSite("discuz") as server:
        run = crawl(
            tmp_path,
            server,
            "dz_empty",
            site_file("dz_empty", "forum", "discuz", ["/forum.php?mod=forumdisplay&fid=37"]),
        )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stats["heishi/source_empty_pages"] == 1
    assert run.stats.get("heishi/blocked_pages", 0) == 0
    assert run.stats.get("heishi/empty_list_pages", 0) == 0


# -- a paste archive -----------------------------------------------------------------------


def test_paste_archive_rows_are_read_raw_and_the_sidebar_is_not(tmp_path):
    with MarkupSite("paste") as server:
        run = crawl(tmp_path, server, "pb", site_file("pb", "paste", "pastebin", ["/archive"]))
        hits = dict(server.hits)
    assert run.returncode == 0, run.stderr[-3000:]
    items = run.by_id()
    assert sorted(items) == ["Xk3v9QaL", "Zq8wE4sD", "p7RtY2mN"]
    assert run.stats["heishi/detail_pages_gone"] == 1  # Gone0000's raw text answers 404
    dump = items["p7RtY2mN"]
    assert dump["title"] == "hotel 2023 dump sample"
    assert dump["text"].startswith("-- 2023.xx-某酒店-130万-sql.rar sample\nINSERT INTO guests")
    assert dump["url"] == f"{server.url}/p7RtY2mN"
    assert items["Xk3v9QaL"]["text"] == "出售 各类 数据 料子，TG @liaozi_demo\n价格私聊"
    # Each paste once, though the sidebar links the newest ones again.
    assert hits["/raw/Xk3v9QaL"] == 1
