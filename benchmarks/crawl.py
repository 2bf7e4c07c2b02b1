"""Crawl benchmark: sweep pages/s against a bare Scrapy spider, and a sweep's peak memory.

    python -m benchmarks.crawl [--threads 2000] [--quick]

1. A local Discuz! board of 2,000 thread pages (+40 board pages, GBK, benchmarks/crawl_site.py)
   on a ThreadingHTTPServer on 127.0.0.1, in this process.
2. heishi's real sweep of it: `python -m spiders.crawl bench_forum --db PATH` in a subprocess
   (site file in a temp HEISHI_SITES_DIR; every pipeline: mask, match, evidence, store), into
   a new store, then again into the same store (a repeat sweep: nearly everything unchanged).
3. The baseline: a bare Scrapy spider in a subprocess that fetches the same pages with the same
   concurrency (16), no AutoThrottle, no robots.txt, no delay, and only parses them.
4. A sweep with a browser: the demo marketplace (monitor/demo), whose search pages only
   JavaScript renders, through scrapy-playwright and Debian's Chromium.

Pages/s is downloader/response_count over the crawl's own elapsed_time_seconds (Scrapy's
CoreStats, spider opened to spider closed, the same for both), so interpreter start-up and
imports are left out of both; whole-process wall times are in the details. CPU per page is
the crawl process's user + system time (start-up included, for both) over its pages: on a
shared machine it moves less than pages/s. Peak memory is
ru_maxrss of the crawl process (os.wait4 on that child alone: exact, but the largest single
process of its tree, not a sum); the browser sweep also reports the peak sum of proportional
set size (PSS) of the crawl and all its descendants (Playwright's driver, every Chromium
process), sampled every 0.1 s from /proc.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.table import row
from monitor.settings import child_environment
from monitor.settings import current as current_settings

ROOT = Path(__file__).resolve().parent.parent
CONCURRENCY = 16
SOURCE = "bench_forum"
URL_VAR = "HEISHI_BENCH_FORUM_URL"
TARGETS = {"ratio": 0.9, "memory_mb": 300}  # issue 21: a sweep at 0.9x bare Scrapy or better


# -- memory of a process tree ---------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with Path(f"/proc/{entry.name}/stat").open("rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in kB; PSS shares pages among the processes mapping them."""
    rss = pss = 0
    try:
        with Path(f"/proc/{pid}/smaps_rollup").open() as fh:
            for line in fh:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def tree_memory(root: int) -> tuple[int, int, int]:
    """(processes, RSS kB summed, PSS kB summed) of `root` and all its descendants."""
    tree = _children()
    todo, seen = [root], []
    while todo:
        pid = todo.pop()
        seen.append(pid)
        todo.extend(tree.get(pid, ()))
    rss = pss = 0
    for pid in seen:
        one_rss, one_pss = _memory_kb(pid)
        rss, pss = rss + one_rss, pss + one_pss
    return len(seen), rss, pss


def run_measured(args: list[str], env: dict[str, str], log: Path, timeout: float) -> dict[str, Any]:
    """Run a process to its end; its exit code, wall time, ru_maxrss and sampled tree peaks."""
    started = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    peak = {"processes": 0, "rss_kb": 0, "pss_kb": 0}
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        count, rss, pss = tree_memory(proc.pid)
        peak = {
            "processes": max(peak["processes"], count),
            "rss_kb": max(peak["rss_kb"], rss),
            "pss_kb": max(peak["pss_kb"], pss),
        }
        if time.perf_counter() - started > timeout:
            proc.kill()
        time.sleep(0.1)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return {
        "returncode": proc.returncode,
        "wall_s": round(time.perf_counter() - started, 2),
        # CPU seconds of the process (and its waited-for children): what capacity costs.
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "maxrss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux: kB
        "tree_peak_rss_mb": round(peak["rss_kb"] / 1024, 1),
        "tree_peak_pss_mb": round(peak["pss_kb"] / 1024, 1),
        "tree_peak_processes": peak["processes"],
    }


