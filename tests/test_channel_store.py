"""Telegram channels in the store: a message's extra fields kept with it, views kept as
observations per sweep (not versions) and shown in `heishi history` and as a chart on the
alert page, and a forwarded message tied to its origin (related listings, a repost alert)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess

import pytest

from monitor.demo.local_server import Page
from monitor.store import open_store, utc_now
from tests.helpers import HEISHI
from tests.markup_sites import MarkupSite, fixture_bytes
from tests.servers import PROJECT_ROOT, run_crawl, telegram_page, write_site

pytestmark = pytest.mark.browser

PASSWORD = "counter-chart-viewer-7"


def sweep(tmp_path, db, name, server):
    run = run_crawl(
        name, tmp_path, sites_dir=tmp_path / "sites", env={"FIXTURE_URL": server.url}, db=db
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run


def listing(store, source, site_id):
    return store.listings.by_key(source, site_id)


def test_views_are_observations_extra_is_kept_and_forwards_link_to_their_origin(tmp_path):
    db = tmp_path / "heishi.db"
    sites = tmp_path / "sites"
    for name, path in (("tg_origin", "/s/liaozi_pifa"), ("tg_daily", "/s/shuju_daily")):
        write_site(
            sites,
            name,
            f'name = "{name}"\nkind = "channel"\nstart_urls = ["${{FIXTURE_URL}}{path}"]\nmax_pages = 2\n'
            "network = { allow_private = true }\n",
        )
    channel = fixture_bytes("telegram", "s_channel.html")
    with MarkupSite("telegram") as server:
        # The channel the offer was forwarded from, with a message too short to match.
        origin = telegram_page("liaozi_pifa", [{"id": 377, "text": "今日批发价见置顶"}], None)
        server.pages["/s/liaozi_pifa"] = Page(origin.encode(), 200, {"Content-Type": "text/html"})
        sweep(tmp_path, db, "tg_origin", server)
        sweep(tmp_path, db, "tg_daily", server)
        # A day later the offers spread: more views, nothing else changed.
        later = channel.replace(b">12K</span>", b">15K</span>").replace(b">7.7K<", b">9.1K<")
        server.pages["/s/shuju_daily"] = Page(later, 200, {"Content-Type": "text/html"})
        sweep(tmp_path, db, "tg_daily", server)

    with open_store(db, readonly=True) as store:
        today = listing(store, "tg_daily", "62")
        forward = listing(store, "tg_daily", "85")
        quiet = listing(store, "tg_daily", "6")
        assert today["views"] == 15000 and forward["views"] == 9100
        # Counters moved, the listings did not: still one version each.
        assert today["version"] == 1 and forward["version"] == 1
        assert [o["views"] for o in store.observations.of_listing(today["id"])] == [12000, 15000]
        assert [o["views"] for o in store.observations.of_listing(forward["id"])] == [7700, 9100]
        never_moved = store.observations.of_listing(quiet["id"])
        assert [o["views"] for o in never_moved] == [2100]
        # extra: the forward, the signature, the edited flag, kept with listing and version.
        assert (
            json.loads(forward["extra"])["forwarded_from"]["url"] == "https://t.me/liaozi_pifa/377"
        )
        signed = listing(store, "tg_daily", "5")
        assert json.loads(signed["extra"]) == {"author_signature": "老王", "edited": True}
        assert json.loads(store.listings.versions(signed["id"])[0]["extra"])["edited"] is True
        # The forward and its origin are related, both ways, and one cluster.
        source = listing(store, "tg_origin", "377")
        related = store.review.related_listings(forward["id"])["forward"]
        assert [(r["id"], r["direction"]) for r in related] == [(source["id"], "from")]
        back = store.review.related_listings(source["id"])["forward"]
        assert [(r["id"], r["direction"]) for r in back] == [(forward["id"], "to")]
        assert forward["cluster_id"] == source["cluster_id"] == min(forward["id"], source["id"])
        reposted = [
            a for a in store.review.alerts_of_listing(forward["id"]) if a["kind"] == "reposted"
        ]
        assert len(reposted) == 1
        assert "forwarded from it" in store.review.alert(reposted[0]["id"])["summary"]
        # The lookups use their partial indexes.
        plan = " ".join(
            row[3]
            for row in store.conn.execute(
                "EXPLAIN QUERY PLAN SELECT id FROM listings l WHERE l.extra IS NOT NULL AND "
                "json_extract(l.extra, '$.forwarded_from.url') IS NOT NULL AND "
                "json_extract(l.extra, '$.forwarded_from.url') = ?",
                ("https://t.me/x/1",),
            )
        )
        assert "idx_listings_forwarded_from" in plan

    history = subprocess.run(
        [*HEISHI] + ["history", "tg_daily:62", "--db", str(db)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env={**os.environ, "COLUMNS": "160"},
        timeout=60,
    )
    assert history.returncode == 0, history.stderr
    assert "Counters" in history.stdout and "15000" in history.stdout
    assert "▁█" in history.stdout  # the views' trend

    with sqlite3.connect(db) as conn:
        alert = conn.execute(
            "SELECT id FROM alerts WHERE listing_id = ? ORDER BY id", (forward["id"],)
        ).fetchone()[0]
    page_html = _alert_page(db, alert)
    assert page_html.count('class="counter-chart"') == 1  # views only: t.me shows no replies
    assert "7,700 → 9,100" in page_html
    assert "its origin" in page_html and "tg_origin" in page_html


def _alert_page(db, alert_id: int) -> str:
    """The alert's page as a logged-in viewer's browser gets it."""
    from monitor.web.auth import hash_password
    from tests.web_server import Server

    with open_store(db) as store:
        store.review.add_user("viewer", "viewer", hash_password(PASSWORD), now=utc_now())
    from playwright.sync_api import sync_playwright

    from spiders.settings import PLAYWRIGHT_LAUNCH_OPTIONS

    with Server(db) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(**PLAYWRIGHT_LAUNCH_OPTIONS)
        try:
            page = browser.new_page()
            page.goto(f"{base}/alerts/{alert_id}")
            page.fill("input[name=name]", "viewer")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_selector("#counters svg.counter-chart circle")
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.reload()
            page.wait_for_selector("#counters svg.counter-chart")
            # (The sandboxed evidence page is refused what it links to: its CSP at work.) The
            # chart needs no inline style or script.
            refused = [e for e in errors if e.startswith(("Applying inline", "Executing inline"))]
            assert not refused, refused
            return page.content()
        finally:
            browser.close()
