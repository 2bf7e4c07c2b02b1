"""Sweeps benchmark: the real shape of the job, many small sources swept once.

    python -m benchmarks.sweeps [--sources 300] [--quick]

1. N local Discuz! boards (5 board pages of 30 threads: 155 pages a sweep, the typical forum
   of docs/scale.md), each under its own path of one ThreadingHTTPServer on 127.0.0.1 in this
   process (benchmarks/crawl_site.py; each board its own texts, 90% chatter), and a site file
   each (schedule every 30 minutes, so all are due).
2. heishi: `heishi run --once --max-parallel P` into a new store, then again (a repeat sweep,
   nearly all unchanged), with warm crawl workers (HEISHI_CRAWL_WORKERS=2, the default); and,
   on at most PROCESS_SOURCES of the sources, the same with a process per crawl
   (HEISHI_CRAWL_WORKERS=0), as before the workers.
3. The baseline: one bare Scrapy process (a CrawlerProcess, `python -m benchmarks.sweeps
   --bare ...`) running the same spiders with the same settings and pipelines, P at a time in
   its one reactor, into a new store and again: the same sweeps with no runner around them.
   Baseline and warm workers take turns: bare first sweep, workers' first sweep, bare repeat,
   workers' repeat.
4. One warm worker sweeping one board 100 times in a row (5 with --quick): its resident memory
   after the first sweep and at its largest after that.

CPU is user + system time of the whole process tree (os.wait4 on its root: the workers are
reaped inside it, so their time is in it), per sweep. Wall is the root's. Peak RSS is the
largest sum of resident memory over the tree, sampled every 0.1 s from /proc (PSS too, in the
details). Sources per machine are derived as docs/scale.md does: half of two cores (86,400
CPU-seconds a day) over 48 sweeps a day; and memory: a polite source (2 s between requests)
is crawled 155 x 2 = 310 s a sweep, so S sources keep S x 48 x 310 / 86,400 crawls running;
each costs what a crawl adds to a worker (measured: the workers' peak over their idle size,
per crawl running at that peak), within 24 GiB less the runner and the idle workers.
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

ROOT = Path(__file__).resolve().parent.parent
THREADS = 150  # 5 board pages of 30
ROWS = 30
CONCURRENCY = 8  # per source, as the demo forum
URL_VAR = "HEISHI_BENCH_SWEEPS_URL"
SOURCES, QUICK_SOURCES = 300, 4
PROCESS_SOURCES = 30  # the process-per-crawl run: enough for its CPU per sweep
PARALLEL = 8
WORKERS = 2
HEISHI = [sys.executable, "-c", "import sys; from monitor.cli import main; sys.exit(main())"]
# docs/scale.md's planning figures.
CPU_SECONDS_A_DAY = 86_400  # half of two cores
SWEEPS_A_DAY = 48  # every 30 minutes
POLITE_SWEEP_S = (THREADS + 5) * 2  # a download delay of 2 s
MEMORY_MB = 24 * 1024
PROGRESS: Path | None = None  # where each phase's figures go as they come, if anywhere
TARGETS = {"cpu_ratio": 1.2, "sources": 2000, "growth": 1.2}


def source_name(n: int) -> str:
    return f"bench_s{n:04d}"


def site_file(n: int) -> str:
    from benchmarks.crawl_site import BOARD_PATH

    return f"""# The sweeps benchmark's board {n} (benchmarks/sweeps.py).
