"""Actors end to end, from two demo-like local sites crawled for real: a Discuz! forum and a
Telegram channel preview. One seller posts on both under different names (老王 on the forum,
the channel 数据日报) with one shared contact (TG @laowang_data); two other sellers share
nothing with anyone. The first pair is one actor with both aliases, the others stay apart; the
command line, Datasette, the exports and the actor page in Chromium show it; a watched actor
alerts (actor_seen) on its next listing, delivered once to a real local webhook receiver."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.parse
import urllib.request

import pytest

from monitor.demo.discuz_pages import discuz_board, discuz_page
from monitor.demo.local_server import LocalServer, html_page
from monitor.store import open_store, utc_now
from monitor.store.filters import Filters
from tests.helpers import HEISHI, heishi, wait_for
from tests.receivers import WebhookReceiver
from tests.servers import esc, run_crawl, telegram_page, write_site
from tests.web_server import Server

# With pytest-xdist every test of this file runs in one process, so `world` (two days of real
# sweeps, some 50 s on busy cores) is built once, not once per worker.
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("actors_sites")]

FORUM_SITE = """name = "bbs_data"
kind = "forum"
preset = "discuz"
start_urls = ["${FORUM_URL}/forum.php?mod=forumdisplay&fid=2"]
max_pages = 1
autothrottle = false
network = { allow_private = true }

[selectors]
# The author column's profile block: its contact fields link sellers too.
profile = "td.pls div.pil"
"""
CHANNEL_SITE = """name = "tg_data"
kind = "channel"
start_urls = ["${CHANNEL_URL}/s/shuju_daily"]
max_pages = 1
autothrottle = false
network = { allow_private = true }
"""
THREADS = {
    101: (
        "出售 身份证 四件套",
        "老王",
        "出售全国身份证四件套料，一手货源，量大从优，5000元一套，联系 TG：@laowang_data",
        "QQ：88664422",
    ),
    102: (
        "银行卡料出售",
        "阿强",
        "银行卡 料 出售，新鲜 一手，800元/千条，TG @aqiang_bank",
        "",
    ),
    103: (
        "出售 快递 面单 数据",
        "阿强",
        "快递 面单 料 出售，姓名 电话 地址，当天的单，0.5元/条，TG @aqiang_bank",
        "",
    ),
}
MESSAGES = [
    {"id": 11, "text": "📇 身份证 四件套 一手料 现货\n量大从优 500U起\n私聊 TG @laowang_data"},
    {"id": 12, "text": "今日行情汇总，欢迎订阅本频道"},
]
DAY_TWO_MESSAGE = {
    "id": 13,
    "text": "🔥 新到 全国 手机号 实名 料 300万条\n价格私聊 飞机 @shuju_kefu",
}
REVIEWER, PASSWORD = "rita", "actor-review-pass-1"


def thread_page(tid: int) -> str:
    """A Discuz! X thread whose first post has a profile block beside it."""
    title, author, text, profile = THREADS[tid]
    pil = f'<div class="pil">{esc(profile)}</div>' if profile else ""
    post = f"""<div id="post_{tid * 10}"><table><tr>
