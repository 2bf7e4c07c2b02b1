"""Listing text built to make regexes backtrack: the matcher's work grows linearly with it
(ratios of times at n and 4n characters, never absolute times), a real crawl of a page with
30,000 digits costs what a page of 30,000 letters costs, keyword files cannot bring an
unbounded or ambiguous pattern back, and the matcher reads a bounded prefix of a huge text."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import time

import pytest

from benchmarks.worst_case import CASES, seconds
from monitor.config import PROJECT_ROOT
from monitor.demo.local_server import LocalServer, html_page
from monitor.errors import ConfigError, KeywordFileError
from monitor.matching.keywords import load_keywords
from monitor.matching.matcher import Matcher, load_matcher
from tests.servers import run_crawl, telegram_page, write_site

N = 2_000
# Time at 4n over time at n: linear work is 4x, quadratic 16x. Generous for a loaded machine.
MAX_GROWTH = 9.0


def growth(call, text_of, n: int = N) -> float:
    """t(4n) / t(n), measured again once when the first measure looks superlinear (noise)."""
    ratio = math.inf
    for _ in range(2):
        small, large = seconds(call, text_of(n)), seconds(call, text_of(4 * n))
        ratio = min(ratio, large / small)
        if ratio <= MAX_GROWTH:
            break
    return ratio


@pytest.fixture(scope="module")
def uncapped():
    """The shipped matcher without its length cap: the work itself is measured."""
    loaded = load_matcher()
    matcher = Matcher(loaded.keywords, loaded.threshold, loaded.segmenter, max_chars=None)
    matcher.match("", "出售 身份证 3000元")
    return matcher


@pytest.mark.parametrize("case", sorted(CASES))
def test_full_analysis_grows_linearly_on_hostile_text(uncapped, case):
    ratio = growth(lambda text: uncapped.match("", text, first_pass=False), CASES[case])
    assert ratio < MAX_GROWTH, f"{case}: {ratio:.1f}x for 4x the text"


def test_every_pattern_alone_grows_linearly(uncapped):
    """Each keyword pattern and each extraction regex by itself, on every hostile string."""
    from monitor.matching import extract

    patterns = [p.regex for p in uncapped.keywords.patterns]
    patterns += [v for v in vars(extract).values() if isinstance(v, re.Pattern)]
    assert len(patterns) > 15

    def scan(text: str) -> None:
        for pattern in patterns:
            for _ in pattern.finditer(text):
                pass

    slow = {}
    for case, text_of in CASES.items():
        ratio = growth(scan, text_of)
        if ratio >= MAX_GROWTH:
            slow[case] = round(ratio, 1)
    assert slow == {}


CHANNEL_SITE = """
name = "digits_channel"
kind = "channel"
start_urls = ["${FIXTURE_URL}/s/digits"]
max_pages = 1
network = { allow_private = true }
"""


def crawl_seconds(tmp_path, filler: str) -> float:
    """A real crawl, into a real store, of a channel whose one listing carries `filler`."""
    messages = [
        {"id": 1, "text": "出售 身份证 四件套 价格 30U 可测\n" + filler},
        {"id": 2, "text": "出售 手机号 实名 料 1万条800"},
    ]
    pages = {"/s/digits": html_page(telegram_page("digits", messages, before=None))}
    sites = tmp_path / "sites"
    write_site(sites, "digits_channel", CHANNEL_SITE)
    run_dir = tmp_path / filler[:1]
    run_dir.mkdir()
    with LocalServer(pages) as server:
        started = time.perf_counter()
        run = run_crawl(
            "digits_channel",
            run_dir,
            sites_dir=sites,
            env={"FIXTURE_URL": server.url},
            db=run_dir / "heishi.db",
            timeout=600,
        )
        elapsed = time.perf_counter() - started
    assert run.returncode == 0, run.stderr[-3000:]
    assert sorted(run.by_id()) == ["1", "2"]
    return elapsed


def test_a_crawled_listing_of_30000_digits_costs_what_30000_letters_cost(tmp_path):
    letters = crawl_seconds(tmp_path, "a" * 30_000)
    digits = crawl_seconds(tmp_path, "1" * 30_000)
    # Both are mostly start-up (Scrapy, the matcher); quadratic matching made digits 10x.
    assert digits < 2.5 * letters, (digits, letters)


def test_keywords_test_on_40000_digits_returns_promptly():
    from tests.test_cli import heishi

    started = time.perf_counter()
    result = heishi("keywords", "test", "1" * 40_000, "--json")
    assert result.returncode == 0, result.stderr
    assert time.perf_counter() - started < 60  # was minutes: quadratic in the digits
    assert "text cut" not in result.stdout  # under the default cap: all of it was read


@pytest.mark.parametrize(
    "regex, problem",
    [
        (r"\d+个号", "unbounded"),
        (r"[a-z]{2,}@", "unbounded"),
        (r"x\d{1,99}", "longer than 50"),
        (r"\d{1,40}[\s,]{0,40}\d{0,40}元", "ambiguous"),
        (r"(?:a|ab){1,20}c", "ambiguous"),
        (r"(\d+,?)+$", "nested"),
    ],
)
def test_keyword_file_patterns_that_can_backtrack_are_refused_with_file_and_line(
    tmp_path, regex, problem
):
    keywords = tmp_path / "keywords"
    keywords.mkdir()
    (keywords / "ok.toml").write_text('category = "identity"\n[terms]\n"身份证" = 2.0\n')
    (keywords / "evil.toml").write_text(
        f'category = "identity"\n[patterns]\n"evil" = {{ regex = \'{regex}\' }}\n'
    )
    with pytest.raises(KeywordFileError, match=r"evil\.toml:3") as info:
        load_keywords(keywords, use_cache=False)
    assert problem in str(info.value)


def test_the_matcher_reads_a_bounded_prefix_and_says_so(monkeypatch):
    loaded = load_matcher()
    capped = Matcher(loaded.keywords, loaded.threshold, loaded.segmenter, max_chars=1_000)
    text = "出售 身份证 四件套 价格 800元 可测 " + "1" * 200_000
    result = capped.match("", text, first_pass=False)
    assert result.alert  # what the prefix holds is still found
    assert "text cut to its first 1,000 of 200,022 characters" in result.reasons
    short = capped.match("", "出售 身份证 四件套 价格 800元", first_pass=False)
    assert not any("cut to" in reason for reason in short.reasons)

    from monitor.matching.matcher import DEFAULT_MAX_CHARS, max_chars

    monkeypatch.delenv("HEISHI_MATCH_MAX_CHARS", raising=False)
    assert max_chars() == DEFAULT_MAX_CHARS
    monkeypatch.setenv("HEISHI_MATCH_MAX_CHARS", "0")
    assert max_chars() == 0  # no cap
    monkeypatch.setenv("HEISHI_MATCH_MAX_CHARS", "lots")
    with pytest.raises(ConfigError, match="HEISHI_MATCH_MAX_CHARS"):
        max_chars()


def test_the_benchmark_runs_and_reports_growth_per_doubling():
    result = subprocess.run(
        # One timing of each size: what is checked here is the report, not the figures.
        [sys.executable, "-m", "benchmarks.worst_case", "--n", "500", "--runs", "1", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=PROJECT_ROOT,
    )
    assert result.stdout, result.stderr
    report = json.loads(result.stdout)
    assert set(report["stages"]) == {"matcher (full analysis)", "PII masking", "notification text"}
    for stage in report["stages"].values():
        assert set(stage["cases"]) == set(CASES)
