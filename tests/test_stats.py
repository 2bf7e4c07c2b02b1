"""The review desk's statistics, checked against a store of known alerts (tests/desk_store.py):
alerts per day by category, source, severity and status (in UTC and in Beijing days), confirm
and dismiss rates per source and keyword, reviewer throughput, time to first triage and
source health; the same figures from `heishi stats --json`, from Datasette's canned queries
(the same SQL, served by a real Datasette) and on the web page's SVG charts in Chromium."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from datetime import UTC, datetime

import pytest

from monitor.analysis.stats import collect
from monitor.store import open_store
from monitor.store.stats import CANNED_QUERIES
from tests.desk_store import EXPECTED, build_desk_store
from tests.helpers import HEISHI
from tests.web_server import Server, add_users, chromium_browser, log_in

SINCE = "2026-11-01T00:00:00Z"
NOW = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def desk_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("stats") / "heishi.db"
    build_desk_store(db)
    add_users(db)
    return db


def figures(db, timezone):
    with open_store(db, readonly=True) as store:
        return collect(store, since=SINCE, timezone=timezone, now=NOW)


def test_alerts_per_day_by_every_dimension_in_utc_and_in_beijing(desk_db):
    utc = figures(desk_db, "UTC")
    assert utc.utc_offset_minutes == 0 and utc.total == 6
    assert utc.per_day == EXPECTED["per_day_utc"]
    assert utc.days == ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05"]
    for dimension in ("source", "severity", "status", "category"):
        assert utc.totals[dimension] == EXPECTED[f"by_{dimension}"], dimension
        for value, total in EXPECTED[f"by_{dimension}"].items():
            assert sum(utc.by_day[dimension][value].values()) == total
    beijing = figures(desk_db, "Asia/Shanghai")
    assert beijing.utc_offset_minutes == 480
    assert beijing.per_day == EXPECTED["per_day_beijing"]
    # f2 was raised at 20:00 UTC on 11-01: 04:00 on 11-02 in Beijing
    assert beijing.by_day["severity"]["critical"] == {"2026-11-02": 1}
    assert utc.by_day["severity"]["critical"] == {"2026-11-01": 1}
    later = collect(
        open_store(desk_db, readonly=True), since="2026-11-02T04:00:00Z", timezone="UTC", now=NOW
    )
    assert later.total == 3  # m1, m2 and f1's change


def test_confirm_and_dismiss_rates_per_source_and_keyword(desk_db):
    stats = figures(desk_db, "UTC")
    by_source = {v.name: (v.alerts, v.confirmed, v.dismissed) for v in stats.verdicts_by_source}
    assert by_source == EXPECTED["verdicts_by_source"]
    assert {v.name: v.dismiss_rate for v in stats.verdicts_by_source} == {
        "forum_a": 0.0,
        "market_b": 1.0,
    }
    by_keyword = {v.name: (v.alerts, v.confirmed, v.dismissed) for v in stats.verdicts_by_keyword}
    assert by_keyword == EXPECTED["verdicts_by_keyword"]
    rates = {v.name: v.dismiss_rate for v in stats.verdicts_by_keyword}
    assert rates["身份证"] == 0.5 and rates["裤子"] == 1.0 and rates["快递"] is None
    # most dismissed first: the rules that cost reviewers time lead
    assert [v.name for v in stats.verdicts_by_keyword][:3] == ["身份证", "手机号", "裤子"]
    assert stats.dismiss_reasons == {"false_positive": 1, "news_or_warning": 1}


def test_reviewer_throughput_and_time_to_first_triage(desk_db):
    stats = figures(desk_db, "UTC")
    reviewers = {r.name: (r.actions, r.by_status) for r in stats.reviewers}
    assert reviewers == EXPECTED["reviewers"]
    wang = next(r for r in stats.reviewers if r.name == "王芳")
    assert wang.per_day == {"2026-11-02": 2, "2026-11-03": 1}
    assert wang.first_triages == 2 and wang.median_first_triage_seconds == (3600 + 14400) / 2
    first = stats.first_triage
    assert first.triaged == 4 and first.untriaged == EXPECTED["untriaged"]
    assert first.median_seconds == EXPECTED["first_triage_median"]
    assert first.p90_seconds == 14400
    assert first.by_severity == {"critical": 7200, "high": 3600, "low": 14400}


def test_source_health_per_day(desk_db):
    stats = figures(desk_db, "UTC")
    health = {
        s.source: [
            (d["day"], d["runs"], d["ok"], d["failed"], d["items"], d["errors"]) for d in s.days
        ]
        for s in stats.source_health
    }
    assert health == EXPECTED["health"]
    forum = next(s for s in stats.source_health if s.source == "forum_a")
    assert (forum.runs, forum.ok, forum.failed, forum.items, forum.errors) == (3, 2, 1, 6, 2)


def test_days_are_cut_in_heishi_time_zone_and_the_old_name_still_works(desk_db, monkeypatch):
    monkeypatch.setenv("HEISHI_TIMEZONE", "UTC")  # the deprecated name of the same setting
    assert figures(desk_db, None).utc_offset_minutes == 0
    monkeypatch.setenv("HEISHI_TIME_ZONE", "Asia/Shanghai")  # the setting's name wins
    beijing = figures(desk_db, None)
    assert (beijing.timezone, beijing.utc_offset_minutes) == ("Asia/Shanghai", 480)
    assert beijing.per_day == EXPECTED["per_day_beijing"]


@pytest.mark.slow
def test_cli_prints_the_figures_as_json_and_as_tables(desk_db):
    def heishi(*args):
        return subprocess.run(
            [*HEISHI] + ["stats", "--db", str(desk_db), "--since", "2026-11-01", *args],
            capture_output=True,
            text=True,
            env={**os.environ, "COLUMNS": "100"},
            timeout=120,
        )

    result = heishi("--tz", "Asia/Shanghai", "--json")
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert stats["per_day"] == EXPECTED["per_day_beijing"]
    assert stats["first_triage"]["median_seconds"] == EXPECTED["first_triage_median"]
    assert {v["name"]: v["dismissed"] for v in stats["verdicts_by_source"]} == {
        "market_b": 2,
        "forum_a": 0,
    }
    text = heishi("--tz", "UTC")
    assert text.returncode == 0, text.stderr
    assert "6 alert(s) since 2026-11-01T00:00:00Z (days in UTC)" in text.stdout
    assert "first triage after 1h30m (median), 4h (90%); 2 not triaged yet" in text.stdout
    assert "裤子" in text.stdout and "100%" in text.stdout
    bad = heishi("--tz", "Mars/Olympus")
    assert bad.returncode == 2 and "'Mars/Olympus' is not a time zone" in bad.stderr


# --- Datasette's canned queries --------------------------------------------------------


def test_datasettes_stats_queries_are_the_same_sql(desk_db):
    from monitor.datasette import METADATA_PATH

    shipped = json.loads(METADATA_PATH.read_text(encoding="utf-8"))["databases"]["heishi"]
    for name, (title, _, sql) in CANNED_QUERIES.items():
        assert shipped["queries"][name]["sql"] == sql, name
        assert shipped["queries"][name]["title"] == title
    # the SQL alone, through plain sqlite3 as any client runs it
    with sqlite3.connect(desk_db) as conn:
        rows = conn.execute(
            CANNED_QUERIES["stats_alerts_per_day"][2], {"since": "", "utc_offset_minutes": ""}
        ).fetchall()
    per_day = defaultdict(int)
    for day, dimension, _, count in rows:
        if dimension == "source":
            per_day[day] += count
    assert dict(per_day) == EXPECTED["per_day_utc"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_datasette_serves_the_stats_queries(desk_db):
    port = free_port()
    process = subprocess.Popen(
        [*HEISHI] + ["datasette", "--db", str(desk_db), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/heishi"

    def rows(query: str, **params: str):
        params["_shape"] = "array"
        url = f"{base}/{query}.json?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.loads(response.read())

    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/-/versions.json", timeout=5)
                break
            except (urllib.error.URLError, ConnectionError):
                assert process.poll() is None and time.monotonic() < deadline, "no datasette"
                time.sleep(0.2)
        per_day = defaultdict(int)
        for row in rows("stats_alerts_per_day", since=SINCE, utc_offset_minutes="480"):
            if row["dimension"] == "severity":
                per_day[row["day"]] += row["alerts"]
        assert dict(per_day) == EXPECTED["per_day_beijing"]
        by_source = {
            r["source"]: (r["alerts"], r["confirmed"], r["dismissed"])
            for r in rows("stats_verdicts_by_source", since="")
        }
        assert by_source == EXPECTED["verdicts_by_source"]
        waits = [r["seconds"] for r in rows("stats_first_triage", since="") if r["seconds"]]
        assert sorted(waits) == sorted(EXPECTED["first_triage_seconds"])
        for name in CANNED_QUERIES:
            assert isinstance(rows(name, since="", utc_offset_minutes=""), list), name
    finally:
        process.terminate()
        process.wait(timeout=10)


# --- the web page ------------------------------------------------------------------------


@pytest.mark.browser
def test_statistics_page_draws_the_stores_figures(desk_db):
    with Server(desk_db) as url, chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.set_default_timeout(10_000)
        log_in(page, url, "vic", "/stats?since=2026-11-01&by=source")
        assert page.inner_text("[data-figure=total]") == "6"
        assert page.inner_text("[data-figure=dismiss-rate]") == "50%"
        assert page.get_attribute("[data-figure=median-wait]", "data-seconds") == "5400.0"
        assert page.inner_text("[data-figure=untriaged]") == "2"
        segments = page.eval_on_selector_all(
            "#per-day svg rect.seg",
            "rects => rects.map(r => [r.dataset.day, r.dataset.series, +r.dataset.value])",
        )
        per_day, per_source = defaultdict(int), defaultdict(int)
        for day, series, value in segments:
            per_day[day] += value
            per_source[series] += value
        assert dict(per_day) == EXPECTED["per_day_beijing"]
        assert dict(per_source) == EXPECTED["by_source"]
        market = page.inner_text("#by-source tr[data-source=market_b]")
        assert "100%" in market
        trousers = page.locator("#by-keyword tr[data-keyword=裤子] td")
        assert [trousers.nth(i).inner_text() for i in range(1, 4)] == ["1", "0", "1"]
        assert "王芳" in page.inner_text("#reviewers") and "2.5 h" in page.inner_text(
            "#reviewers tr[data-reviewer=王芳]"
        )
        assert page.locator("#health tr[data-source=forum_a] .bad-text").inner_text() == "1"
        page.click("#per-day .tabs a:has-text('by severity')")
        page.wait_for_url("**by=severity**")
        series = page.eval_on_selector_all(
            "#per-day svg rect.seg", "rects => rects.map(r => r.dataset.series)"
        )
        assert set(series) == set(EXPECTED["by_severity"])
        # a since that is neither a date nor a duration falls back to 30 days, and says so
        page.goto(url + "/stats?since=yesterday")
        assert "is not a date or a duration" in page.inner_text("main")
        page.close()


@pytest.mark.browser
def test_statistics_page_cuts_days_in_the_viewers_zone_and_speaks_their_language(desk_db):
    with open_store(desk_db) as store:
        store.desk.set_user_preferences("rita", time_zone="UTC", language="zh_CN")
    with Server(desk_db) as url, chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.set_default_timeout(10_000)
        log_in(page, url, "rita", "/stats?since=2026-11-01&by=severity")
        per_day = defaultdict(int)
        for day, value in page.eval_on_selector_all(
            "#per-day svg rect.seg", "rects => rects.map(r => [r.dataset.day, +r.dataset.value])"
        ):
            per_day[day] += value
        assert dict(per_day) == EXPECTED["per_day_utc"]  # rita's days, not Beijing's
        title = page.inner_text("h1")
        assert title.startswith("统计") and "按 UTC 时区分日" in title
        assert page.inner_text("#per-day .tabs [data-by=severity]") == "按严重程度"
        assert page.inner_text("#summary th >> nth=5") == "90% 的告警在此时长内处理"
        assert "王芳" in page.inner_text("#reviewers") and "2.5 小时" in page.inner_text(
            "#reviewers tr[data-reviewer=王芳]"
        )
        page.goto(url + "/stats?since=yesterday")
        assert "不是日期" in page.inner_text("main")
        page.goto(url + "/lookup")
        assert page.inner_text("h1") == "号码查询"
        page.close()