<td class="pls"><div class="authi"><a href="home.php?mod=space&amp;uid={tid}" class="xw1">{esc(author)}</a></div>{pil}</td>
<td class="plc"><div class="authi"><em id="authposton{tid * 10}">发表于 2026-5-1 10:00</em></div>
<table><tr><td class="t_f" id="postmessage_{tid * 10}">{esc(text)}</td></tr></table></td></tr></table></div>"""
    return discuz_page(
        title,
        f'<h1 class="ts"><span id="thread_subject">{esc(title)}</span></h1><div id="postlist">{post}</div>',
    )


def forum_pages(tids: list[int]) -> dict:
    board = [{"tid": t, "title": THREADS[t][0], "author": THREADS[t][1]} for t in tids]
    pages = {
        "/forum.php?mod=forumdisplay&fid=2": html_page(discuz_board(board, 1, 1), charset="gbk")
    }
    for tid in tids:
        pages[f"/forum.php?mod=viewthread&tid={tid}&extra=page%3D1"] = html_page(
            thread_page(tid), charset="gbk"
        )
    return pages


def channel_pages(messages: list[dict]) -> dict:
    return {"/s/shuju_daily": html_page(telegram_page("shuju_daily", messages, None))}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Day 1 swept, the forum seller's actor watched, day 2 swept, the outbox drained twice."""
    home = tmp_path_factory.mktemp("actors")
    db = home / "heishi.db"
    sites = home / "sites"
    write_site(sites, "bbs_data", FORUM_SITE)
    write_site(sites, "tg_data", CHANNEL_SITE)
    receiver = WebhookReceiver().start()
    notify = home / "notify.toml"
    notify.write_text(
        f'[[routes]]\nname = "watch"\nurls = ["{receiver.url}"]\nkinds = ["actor_seen"]\n'
    )
    env = {**os.environ, "HEISHI_NOTIFY_FILE": str(notify)}  # isolated by tests/conftest.py
    with LocalServer(forum_pages([101, 102])) as forum, LocalServer(channel_pages(MESSAGES)) as tg:
        env |= {"FORUM_URL": forum.url, "CHANNEL_URL": tg.url}

        def sweep(name: str) -> None:
            run = run_crawl(name, home, sites_dir=sites, env=env, db=db)
            assert run.returncode == 0, run.stderr[-3000:]

        sweep("bbs_data")
        sweep("tg_data")
        with open_store(db, readonly=True) as store:
            forum_listing = store.listings.by_key("bbs_data", "101")
            actor_id = store.actor_reads.listing_actor(forum_listing["id"])["actor_id"]
        watched = heishi("actor", "watch", str(actor_id), "--db", str(db), "--by", "ana", env=env)
        assert watched.returncode == 0, watched.stderr
        forum.pages.update(forum_pages([101, 102, 103]))
        tg.pages.update(channel_pages([*MESSAGES, DAY_TWO_MESSAGE]))
        sweep("bbs_data")
        sweep("tg_data")
    sends = [heishi("notify", "send", "--db", str(db), env=env) for _ in range(2)]
    assert all(s.returncode == 0 for s in sends), [s.stderr for s in sends]
    yield {"db": db, "env": env, "actor_id": actor_id, "receiver": receiver, "home": home}
    receiver.stop()


def actor_of(store, source: str, site_id: str) -> int:
    return store.actor_reads.listing_actor(store.listings.by_key(source, site_id)["id"])["actor_id"]


def test_one_seller_on_two_sources_is_one_actor_and_strangers_are_not_merged(world):
    with open_store(world["db"], readonly=True) as store:
        laowang = actor_of(store, "bbs_data", "101")
        assert laowang == world["actor_id"] == actor_of(store, "tg_data", "11")
        aliases = {(s["source"], s["handle"]) for s in store.actor_reads.actor_sellers(laowang)}
        assert aliases == {("bbs_data", "老王"), ("tg_data", "数据日报")}
        (link,) = store.actor_reads.actor_links(laowang)
        assert (link["reason"], link["contact_kind"], link["contact_value"]) == (
            "contact",
            "telegram",
            "laowang_data",
        )
        aqiang = actor_of(store, "bbs_data", "102")
        assert aqiang != laowang and actor_of(store, "bbs_data", "103") == aqiang
        assert [s["handle"] for s in store.actor_reads.actor_sellers(aqiang)] == ["阿强"]
        # The forum seller's profile block counted: its QQ number is one of the actor's contacts.
        contacts = {(c["kind"], c["value"]) for c in store.actor_reads.actor_contacts(laowang)}
        assert {
            ("telegram", "laowang_data"),
            ("qq", "88664422"),
            ("telegram", "shuju_daily"),
        } <= contacts
        origins = dict(
            store.conn.execute(
                "SELECT c.value, lc.origin FROM listing_contacts lc JOIN contacts c "
                "ON c.id = lc.contact_id WHERE c.kind = 'qq'"
            ).fetchall()
        )
        assert origins == {"88664422": "profile"}