name = "{source_name(n)}"
kind = "forum"
preset = "discuz"
start_urls = ["${{{URL_VAR}}}/s{n}{BOARD_PATH}"]
max_pages = 5
concurrency = {CONCURRENCY}
download_delay = 0
autothrottle = false
network = {{ allow_private = true }}
schedule = {{ interval = "30m" }}
"""


def all_pages(sources: int) -> dict[str, Any]:
    from benchmarks.crawl_site import site_pages

    pages: dict[str, Any] = {}
    for n in range(sources):
        pages.update(site_pages(THREADS, seed=1000 + n, rows=ROWS, prefix=f"/s{n}"))
    return pages


# -- measuring a process tree ---------------------------------------------------------------


def run_tree(args: list[str], env: dict[str, str], log: Path, timeout: float) -> dict[str, Any]:
    """Run `args` to its end: exit code, wall, CPU of the tree, peak summed RSS and PSS."""
    from benchmarks.crawl import _memory_kb, tree_memory

    started = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    peak_rss = peak_pss = processes = root_rss = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        count, rss, pss = tree_memory(proc.pid)
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        processes = max(processes, count)
        root_rss = max(root_rss, _memory_kb(proc.pid)[0])
        if time.perf_counter() - started > timeout:
            proc.kill()
        time.sleep(0.1)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "returncode": proc.returncode,
        "wall_s": round(time.perf_counter() - started, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "root_peak_rss_mb": round(root_rss / 1024, 1),
        "tree_peak_rss_mb": round(peak_rss / 1024, 1),
        "tree_peak_pss_mb": round(peak_pss / 1024, 1),
        "tree_peak_processes": processes,
    }


def idle_worker_mb(env: dict[str, str]) -> float:
    """Resident memory of a crawl worker once warm, before any crawl: the smaller of two
    starts, because the first start after a change of code builds caches (the word cut's)
    and measured 40-65 MB more than every start after it."""
    return min(_one_idle_worker_mb(env), _one_idle_worker_mb(env))


def _one_idle_worker_mb(env: dict[str, str]) -> float:
    proc = subprocess.Popen(
        [sys.executable, "-m", "spiders.crawl_worker"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    ready = json.loads(proc.stdout.readline() or "{}")
    proc.stdin.close()
    proc.wait(timeout=60)
    return float(ready.get("rss_mb") or 0)


def worker_growth(
    env: dict[str, str], sites: Path, db: Path, source: str, crawls: int
) -> dict[str, Any]:
    """One worker sweeping `source` `crawls` times in a row: its resident memory after the
    first sweep and after the last (a leak shows as growth)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "spiders.crawl_worker"],
        cwd=ROOT,
        env={**env, "HEISHI_SITES_DIR": str(sites)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    sizes, failed = [], 0
    json.loads(proc.stdout.readline() or "{}")  # ready
    for n in range(crawls):
        command = {"op": "crawl", "id": n, "source": source, "db": str(db), "log": os.devnull}
        proc.stdin.write(json.dumps(command) + "\n")
        proc.stdin.flush()
        done = json.loads(proc.stdout.readline() or "{}")
        failed += done.get("code") != 0
        sizes.append(float(done.get("rss_mb") or 0))
    proc.stdin.close()
    proc.wait(timeout=60)
    return {
        "crawls": crawls,
        "failed": failed,
        "first_mb": sizes[0],
        "last_mb": sizes[-1],
        "peak_mb": max(sizes),
        "growth": round(max(sizes) / sizes[0], 3) if sizes[0] else None,
    }


def checked(db: Path, sources: list[str], what: str, log: Path) -> dict[str, Any]:
    """Every source's run in `db` ended ok with all its listings; their pages and items."""
    from monitor.store import open_store

    with open_store(db) as store:
        runs = store.runs.latest(0)
    done = {r["source"]: r for r in runs if r["status"] == "ok"}
    missing = [s for s in sources if s not in done or (done[s]["items"] or 0) < THREADS]
    if missing:
        states = {r["source"]: (r["status"], r["items"], r.get("error")) for r in runs}
        shown = {name: states.get(name) for name in missing[:5]}
        raise RuntimeError(f"{what}: {len(missing)} source(s) not swept whole: {shown}; see {log}")
    return {"runs": len(done), "items": sum(int(done[s]["items"]) for s in sources)}


def write_sites(directory: Path, sources: list[str]) -> Path:
    directory.mkdir()
    for name in sources:
        n = int(name.removeprefix("bench_s"))
        (directory / f"{name}.toml").write_text(site_file(n), encoding="utf-8")
    return directory


def new_store(db: Path) -> Path:
    from monitor.store import open_store

    with open_store(db):
        pass
    return db


def heishi_run(
    work: Path, env: dict[str, str], sites: Path, db: Path, sources: list[str], label: str
) -> dict[str, Any]:
    """`heishi run --once` over every site file in `sites` (all due) into `db`."""
    from monitor.store import open_store

    with open_store(db) as store:  # due now, as after the 30 minutes of their interval
        for name in sources:
            store.operations.set_next_run(name, None)
    args = [*HEISHI, "run", "--once", "--db", str(db), "--max-parallel", str(PARALLEL)]
    args += ["--timeout", "30m", "--jitter", "0"]
    log = work / f"{label}.log"
    measured = run_tree(args, {**env, "HEISHI_SITES_DIR": str(sites)}, log, timeout=3600)
    if measured["returncode"] != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"heishi run ({label}) exited {measured['returncode']}:\n{tail}")
    return {**measured, **checked(db, sources, f"heishi run ({label})", log)}