# -- the crawls -----------------------------------------------------------------------------


def _outcome(measured: dict[str, Any], stats_path: Path, log: Path, what: str) -> dict[str, Any]:
    if measured["returncode"] != 0 or not stats_path.exists():
        tail = log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{what} exited {measured['returncode']}; end of {log}:\n{tail}")
    stats = json.loads(stats_path.read_text())
    pages = int(stats.get("downloader/response_count", 0))
    elapsed = float(stats.get("elapsed_time_seconds") or 0)
    return {
        **measured,
        "pages": pages,
        "items": int(stats.get("item_scraped_count", 0)),
        "crawl_s": round(elapsed, 2),
        "pages_per_s": round(pages / elapsed, 1) if elapsed else 0.0,
        # Whole process, start-up included: the CPU a sweep of this size costs.
        "cpu_ms_per_page": round(measured["cpu_s"] * 1000 / pages, 2) if pages else None,
        "errors": int(stats.get("log_count/ERROR", 0)),
    }


def heishi_sweep(work: Path, db: Path, env: dict[str, str], label: str) -> dict[str, Any]:
    """`python -m spiders.crawl bench_forum --db DB` with every pipeline on."""
    stats = work / f"{label}-stats.json"
    log = work / f"{label}.log"
    args = [sys.executable, "-m", "spiders.crawl", SOURCE, "--db", str(db), "--stats", str(stats)]
    args += ["--set", f"CONCURRENT_REQUESTS={CONCURRENCY}"]
    return _outcome(run_measured(args, env, log, timeout=900), stats, log, f"heishi {label}")


def bare_crawl(work: Path, url: str, max_pages: int, env: dict[str, str]) -> dict[str, Any]:
    stats = work / "bare-stats.json"
    log = work / "bare.log"
    args = [
        sys.executable,
        "-m",
        "benchmarks.crawl_site",
        url + "/forum.php?mod=forumdisplay&fid=2",
    ]
    args += [
        "--max-pages",
        str(max_pages),
        "--concurrency",
        str(CONCURRENCY),
        "--stats",
        str(stats),
    ]
    return _outcome(run_measured(args, env, log, timeout=900), stats, log, "bare Scrapy spider")


def browser_sweep(work: Path, env: dict[str, str]) -> dict[str, Any]:
    """The demo marketplace (JavaScript search pages) through scrapy-playwright + Chromium."""
    from monitor.demo.sites import DemoSites

    stats = work / "browser-stats.json"
    log = work / "browser.log"
    db = work / "browser.db"
    args = [sys.executable, "-m", "spiders.crawl", "demo_market", "--db", str(db)]
    args += ["--stats", str(stats)]
    with DemoSites(day=1) as sites:
        child_env = {**env, **sites.env()}
        child_env.pop("HEISHI_SITES_DIR", None)  # the demo site files in spiders/sites/
        outcome = _outcome(run_measured(args, child_env, log, timeout=300), stats, log, "browser")
    rendered = json.loads(stats.read_text()).get("playwright/page_count", 0)
    if not rendered:
        raise RuntimeError(f"the browser sweep rendered no page; see {log}")
    outcome["rendered_pages"] = int(rendered)
    return outcome


