"""The phpBB and Tieba forum presets and the paste kind, against pages in their real markup:
a site file needs little more than the address."""

from __future__ import annotations

from monitor.demo.local_server import LocalServer, html_page
from monitor.sites import load_site
from monitor.sites.selectors import uncomment_pagelets
from tests.servers import (
    pastebin_archive,
    phpbb_board,
    phpbb_topic,
    run_crawl,
    text_page,
    tieba_board,
    tieba_thread,
    write_site,
)

PHPBB_SITE = """
name = "fixture_phpbb"
kind = "forum"
preset = "phpbb"
start_urls = ["${FIXTURE_URL}/viewforum.php?f=2"]
network = { allow_private = true }  # the fixture site is on 127.0.0.1
max_pages = 2
"""


def test_phpbb_board_and_topic_pages_are_read_with_the_preset(tmp_path):
    topics = {
        0: [
            {"tid": 31, "title": "Selling fresh 身份证 data, 2024", "author": "dumpking"},
            {"tid": 32, "title": "收 手机号 料", "author": "buyer", "replies": 4, "views": 1234},
        ],
        25: [{"tid": 33, "title": "酒店 开房 数据 30万", "author": "hotel"}],
        50: [{"tid": 34, "title": "beyond max_pages", "author": "x"}],
    }
    rules = [{"tid": 1, "title": "Board rules", "author": "admin"}]
    pages: dict[str, object] = {
        "/viewforum.php?f=2": html_page(phpbb_board(topics[0], 0, 25, announcements=rules)),
        "/viewforum.php?f=2&start=25": html_page(phpbb_board(topics[25], 25, 50)),
        "/viewforum.php?f=2&start=50": html_page(phpbb_board(topics[50], 50, None)),
    }
    for group in topics.values():
        for t in group:
            text = f"{t['title']}\nfull names, ID numbers, phones\nContact: tox {t['tid']}"
            pages[f"/viewtopic.php?t={t['tid']}&sid=0f3c9a1b2d"] = html_page(
                phpbb_topic(t["tid"], t["title"], t["author"], "2024-05-01T12:30:00+00:00", text)
            )
    sites = tmp_path / "sites"
    write_site(sites, "fixture_phpbb", PHPBB_SITE)
    with LocalServer(pages) as server:
        run = run_crawl("fixture_phpbb", tmp_path, sites_dir=sites, env={"FIXTURE_URL": server.url})
        hits = dict(server.hits)
    assert run.returncode == 0, run.stderr[-3000:]
    items = run.by_id()
    assert sorted(items) == ["31", "32", "33"]  # no announcement, nothing past max_pages
    first = items["31"]
    assert first["title"] == "Selling fresh 身份证 data, 2024"
    assert (
        first["text"]
        == "Selling fresh 身份证 data, 2024\nfull names, ID numbers, phones\nContact: tox 31"
    )
    assert first["seller"] == "dumpking"
    assert first["posted_at"] == "2024-05-01T12:30:00+00:00"
    assert items["32"]["replies"] == 4 and items["32"]["views"] == 1234
    assert first["url"].endswith("/viewtopic.php?t=31&sid=0f3c9a1b2d")
    assert hits.get("/viewforum.php?f=2&start=50") is None
    assert run.stats.get("heishi/unparsed_pages", 0) == 0


TIEBA_SITE = """
name = "fixture_tieba"
kind = "forum"
preset = "tieba"
start_urls = ["${FIXTURE_URL}/f?kw=%E6%95%B0%E6%8D%AE&ie=utf-8"]
network = { allow_private = true }  # the fixture site is on 127.0.0.1
max_pages = 2
"""