def bare_run(
    work: Path, env: dict[str, str], sites: Path, db: Path, sources: list[str], label: str
) -> dict[str, Any]:
    """The same sweeps in one bare Scrapy process."""
    args = [sys.executable, "-m", "benchmarks.sweeps", "--bare", str(db), str(PARALLEL), *sources]
    log = work / f"{label}.log"
    measured = run_tree(args, {**env, "HEISHI_SITES_DIR": str(sites)}, log, timeout=3600)
    if measured["returncode"] != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"the bare Scrapy process exited {measured['returncode']}:\n{tail}")
    return {**measured, **checked(db, sources, f"bare Scrapy process ({label})", log)}


def crawl_in_one_process(db: str, parallel: int, sources: list[str]) -> int:
    """The baseline, in this process: every source's spider, `parallel` at a time, in one
    CrawlerProcess with the project's settings (every pipeline, the store at `db`)."""
    from monitor.settings import use_scrapy_project

    use_scrapy_project()
    import scrapy.core.downloader.contextfactory  # noqa: F401 (see spiders.crawl.crawl)
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    from monitor.privacy.file_modes import restrict_umask

    restrict_umask()
    settings = get_project_settings()
    settings.set("HEISHI_DB", db, priority="cmdline")
    process = CrawlerProcess(settings)
    pending = list(sources)
    failures: list[Any] = []

    def next_crawl(_: Any = None) -> None:
        if pending:
            done = process.crawl(pending.pop(0))
            done.addErrback(failures.append)
            done.addBoth(next_crawl)

    for _ in range(parallel):
        next_crawl()
    process.start()
    for failure in failures:
        print(f"crawl failed: {failure.value!r}", file=sys.stderr)
    return 1 if failures else 0


# -- the figures ----------------------------------------------------------------------------


def capacity(cpu_per_sweep: float, base_mb: float, per_crawl_mb: float) -> dict[str, Any]:
    """Typical-forum sources one machine sweeps every 30 minutes, by CPU and by memory."""
    by_cpu = CPU_SECONDS_A_DAY / (SWEEPS_A_DAY * cpu_per_sweep)
    running_per_source = SWEEPS_A_DAY * POLITE_SWEEP_S / 86_400
    crawls_in_memory = max(0.0, MEMORY_MB - base_mb) / max(per_crawl_mb, 0.1)
    by_memory = crawls_in_memory / running_per_source
    return {
        "by_cpu": round(by_cpu),
        "by_memory": round(by_memory),
        "sources": round(min(by_cpu, by_memory)),
        "crawls_running_per_source": round(running_per_source, 3),
        "per_crawl_mb": round(per_crawl_mb, 1),
        "base_mb": round(base_mb, 1),
    }


def _progress(report: dict[str, Any]) -> None:
    if PROGRESS is not None:
        PROGRESS.write_text(json.dumps(report, indent=1), encoding="utf-8")


