"""`heishi demo` end to end: real demo servers, real crawl processes, real Chromium, a real
store. The alerts it must raise come from the demo sites' own ground truth."""

from __future__ import annotations

import io
import json
import sqlite3

import pytest
from rich.console import Console

from monitor.demo import content
from monitor.demo.run import DEMO_SOURCES, run_demo

# The demo runs once per session (tests/conftest.py): its users share one worker.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.xdist_group("demo"),
]

SITE_OF = {"demo_forum": "forum", "demo_market": "market", "demo_channel": "channel"}


@pytest.fixture
def demo(demo_run):
    """The session's demo run (tests/conftest.py): what it found and what it printed."""
    return demo_run.result, demo_run.output


def alerts_of(result, day, kind):
    found = set()
    for alert in result.days[day - 1].alerts:
        if alert["kind"] == kind:
            found.add((alert["source"], alert["site_id"]))
    return found


def expected(site_source, day_from, day_to, what):
    site = SITE_OF[site_source]
    changes = content.expected_changes(site, day_from, day_to)
    return {(site_source, str(site_id)) for site_id in changes[what] if is_listing(site, site_id)}


def is_listing(site, site_id):
    return content.entry(site, site_id)["label"] == 1


def test_demo_sweeps_every_source_each_day_and_the_down_one_fails(demo):
    result, _ = demo
    assert [d.day for d in result.days] == [1, 2, 3]
    for day in result.days:
        statuses = {r.source: r.status for r in day.results}
        for source in statuses:
            down = content.site_down(SITE_OF[source], day.day)
            assert statuses[source] == ("failed" if down else "ok"), (day.day, source, statuses)


def test_day_one_alerts_every_listing_and_no_hard_negative(demo):
    result, _ = demo
    new = alerts_of(result, 1, "new")
    listings = set()
    negatives = set()
    for source, site in SITE_OF.items():
        for entry in content.entries(site, day=1):
            (listings if entry["label"] == 1 else negatives).add((source, str(entry["site_id"])))
    missed = listings - new
    assert len(missed) <= max(1, len(listings) // 20), f"missed listings: {sorted(missed)}"
    assert not (new & negatives), f"hard negatives alerted: {sorted(new & negatives)}"


def test_day_two_changes_removals_and_additions_are_alerted(demo):
    result, _ = demo
    for source in ("demo_forum", "demo_market"):
        assert expected(source, 1, 2, "changed") <= alerts_of(result, 2, "changed")
        assert expected(source, 1, 2, "removed") <= alerts_of(result, 2, "removed")
        assert expected(source, 1, 2, "new") <= alerts_of(result, 2, "new")
    failing = [a for a in result.days[1].alerts if a["kind"] == "source_failing"]
    assert [a["source"] for a in failing] == ["demo_channel"]


def test_changed_alerts_carry_the_field_diff(demo):
    result, _ = demo
    changed = [a for a in result.days[1].alerts if a["kind"] == "changed"]
    assert changed
    for alert in changed:
        diff = json.loads(alert["diff"])
        assert diff, alert
        assert all(old != new for old, new in diff.values())
    price_or_volume = [
        a for a in changed if {"price_text", "volume_text"} & set(json.loads(a["diff"]))
    ]
    assert len(price_or_volume) >= 3


def test_day_three_relists_the_listing_that_came_back(demo):
    result, _ = demo
    for source in ("demo_forum", "demo_market"):
        assert expected(source, 2, 3, "relisted") <= alerts_of(result, 3, "relisted")
    relisted = set().union(*(expected(s, 2, 3, "relisted") for s in ("demo_forum", "demo_market")))
    assert relisted, "the demo must bring one removed listing back on day 3"


def test_down_source_loses_nothing(demo):
    result, _ = demo
    with sqlite3.connect(result.db) as conn:
        removed = conn.execute(
            "SELECT count(*) FROM listings WHERE source = 'demo_channel' AND status = 'removed'"
        ).fetchone()
        assert removed == (0,)
        health = conn.execute("SELECT health FROM sources WHERE name = 'demo_channel'").fetchone()
        assert health == ("ok",)  # back on day 3


def test_personal_data_is_never_in_clear_in_the_store(demo):
    result, _ = demo
    clear = set()
    for site in SITE_OF.values():
        for entry in content.entries(site, day=1) + content.entries(site, day=3):
            clear |= set(content.personal_numbers(entry))
    assert clear, "the demo content must quote some personal data to mask"
    raw = result.db.read_bytes()
    for suffix in ("-wal",):
        path = result.db.with_name(result.db.name + suffix)
        if path.exists():
            raw += path.read_bytes()
    leaked = [number for number in clear if number.encode() in raw]
    assert not leaked
    with sqlite3.connect(result.db) as conn:
        assert conn.execute("SELECT count(*) FROM pii_hashes").fetchone()[0] > 0


def test_demo_output_shows_sweeps_and_alert_groups(demo):
    result, out = demo
    assert str(result.db) in out.replace("\n", "")
    for heading in (
        "Day 1: sweep",
        "New listings",
        "Changed listings",
        "Removed listings",
        "Relisted listings",
        "Sources failing",
    ):
        assert heading in out
    assert "->" in out
    assert {s.name for s in DEMO_SOURCES} == set(SITE_OF)


def summary(result):
    """What a demo run found, without ids or times: per day, the runs and the alerts."""
    days = []
    for day in result.days:
        runs = sorted((r.source, r.status, (r.run or {}).get("items")) for r in day.results)
        alerts = sorted(
            (a["kind"], a["source"], a["site_id"] or "", a["severity"]) for a in day.alerts
        )
        days.append((day.day, runs, alerts))
    return days


def test_a_second_demo_run_gives_the_same_result(demo, tmp_path):
    """Day 1 again, in a new store: every listing of the three sites crawled (three crawls at
    once, one through Chromium), matched and alerted from scratch, as in the first run. Days
    2 and 3 are the same crawls over the same servers; the tests above check their alerts."""
    first, _ = demo
    second = run_demo(
        tmp_path / "again.db", console=Console(file=io.StringIO(), width=100), days=(1,)
    )
    assert summary(second) == summary(first)[:1]