def test_tieba_threads_are_read_even_from_commented_out_pagelets(tmp_path):
    threads = [
        {"tid": 8912345601, "title": "吧规", "author": "吧主", "top": True},
        {"tid": 8912345602, "title": "出 四件套 实名 可验", "author": "料子哥", "replies": 12},
        {"tid": 8912345603, "title": "快递 单号 数据 日更", "author": "快递内鬼"},
    ]
    second = [{"tid": 8912345604, "title": "社工库 查询 机器人", "author": "sgk"}]
    with LocalServer() as server:
        # Tieba links the next page protocol-relative, on its own host.
        next_href = "//" + server.url.split("//", 1)[1] + "/f?kw=%E6%95%B0%E6%8D%AE&ie=utf-8&pn=50"
        server.pages.update(
            {
                "/f?kw=%E6%95%B0%E6%8D%AE&ie=utf-8": html_page(
                    tieba_board("数据", threads, next_href)
                ),
                "/f?kw=%E6%95%B0%E6%8D%AE&ie=utf-8&pn=50": html_page(
                    tieba_board("数据", second, None, in_comment=False)
                ),
            }
        )
        for t in threads + second:
            text = f"{t['title']}\n需要的私聊 薇信 同号"
            server.pages[f"/p/{t['tid']}"] = html_page(
                tieba_thread(t["tid"], t["title"], t["author"], "2024-05-01 12:30", text)
            )
        server.pages["/p/8912345603"] = html_page(
            "<html><body><div class='page404'>很抱歉，该贴已被删除。</div></body></html>"
        )
        sites = tmp_path / "sites"
        write_site(sites, "fixture_tieba", TIEBA_SITE)
        run = run_crawl("fixture_tieba", tmp_path, sites_dir=sites, env={"FIXTURE_URL": server.url})
    assert run.returncode == 0, run.stderr[-3000:]
    items = run.by_id()
    # The sticky rules thread is left out; 603 was deleted.
    assert sorted(items) == ["8912345602", "8912345604"]
    seller = items["8912345602"]
    assert seller["title"] == "出 四件套 实名 可验"
    assert seller["text"] == "出 四件套 实名 可验\n需要的私聊 薇信 同号"
    assert seller["seller"] == "料子哥"
    assert seller["replies"] == 12
    assert seller["posted_at"] == "2024-05-01T12:30:00"
    assert run.stats["heishi/removed_pages"] == 1


def test_tieba_pagelets_are_uncommented_and_other_comments_kept():
    page = tieba_board("数据", [{"tid": 1, "title": "t", "author": "a"}], None)
    assert "<!--STATUS OK-->" in uncomment_pagelets(page)
    assert "j_thread_list" in uncomment_pagelets(page).split("<!--STATUS OK-->")[1]
    from parsel import Selector

    assert not Selector(page).css("li.j_thread_list")
    assert Selector(uncomment_pagelets(page)).css("li.j_thread_list")


def test_presets_need_only_the_address(tmp_path):
    for preset, url in (
        ("phpbb", "https://bbs.example.org/viewforum.php?f=9"),
        ("tieba", "https://tieba.baidu.com/f?kw=x"),
    ):
        path = write_site(
            tmp_path,
            preset,
            f'name = "{preset}"\nkind = "forum"\npreset = "{preset}"\nstart_urls = "{url}"\n',
        )
        site = load_site(path, env={})
        assert {"item", "item_link", "text", "next_page", "title", "author"} <= set(site.selectors)
    path = write_site(
        tmp_path, "p", 'name = "p"\nkind = "paste"\nstart_urls = "https://pastebin.com/archive"\n'
    )
    site = load_site(path, env={})
    assert site.preset == "pastebin" and site.raw_url == "/raw/{id}"


PASTE_SITE = """
name = "fixture_paste"
kind = "paste"
start_urls = ["${FIXTURE_URL}/archive"]
network = { allow_private = true }  # the fixture site is on 127.0.0.1
"""


def test_paste_kind_reads_each_paste_raw(tmp_path):
    pastes = [
        {"id": "Ab12Cd34", "title": "Untitled"},
        {"id": "Xy98Zw76", "title": "hotel 2023 dump sample", "syntax": "sql"},
        {"id": "Gone0000", "title": "removed"},
    ]
    dump = (
        "-- 2023.xx-某酒店-130万-sql.rar sample\nINSERT INTO guests VALUES ('张三','110105199001011234');\n"
        * 3
    )
    pages = {
        "/archive": html_page(pastebin_archive(pastes)),
        "/raw/Ab12Cd34": text_page("出售 各类 数据 料子，TG @liaozi\n价格私聊"),
        "/raw/Xy98Zw76": text_page(dump),
        "/raw/Gone0000": text_page("Not Found", status=404),
    }
    sites = tmp_path / "sites"
    write_site(sites, "fixture_paste", PASTE_SITE)
    with LocalServer(pages) as server:
        run = run_crawl(
            "fixture_paste",
            tmp_path,
            sites_dir=sites,
            env={"FIXTURE_URL": server.url},
            settings={"HEISHI_PASTE_MAX_CHARS": 150},
        )
        hits = dict(server.hits)
    assert run.returncode == 0, run.stderr[-3000:]
    items = run.by_id()
    assert sorted(items) == ["Ab12Cd34", "Xy98Zw76"]
    first = items["Ab12Cd34"]
    assert first["text"] == "出售 各类 数据 料子，TG @liaozi\n价格私聊"
    assert first["title"] == "Untitled"
    assert first["url"] == f"{server.url}/Ab12Cd34"  # the paste's page, for people
    assert (
        len(items["Xy98Zw76"]["text"]) <= 150
        and items["Xy98Zw76"]["title"] == "hotel 2023 dump sample"
    )
    assert run.stats["heishi/truncated/text"] == 1
    assert run.stats["heishi/detail_pages_gone"] == 1
    assert "/Ab12Cd34" not in hits  # only the raw text is fetched