def measure(sources: int, process_sources: int, growth_crawls: int = 100) -> dict[str, Any]:
    """Each way, a first sweep of every source into a new store, then a repeat sweep (nearly
    all unchanged: what a source costs every 30 minutes)."""
    from monitor.demo.local_server import LocalServer
    from monitor.settings import child_environment
    from monitor.settings import current as current_settings

    names = [source_name(n) for n in range(sources)]
    few = names[:process_sources]
    report: dict[str, Any] = {
        "sources": sources,
        "pages_per_sweep": THREADS + THREADS // ROWS,
        "parallel": PARALLEL,
        "workers": WORKERS,
        "process_sources": len(few),
    }
    # A reader of a store in it (sqlite3 leaves -shm files) must not lose the figures.
    with tempfile.TemporaryDirectory(
        prefix="heishi-bench-sweeps-", ignore_cleanup_errors=True
    ) as tmp:
        work = Path(tmp)
        # This install's settings (its cache), but a secret, notify and severity file of
        # the benchmark's own; how many workers each run says itself.
        given = current_settings().replace(
            HEISHI_SECRET_FILE=str(work / "secret.key"),
            HEISHI_NOTIFY_FILE=str(work / "no-notify.toml"),
            HEISHI_SEVERITY_FILE=str(work / "no-severity.toml"),
        )
        env = child_environment(given)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        started = time.perf_counter()
        pages = all_pages(sources)
        report["site_build_s"] = round(time.perf_counter() - started, 1)
        all_sites = write_sites(work / "sites", names)
        few_sites = write_sites(work / "sites-few", few)
        with LocalServer(pages) as server:
            env[URL_VAR] = server.url
            report["idle_worker_mb"] = idle_worker_mb(env)
            # Baseline and heishi in turn (first sweeps, then repeats), so that a change in
            # the machine's load in between falls on both: the server's pages are as warm.
            bare_db, workers_db = new_store(work / "bare.db"), new_store(work / "workers.db")
            warm = {**env, "HEISHI_CRAWL_WORKERS": str(WORKERS)}
            for suffix, label in (("", ""), ("_repeat", "-repeat")):
                report[f"bare{suffix}"] = bare_run(
                    work, env, all_sites, bare_db, names, f"bare{label}"
                )
                _progress(report)
                report[f"workers{suffix}"] = heishi_run(
                    work, warm, all_sites, workers_db, names, f"workers{label}"
                )
                _progress(report)
            cold = {**env, "HEISHI_CRAWL_WORKERS": "0"}
            db = new_store(work / "processes.db")
            report["processes"] = heishi_run(work, cold, few_sites, db, few, "processes")
            _progress(report)
            report["processes_repeat"] = heishi_run(work, cold, few_sites, db, few, "p-repeat")
            _progress(report)
            report["worker_growth"] = worker_growth(
                env, all_sites, workers_db, names[0], growth_crawls
            )
    for key in ("bare", "workers", "processes"):
        for run in (report[key], report[f"{key}_repeat"]):
            count = len(few) if key == "processes" else sources
            run["sources"] = count
            run["cpu_per_sweep_s"] = round(run["cpu_s"] / count, 3)
    # What the crawls running at the peak added to the idle workers, per crawl running.
    workers = report["workers_repeat"]
    peak = max(report["workers"]["tree_peak_rss_mb"], workers["tree_peak_rss_mb"])
    root = max(report["workers"]["root_peak_rss_mb"], workers["root_peak_rss_mb"])
    base_mb = root + WORKERS * report["idle_worker_mb"]
    per_crawl = max(0.0, peak - base_mb) / PARALLEL
    report["capacity_workers"] = capacity(workers["cpu_per_sweep_s"], base_mb, per_crawl)
    processes = report["processes_repeat"]
    peak = max(report["processes"]["tree_peak_rss_mb"], processes["tree_peak_rss_mb"])
    per_process = (peak - processes["root_peak_rss_mb"]) / PARALLEL
    report["capacity_processes"] = capacity(
        processes["cpu_per_sweep_s"], processes["root_peak_rss_mb"], per_process
    )
    report["capacity_bare"] = capacity(report["bare_repeat"]["cpu_per_sweep_s"], 0.0, 0.1)
    return report