def test_a_watched_actor_alerts_once_on_its_next_listing_through_the_webhook(world):
    with open_store(world["db"], readonly=True) as store:
        (seen,) = store.alerts.where(Filters(kind="actor_seen"))
        assert seen["listing_id"] == store.listings.by_key("tg_data", "13")["id"]
        assert "watched actor" in seen["summary"] and "老王 on bbs_data" in seen["summary"]
    received = world["receiver"].received
    assert len(received) == 1, received  # two drains, one delivery; 阿强's new thread: none
    message = received[0]["json"]
    assert "watched actor seen" in message["title"]
    assert f":alert:{seen['id']}:watch:0" in received[0]["headers"]["X-Heishi-Idempotency-Key"]


def test_the_command_line_lists_and_shows_the_actor(world):
    env, db = world["env"], str(world["db"])
    listed = heishi("actors", "--db", db, "--json", "--min-aliases", "2", env=env)
    assert listed.returncode == 0, listed.stderr
    (actor,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert actor["actor_id"] == world["actor_id"] and actor["sellers"] == 2
    assert actor["source_names"].split(",") == ["bbs_data", "tg_data"]
    by_contact = heishi(
        "actors", "--db", db, "--json", "--contact", "TELEGRAM:LaoWang_Data", env=env
    )
    assert [json.loads(line)["actor_id"] for line in by_contact.stdout.splitlines()] == [
        world["actor_id"]
    ]
    shown = heishi("actor", "show", str(world["actor_id"]), "--db", db, "--json", env=env)
    profile = json.loads(shown.stdout)
    assert {a["handle"] for a in profile["aliases"]} == {"老王", "数据日报"}
    assert {c["category"] for c in profile["categories"]} >= {"identity"}
    assert profile["watches"][0]["created_by"] == "ana"
    assert {a["kind"] for a in profile["alerts"]} >= {"new", "actor_seen"}
    people = heishi("actor", "show", str(world["actor_id"]), "--db", db, env=env)
    assert "老王" in people.stdout and "数据日报" in people.stdout
    assert "shared contact telegram:laowang_data" in people.stdout.replace("\n", " ").replace(
        "│", ""
    )


def test_datasette_canned_queries_show_the_actor_and_the_shared_contact(world):
    port = _free_port()
    process = subprocess.Popen(
        [*HEISHI, "datasette", "--db", str(world["db"]), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=world["env"],
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(base, process), 30, "datasette", interval=0.2)
        top = _get(base, "/heishi/top_actors_by_alerts.json", _shape="array")
        assert top[0]["actor_id"] == world["actor_id"] and top[0]["sellers"] == 2
        assert {"老王 @ bbs_data", "数据日报 @ tg_data"} == set(top[0]["aliases"].split(", "))
        several = _get(base, "/heishi/contacts_on_several_sources.json", _shape="array")
        assert [(c["kind"], c["value"], c["sources"]) for c in several] == [
            ("telegram", "laowang_data", 2)
        ]
        listings = _get(
            base,
            "/heishi/contact_listings.json",
            kind="telegram",
            value="laowang_data",
            _shape="array",
        )
        assert {r["source"] for r in listings} == {"bbs_data", "tg_data"}
        links = _get(base, "/heishi/actor_links.json", actor_id=world["actor_id"], _shape="array")
        assert [(r["reason"], r["shared"]) for r in links] == [("contact", "telegram:laowang_data")]
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_stix_and_misp_exports_name_the_actor_behind_the_offers(world):
    import stix2
    from pymisp import MISPEvent

    env, db = world["env"], str(world["db"])
    done = heishi("export", "--db", db, "--format", "stix", "--what", "listings", env=env)
    bundle = stix2.parse(done.stdout, allow_custom=False)
    actors = {o.name: o for o in bundle.objects if o.type == "threat-actor"}
    assert set(actors) == {"老王", "阿强"} or set(actors) == {"数据日报", "阿强"}
    laowang = next(a for a in actors.values() if "阿强" not in a.aliases)
    assert set(laowang.aliases) == {"老王", "数据日报"}
    attributed = {
        r.target_ref
        for r in bundle.objects
        if r.type == "relationship" and r.source_ref == laowang.id
    }
    identities = {o.id: o for o in bundle.objects if o.type == "identity"}
    assert {identities[i].name for i in attributed} == {"老王", "数据日报"}
    indicated = [
        r for r in bundle.objects if r.type == "relationship" and r.relationship_type == "indicates"
    ]
    assert sum(r.target_ref == laowang.id for r in indicated) >= 2  # the forum and channel offers
    done = heishi("export", "--db", db, "--format", "misp", "--what", "listings", env=env)
    event = MISPEvent()
    event.load(done.stdout)
    accounts = {o.get_attributes_by_relation("username")[0].value: o for o in event.objects}
    assert set(accounts) == {"老王", "数据日报", "阿强"}
    linked = {
        r.referenced_uuid
        for o in accounts.values()
        for r in o.references
        if "same actor" in r.comment
    }
    assert linked & {accounts["老王"].uuid, accounts["数据日报"].uuid}
    assert accounts["阿强"].uuid not in linked


def test_the_actor_page_in_chromium(world, chromium):
    from monitor.web.auth import hash_password

    db = world["db"]
    with open_store(db) as store:
        store.review.add_user(REVIEWER, "reviewer", hash_password(PASSWORD), now=utc_now())
        forum_alert = [
            a for a in store.alerts.where(Filters(source="bbs_data")) if a["kind"] == "new"
        ]
        alert_id = next(a["id"] for a in forum_alert if a["title"] == "出售 身份证 四件套")
    with Server(db) as url:
        page = chromium.new_context(viewport={"width": 1400, "height": 900}).new_page()
        page.set_default_timeout(10_000)
        violations = []
        page.on(
            "console",
            lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.goto(url + f"/alerts/{alert_id}")
        page.fill("input[name=name]", REVIEWER)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"**/alerts/{alert_id}")
        assert "2 aliases" in page.locator("#actor-link").inner_text()
        page.click("#actor-link")
        page.wait_for_url(f"**/actors/{world['actor_id']}")
        assert page.locator("#actor-name").inner_text().split()[0] in ("老王", "数据日报")
        aliases = page.locator("#aliases tbody tr td:first-child").all_inner_texts()
        assert set(aliases) == {"老王", "数据日报"}
        graph = page.locator("#links svg.link-graph")
        assert graph.locator("g.node-seller").count() == 2
        assert graph.locator("g.node-contact text").all_text_contents() == ["telegram:laowang_data"]
        assert "shared contact telegram:laowang_data" in page.locator("#links table").inner_text()
        assert "qq:88664422" in page.locator("#contacts").inner_text()
        assert "this actor" in page.locator("#watches").inner_text()  # ana's watch
        assert page.locator("#triage-state .status").count() >= 1
        assert page.locator("#activity svg rect").count() >= 1
        # A reviewer watches one of its contacts: a form with its CSRF token, then back here.
        page.locator("#contacts tr", has_text="qq:88664422").locator("button").click()
        page.wait_for_url(f"**/actors/{world['actor_id']}#watches")
        assert "contact qq:88664422" in page.locator("#watches").inner_text()
        # The other seller is an actor of its own, and the list shows both.
        page.goto(url + "/actors")
        rows = page.locator("#actors tbody tr")
        assert rows.count() == 2
        page.locator("#actors a", has_text="阿强").click()
        assert "nothing links it" in page.locator("#links").inner_text()
        assert violations == []
        page.context.close()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(base: str, path: str, **params):
    query = ("?" + urllib.parse.urlencode(params)) if params else ""
    with urllib.request.urlopen(f"{base}{path}{query}", timeout=10) as response:
        return json.loads(response.read())


def _answers(base: str, process: subprocess.Popen) -> bool:
    """Is datasette up? Fails at once if it has exited."""
    if process.poll() is not None:
        pytest.fail(f"datasette did not start: {process.stdout.read().decode()}")
    try:
        _get(base, "/-/versions.json")
    except (urllib.error.URLError, ConnectionError):
        return False
    return True
