"""`python -m benchmarks`: a real quick run (real crawls, a real local site, real Chromium)
prints one table of figures and writes them as JSON; the next run shows the change."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.servers import PROJECT_ROOT


def run_benchmarks(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.mark.slow
def test_quick_run_prints_one_table_and_writes_numbers_as_json(tmp_path):
    results = tmp_path / "results"
    run = run_benchmarks("--only", "matcher,crawl,startup", "--results", str(results))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = run.stdout
    for metric in (
        "texts/s, forum (90% chatter)",
        "sweep pages/s, 100 pages, new store",
        "peak memory, sweep without browser",
        "peak memory, browser sweep + Chromium (PSS)",
        "heishi --help start-up",
    ):
        assert metric in out
    assert "bare Scrapy spider" in out and "bare jieba.lcut" in out
    summary = json.loads((results / "summary.json").read_text())
    assert [b["name"] for b in summary["benchmarks"]] == ["matcher", "crawl", "startup"]
    assert summary["environment"]["cpus"] >= 1
    for name in ("matcher", "crawl", "startup"):
        data = json.loads((results / f"{name}.json").read_text())
        assert data["name"] == name and data["rows"]
        for row in data["rows"]:
            assert isinstance(row["value"], float) and row["value"] > 0, row
            if row["baseline"] is not None:
                assert row["ratio"] == round(row["value"] / row["baseline"], 3)
    crawl = json.loads((results / "crawl.json").read_text())["details"]
    # Both crawls fetched the whole site (2 board pages + 100 threads); the browser rendered.
    assert crawl["heishi"]["pages"] == crawl["bare"]["pages"] == 102
    assert crawl["heishi"]["items"] == 100
    assert crawl["browser"]["rendered_pages"] >= 1
    assert crawl["browser"]["tree_peak_processes"] > 1  # Chromium's processes were counted

    # A second run compares each figure with the first one's.
    again = run_benchmarks("--only", "startup", "--results", str(results))
    assert again.returncode == 0, again.stderr[-3000:]
    startup_line = next(line for line in again.stdout.splitlines() if "start-up" in line)
    assert "new" not in startup_line and "%" in startup_line


def test_a_benchmark_without_bench_shows_as_not_available_and_a_failing_one_as_error(
    tmp_path, monkeypatch
):
    from rich.console import Console

    from benchmarks.__main__ import run_benchmark
    from benchmarks.table import build_table

    absent = run_benchmark("search", quick=True, module_name="benchmarks.no_such_module")
    assert absent["status"] == "not available" and "does not exist" in absent["reason"]
    no_bench = run_benchmark("store", quick=True, module_name="benchmarks.table")
    assert no_bench["status"] == "not available" and "no bench" in no_bench["reason"]
    # Benchmark modules of our own making: one raises, one returns no rows.
    (tmp_path / "bench_raises.py").write_text(
        "def bench(quick=False):\n    raise RuntimeError('the site is down')\n"
    )
    (tmp_path / "bench_empty.py").write_text(
        "def bench(quick=False):\n    return {'name': 'empty', 'rows': []}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    raised = run_benchmark("crawl", quick=True, module_name="bench_raises")
    assert raised["status"] == "error" and "the site is down" in raised["reason"]
    empty = run_benchmark("matcher", quick=True, module_name="bench_empty")
    assert empty["status"] == "error" and "no 'rows'" in empty["reason"]

    console = Console(width=200, record=True)
    console.print(build_table([absent, no_bench, raised], {}))
    text = console.export_text()
    assert text.count("NOT AVAILABLE") == 2 and text.count("ERROR") == 1


def test_unknown_benchmark_names_are_refused():
    run = run_benchmarks("--only", "nonsense")
    assert run.returncode != 0
    assert "unknown benchmark nonsense" in run.stderr


def test_the_benchmarks_run_without_the_tests_package():
    """`heishi bench` is installed; the tests are not: the benchmarks' local site comes from
    monitor/demo/, and no benchmark or library module imports `tests`."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    importing = re.compile(r"^\s*(from tests[.\s]|import tests\b)", re.M)
    offenders = [
        str(path.relative_to(root))
        for top in ("benchmarks", "monitor", "spiders")
        for path in (root / top).rglob("*.py")
        if importing.search(path.read_text(encoding="utf-8"))
    ]
    assert not offenders
    # The crawl benchmark's site, served and fetched, with `tests` unimportable.
    code = (
        "import sys, urllib.request; sys.modules['tests'] = None\n"
        "from benchmarks.crawl_site import BOARD_PATH, site_pages\n"
        "from monitor.demo.local_server import LocalServer\n"
        "with LocalServer(site_pages(30)) as server:\n"
        "    body = urllib.request.urlopen(server.url + BOARD_PATH).read().decode('gb18030')\n"
        "print(body.count('normalthread_'))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=root
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert int(run.stdout) >= 20


def test_the_summary_keeps_the_latest_figures_of_benchmarks_not_run_this_time(tmp_path):
    from benchmarks import table

    def result(name: str, value: float) -> dict:
        return {"name": name, "rows": [table.row("texts/s", value, "texts/s")]}

    earlier = {**result("store", 1.0), "environment": {"when": "earlier"}}
    (tmp_path / "store.json").write_text(json.dumps(earlier))
    (tmp_path / "search.json").write_text("not json")  # a broken file is left out, not fatal
    order = ("matcher", "store", "search")
    summary = json.loads(
        table.write_results([result("matcher", 2.0)], tmp_path, {"when": "now"}, order).read_text()
    )
    assert [(b["name"], b["environment"]["when"]) for b in summary["benchmarks"]] == [
        ("matcher", "now"),
        ("store", "earlier"),
    ]
    assert json.loads((tmp_path / "matcher.json").read_text())["rows"][0]["value"] == 2.0