def bench(quick: bool = False, sources: int | None = None) -> dict[str, Any]:
    count = sources or (QUICK_SOURCES if quick else SOURCES)
    report = measure(count, min(count, PROCESS_SOURCES), 5 if quick else 100)
    pages = report["pages_per_sweep"]
    bare, workers = report["bare"], report["workers"]
    repeat, bare_repeat = report["workers_repeat"], report["bare_repeat"]
    processes = report["processes_repeat"]
    cpu_ratio = repeat["cpu_per_sweep_s"] / bare_repeat["cpu_per_sweep_s"]
    capacity_workers = report["capacity_workers"]
    growth = report["worker_growth"]
    bare_name = "one bare Scrapy process"
    rows = [
        row(
            f"CPU per repeat sweep ({pages} pages), {count} sources, warm workers",
            repeat["cpu_per_sweep_s"],
            "s",
            baseline=bare_repeat["cpu_per_sweep_s"],
            baseline_name=bare_name,
            target=f"<= {TARGETS['cpu_ratio']:g}x",
            meets=cpu_ratio <= TARGETS["cpu_ratio"],
        ),
        row(
            f"CPU per first sweep ({pages} pages, new store), warm workers",
            workers["cpu_per_sweep_s"],
            "s",
            baseline=bare["cpu_per_sweep_s"],
            baseline_name=bare_name,
        ),
        row(
            f"CPU per repeat sweep, a process per crawl ({processes['sources']} sources)",
            processes["cpu_per_sweep_s"],
            "s",
            baseline=bare_repeat["cpu_per_sweep_s"],
            baseline_name=bare_name,
        ),
        row(
            f"wall, {count} sources swept once (new store), warm workers",
            workers["wall_s"],
            "s",
            baseline=bare["wall_s"],
            baseline_name=bare_name,
        ),
        row(
            "peak RSS of the process tree, warm workers",
            max(workers["tree_peak_rss_mb"], repeat["tree_peak_rss_mb"]),
            "MB",
            baseline=max(bare["tree_peak_rss_mb"], bare_repeat["tree_peak_rss_mb"]),
            baseline_name=bare_name,
        ),
        row(
            f"peak RSS of a warm worker after {growth['crawls']} sweeps",
            growth["peak_mb"],
            "MB",
            baseline=growth["first_mb"],
            baseline_name="after its first sweep",
            target=f"<= {TARGETS['growth']:g}x",
            meets=growth["growth"] is not None and growth["growth"] <= TARGETS["growth"],
        ),
        row(
            "typical-forum sources per machine, every 30 min, warm workers",
            capacity_workers["sources"],
            "sources",
            baseline=report["capacity_processes"]["sources"],
            baseline_name="a process per crawl",
            target=f">= {TARGETS['sources']:,}",
            meets=capacity_workers["sources"] >= TARGETS["sources"],
        ),
    ]
    report["how"] = (
        "`heishi run --once` (warm workers, then a process per crawl) and one bare Scrapy "
        "CrawlerProcess with the same spiders and pipelines, each a first sweep into a new "
        "store and a repeat sweep; CPU = user+system of the process tree (os.wait4), peak "
        "RSS = largest summed RSS of the tree sampled every 0.1 s; sources per machine as "
        "docs/scale.md derives them, from the repeat sweeps"
    )
    return {"name": "sweeps", "rows": rows, "details": report}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, help=f"boards to sweep (default {SOURCES})")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SOURCES} sources")
    parser.add_argument("--bare", nargs="+", metavar="ARG", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare:  # the baseline's own process: DB PARALLEL SOURCE...
        db, parallel, *sources = args.bare
        return crawl_in_one_process(db, int(parallel), sources)
    print(json.dumps(bench(args.quick, args.sources), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
