"""The three demo site files crawled against the real demo sites (monitor/demo), day by day,
and one crawl through every pipeline into a real store."""

from __future__ import annotations

import re
import sqlite3
import time
import urllib.request
from urllib.parse import quote

import pytest
from parsel import Selector

from monitor.demo import content
from monitor.sites.selectors import clean_text
from tests.servers import run_crawl


@pytest.fixture(scope="module")
def sites(demo_sites):
    return demo_sites


@pytest.fixture
def day(demo_day):
    return demo_day


def expected(site: str, day: int) -> dict[str, content.Entry]:
    return {e.site_id: e for e in content.live_entries(site, day)}


def assert_items_are_the_entries(items: dict, site: str, day: int) -> None:
    entries = expected(site, day)
    assert sorted(items, key=int) == sorted(entries, key=int)
    for site_id, item in items.items():
        shown = entries[site_id].version(day)
        assert item["text"] == clean_text(shown.text), site_id
        if site != "channel":
            assert item["title"] == clean_text(shown.title), site_id
            assert item["seller"] == entries[site_id].author, site_id


def test_demo_forum_is_read_across_its_board_pages(sites, tmp_path):
    run = run_crawl("demo_forum", tmp_path, env=sites.env())
    assert run.returncode == 0, run.stderr[-3000:]
    assert_items_are_the_entries(run.by_id(), "forum", 1)
    assert "heishi/reencoded/gb18030" not in run.stats  # honest GBK needs no help
    assert run.stats["response_received_count"] >= 3 + len(run.items)  # 3+ board pages


def test_demo_market_is_rendered_by_chromium(sites, tmp_path):
    with urllib.request.urlopen(f"{sites.urls['market']}/search?q={quote('数据')}") as page:
        raw = Selector(page.read().decode())
    assert not raw.css("div.item[data-id]")  # no listings without JavaScript
    started = time.monotonic()
    run = run_crawl("demo_market", tmp_path, env=sites.env())
    seconds = time.monotonic() - started
    assert run.returncode == 0, run.stderr[-3000:]
    assert_items_are_the_entries(run.by_id(), "market", 1)
    assert run.stats["playwright/page_count"] == 5  # one per search term
    print(
        f"demo_market crawl: {seconds:.1f} s wall, {run.stats['elapsed_time_seconds']:.1f} s crawl"
    )


def test_demo_channel_pages_back_and_fails_cleanly_when_down(sites, day, tmp_path):
    run = run_crawl("demo_channel", tmp_path, env=sites.env())
    assert run.returncode == 0, run.stderr[-3000:]
    assert_items_are_the_entries(run.by_id(), "channel", 1)
    assert run.stats["response_received_count"] >= 2  # the newest page and ?before=
    day(2)  # the channel answers 503 all day
    run = run_crawl("demo_channel", tmp_path, env=sites.env(), settings={"RETRY_TIMES": 1})
    assert run.returncode == 0
    assert run.items == []
    assert run.stats["heishi/list_page_errors"] == 1


def test_demo_forum_through_every_pipeline_into_the_store(sites, day, tmp_path):
    db = tmp_path / "heishi.db"
    first = run_crawl("demo_forum", tmp_path, env=sites.env(), db=db)
    assert first.returncode == 0, first.stderr[-3000:]
    day(2)
    second = run_crawl("demo_forum", tmp_path, env=sites.env(), db=db)
    assert second.returncode == 0, second.stderr[-3000:]
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        runs = [dict(r) for r in conn.execute("SELECT * FROM runs ORDER BY id")]
        listings = {r["site_id"]: dict(r) for r in conn.execute("SELECT * FROM listings")}
    assert [r["status"] for r in runs] == ["ok", "ok"]
    assert [r["source"] for r in runs] == ["demo_forum", "demo_forum"]
    assert runs[0]["items"] == len(expected("forum", 1))
    assert runs[1]["items"] == len(expected("forum", 2))
    changes = content.expected_changes("forum", 1, 2)
    removed = {k for k, v in listings.items() if v["status"] == "removed"}
    assert removed == set(changes["removed"])
    # Masked before storing: no phone number in clear anywhere in a stored text.
    assert first.stats["heishi/pii_masked"] > 0
    with sqlite3.connect(db) as conn:
        texts = [r[0] for r in conn.execute("SELECT text FROM listing_versions")]
    assert not any(re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", t or "") for t in texts)