def measure(threads: int, repeat: bool = True, browser: bool = True) -> dict[str, Any]:
    """Serve the site, run the crawls; every figure (see the module docstring)."""
    from benchmarks.crawl_site import board_pages, site_file, site_pages
    from monitor.demo.local_server import LocalServer

    report: dict[str, Any] = {"threads": threads, "board_pages": board_pages(threads)}
    report["concurrency"] = CONCURRENCY
    with tempfile.TemporaryDirectory(prefix="heishi-bench-crawl-") as tmp:
        work = Path(tmp)
        sites = work / "sites"
        sites.mkdir()
        (sites / f"{SOURCE}.toml").write_text(
            site_file(SOURCE, URL_VAR, threads, CONCURRENCY), encoding="utf-8"
        )
        given = current_settings().replace(
            HEISHI_SITES_DIR=str(sites), HEISHI_SECRET_FILE=str(work / "secret.key")
        )
        env = child_environment(given)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        with LocalServer(site_pages(threads)) as server:
            env[URL_VAR] = server.url
            db = work / "heishi.db"
            # Baseline first, then heishi: the server's page cache is warm for both alike.
            report["bare"] = bare_crawl(work, server.url, board_pages(threads), env)
            report["heishi"] = heishi_sweep(work, db, env, "sweep-new")
            if repeat:
                report["heishi_repeat"] = heishi_sweep(work, db, env, "sweep-repeat")
        expected = threads + board_pages(threads)
        for key in ("bare", "heishi", "heishi_repeat"):
            if key in report and report[key]["pages"] < expected:
                raise RuntimeError(
                    f"{key} fetched {report[key]['pages']} of {expected} pages; see {work}/*.log"
                )
        if browser:
            report["browser"] = browser_sweep(work, env)
    return report


def bench(quick: bool = False) -> dict[str, Any]:
    threads = 100 if quick else 2000
    report = measure(threads, repeat=not quick)
    bare, heishi = report["bare"], report["heishi"]
    target = f">= {TARGETS['ratio']:g}x"
    rows = [
        row(
            f"sweep pages/s, {threads:,} pages, new store",
            heishi["pages_per_s"],
            "pages/s",
            baseline=bare["pages_per_s"],
            baseline_name="bare Scrapy spider",
            target=target,
            meets=heishi["pages_per_s"] >= TARGETS["ratio"] * bare["pages_per_s"],
        )
    ]
    if "heishi_repeat" in report:
        repeat = report["heishi_repeat"]
        rows.append(
            row(
                f"repeat sweep pages/s, {threads:,} pages",
                repeat["pages_per_s"],
                "pages/s",
                baseline=bare["pages_per_s"],
                baseline_name="bare Scrapy spider",
                target=target,
                meets=repeat["pages_per_s"] >= TARGETS["ratio"] * bare["pages_per_s"],
            )
        )
    # CPU per page does not depend on what else the machine runs: the steadier comparison on
    # a shared machine (whole processes, so start-up is in both; lower is better).
    rows.append(
        row(
            "sweep CPU per page, new store",
            heishi["cpu_ms_per_page"],
            "ms",
            baseline=bare["cpu_ms_per_page"],
            baseline_name="bare Scrapy spider",
        )
    )
    peak = max(report[k]["maxrss_mb"] for k in ("heishi", "heishi_repeat") if k in report)
    rows.append(
        row(
            "peak memory, sweep without browser",
            peak,
            "MB",
            baseline=bare["maxrss_mb"],
            baseline_name="bare Scrapy spider",
            target=f"< {TARGETS['memory_mb']} MB",
            meets=peak < TARGETS["memory_mb"],
        )
    )
    if "browser" in report:
        browser = report["browser"]
        rows.append(row("peak memory, browser sweep (crawl process)", browser["maxrss_mb"], "MB"))
        rows.append(
            row("peak memory, browser sweep + Chromium (PSS)", browser["tree_peak_pss_mb"], "MB")
        )
    report["how"] = (
        "pages/s = downloader/response_count / elapsed_time_seconds from each crawl's own "
        "Scrapy stats (start-up excluded for both); memory = ru_maxrss of the crawl process "
        "via os.wait4; browser tree = peak summed PSS of the crawl and its descendants "
        "(Playwright driver and Chromium included), sampled every 0.1 s"
    )
    return {"name": "crawl", "rows": rows, "details": report}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2000, help="thread pages on the board")
    parser.add_argument("--no-repeat", action="store_true", help="one heishi sweep only")
    parser.add_argument("--no-browser", action="store_true", help="skip the browser sweep")
    args = parser.parse_args(argv)
    report = measure(args.threads, repeat=not args.no_repeat, browser=not args.no_browser)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
