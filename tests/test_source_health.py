"""Source health that tells causes apart, each from real pages on a real server swept into
a real store: an empty channel, a channel that empties, a log-in wall, a captcha, a site that
refuses heishi (403, 429), pages that changed shape. Each is its own health state with its own
alert wording, and `heishi sources list` shows them."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from monitor.demo.local_server import Page, html_page
from monitor.running.source_health import cause_of, health_of
from monitor.store import open_store
from tests.helpers import heishi_here
from tests.markup_sites import MarkupSite, fixture_bytes
from tests.servers import run_crawl, write_site

LOCAL = "network = { allow_private = true }  # the fixture sites are on 127.0.0.1\n"


def channel(name, path):
    return f'name = "{name}"\nkind = "channel"\nstart_urls = ["${{FIXTURE_URL}}{path}"]\n' + LOCAL


def forum(name, preset, path):
    return (
        f'name = "{name}"\nkind = "forum"\npreset = "{preset}"\n'
        f'start_urls = ["${{FIXTURE_URL}}{path}"]\nmax_pages = 1\n' + LOCAL
    )


def sweep(tmp_path, db, name, server):
    run = run_crawl(
        name, tmp_path, sites_dir=tmp_path / "sites", env={"FIXTURE_URL": server.url}, db=db
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run


def state(db, name):
    with open_store(db, readonly=True) as store:
        source = next(s for s in store.runs.sources() if s["name"] == name)
        run = store.runs.get(source["last_run_id"])
        alerts = [
            store.review.alert(row[0])
            for row in store.conn.execute(
                "SELECT id FROM alerts WHERE source = ? ORDER BY id", (name,)
            ).fetchall()
        ]
    return source["health"], run, alerts


@pytest.mark.slow
def test_each_cause_has_its_own_health_and_wording(tmp_path):
    db = tmp_path / "heishi.db"
    sites = tmp_path / "sites"
    write_site(sites, "quiet", channel("quiet", "/s/quiet_channel"))
    write_site(sites, "daily", channel("daily", "/s/shuju_daily"))
    write_site(sites, "walled", forum("walled", "discuz", "/forum.php?mod=forumdisplay&fid=38"))
    write_site(sites, "checked", forum("checked", "tieba", "/f?kw=captcha&ie=utf-8"))
    write_site(sites, "refusing", forum("refusing", "phpbb", "/viewforum.php?f=403"))
    write_site(sites, "throttling", forum("throttling", "phpbb", "/viewforum.php?f=429"))

    with (
        MarkupSite("telegram") as telegram,
        MarkupSite("discuz") as discuz,
        MarkupSite("tieba") as tieba,
        MarkupSite("phpbb") as phpbb,
    ):
        tieba.redirect("/f?kw=captcha&ie=utf-8", "/static/captcha/tuxing.html?ak=demo")
        phpbb.pages["/viewforum.php?f=403"] = html_page("<h1>Forbidden</h1>", status=403)
        phpbb.pages["/viewforum.php?f=429"] = html_page("<h1>Too Many Requests</h1>", status=429)

        def daily() -> None:
            sweep(tmp_path, db, "daily", telegram)
            # The channel's messages are gone: its page now says so.
            telegram.pages["/s/shuju_daily"] = Page(
                fixture_bytes("telegram", "s_empty.html"), 200, {"Content-Type": "text/html"}
            )
            sweep(tmp_path, db, "daily", telegram)

        # The sources are independent (daily's two sweeps stay in order): two crawls at a
        # time into the one store, as a sweep runs them.
        with ThreadPoolExecutor(2) as pool:
            jobs = [pool.submit(daily)] + [
                pool.submit(sweep, tmp_path, db, name, server)
                for name, server in (
                    ("quiet", telegram),
                    ("walled", discuz),
                    ("checked", tieba),
                    ("refusing", phpbb),
                    ("throttling", phpbb),
                )
            ]
            for job in jobs:
                job.result()

    # A channel that never had posts: a complete, quiet sweep, no alert.
    health, run, alerts = state(db, "quiet")
    assert (health, run["status"], alerts) == ("empty", "ok", [])
    # A channel that had 22 listings and now says it has none: partial (nothing removed),
    # one alert that says what happened.
    health, run, alerts = state(db, "daily")
    assert (health, run["status"], run["removed"]) == ("empty", "partial", 0)
    assert [a["title"] for a in alerts if a["kind"].startswith("source_")] == [
        "source daily says it has no listings"
    ]
    # Discuz!'s "log in first" page; Tieba's 百度安全验证; 403 and 429.
    expected = {
        "walled": ("login_wall", "source walled is behind a log-in wall", "login"),
        "checked": ("captcha", "source checked shows a captcha", "cookies_file"),
        "refusing": ("blocked", "source refusing refuses heishi", "HTTP 403"),
        "throttling": ("blocked", "source throttling refuses heishi", "HTTP 429"),
    }
    for name, (wanted, title, fix) in expected.items():
        health, run, alerts = state(db, name)
        assert health == wanted, (name, health, run["error"])
        assert run["status"] == "failed"
        failing = [a for a in alerts if a["kind"] == "source_failing"]
        assert [a["title"] for a in failing] == [title], (name, failing)
        assert fix in failing[0]["summary"]

    listed = heishi_here(  # in this process: listing reads the store and the site files
        "sources",
        "list",
        "--db",
        str(db),
        "--json",
        env={"HEISHI_SITES_DIR": str(sites), "FIXTURE_URL": "http://127.0.0.1:9"},
    )
    assert listed.returncode == 0, listed.stderr
    shown = {row["name"]: row["health"] for row in json.loads(listed.stdout)}
    assert shown == {
        "quiet": "empty",
        "daily": "empty",
        "walled": "login_wall",
        "checked": "captcha",
        "refusing": "blocked",
        "throttling": "blocked",
    }


@pytest.mark.slow
def test_a_board_whose_rows_vanished_changed_shape_and_a_down_site_is_failing(tmp_path):
    db = tmp_path / "heishi.db"
    board = forum("bb", "phpbb", "/viewforum.php?f=12").replace("max_pages = 1", "max_pages = 2")
    write_site(tmp_path / "sites", "bb", board)
    with MarkupSite("phpbb") as server:
        sweep(tmp_path, db, "bb", server)
        # A new theme: the same pages without their topic list markup. (The first sweep
        # read 5 listings: enough for a shape change to be judged.)
        for path, name in (
            ("/viewforum.php?f=12", "viewforum_f12.html"),
            ("/viewforum.php?f=12&sid=5b1e0f7c2a9d4e8f&start=25", "viewforum_f12_start25.html"),
        ):
            page = fixture_bytes("phpbb", name).replace(b"topiclist", b"topic-list")
            server.pages[path] = Page(page, 200, {"Content-Type": "text/html"})
        sweep(tmp_path, db, "bb", server)
    health, run, alerts = state(db, "bb")
    assert (health, run["status"]) == ("changed_shape", "failed")
    assert [a["title"] for a in alerts if a["kind"] == "source_changed_shape"] == [
        "source bb changed shape"
    ]


def test_causes_are_read_most_specific_first():
    assert (
        cause_of({"heishi/http_refused/429": 1, "heishi/login_walls": 1}, "failed", False, 0).health
        == "blocked"
    )
    assert (
        cause_of({"heishi/captcha_pages": 1, "heishi/login_walls": 1}, "failed", False, 0).health
        == "captcha"
    )
    assert cause_of({"heishi/source_empty_pages": 1}, "ok", False, 3) is None  # it had rows
    assert cause_of({}, "failed", False, 0).health == "failing"
    assert health_of("partial", None) == "degraded" and health_of("ok", None) == "ok"
