"""Warm crawl workers (monitor/running/workers.py, spiders/crawl_worker.py) against the real
demo sites: real worker processes, a real store. A crawl runs in a worker that outlives it;
a worker killed in the middle of a crawl fails that crawl only and is replaced; workers are
recycled after their number of crawls; the watchdog kills a worker past its memory ceiling; a
crawl past its timeout is stopped without taking its worker down; slow crawls share a worker;
workers SIGKILLed mid-sweep again and again leave the store as sound as killed crawl
processes do (tests/test_crash_safety.py)."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest

from monitor.running.sweep import SourceRef, crawl_env, log_dir, sweep_sources
from monitor.running.workers import PoolSettings, WorkerPool

# With pytest-xdist: every test of this file in one process, beside the rest of the suite.
pytestmark = pytest.mark.xdist_group("workers")

FORUM = SourceRef("demo_forum", "forum")
CHANNEL = SourceRef("demo_channel", "channel")
SLOW = ("--set", "DOWNLOAD_DELAY=0.4")  # the forum's 43 pages take some 17 s
POLITE = ("--set", "DOWNLOAD_DELAY=0.25")  # some 11 s


@pytest.fixture
def pool_for(demo_sites, warm_cache, db_path):
    """Call with PoolSettings: a pool of workers that crawl the demo sites into db_path."""
    from monitor.store import open_store

    with open_store(db_path):
        pass
    pools: list[WorkerPool] = []

    def make(settings: PoolSettings) -> WorkerPool:
        pool = WorkerPool(settings, crawl_env(demo_sites.env()), log_dir(db_path))
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.close(grace=10)


def runs(db: Path) -> list[dict]:
    with closing(sqlite3.connect(db)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM runs ORDER BY id")]


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def sweep_into(done: list, pool: WorkerPool, db: Path, extra: tuple[str, ...]) -> None:
    done.extend(sweep_sources([FORUM], db, jobs=1, pool=pool, extra_args=extra))


SPIDER_EVENT = re.compile(r"^(\S+ \S+) \[scrapy\.core\.engine\] INFO: Spider (opened|closed)", re.M)


def overlapped(first, second) -> bool:
    """Whether two crawls ran at the same time: each spider opened before the other closed,
    by the milliseconds of their logs (a run's started_at and finished_at are whole seconds,
    and a short crawl can open and close within one)."""
    spans = []
    for result in (first, second):
        log = result.log_path.read_text()
        events = {what: when for when, what in SPIDER_EVENT.findall(log)}  # its last crawl's
        spans.append((events["opened"], events["closed"]))
    (open_1, close_1), (open_2, close_2) = spans
    return open_1 < close_2 and open_2 < close_1


def running_with(db: Path, written: int) -> dict | None:
    """The running run that has written at least `written` listings, if any."""
    return next(
        (r for r in runs(db) if r["status"] == "running" and (r["items"] or 0) >= written), None
    )


def test_crawls_run_in_a_worker_that_outlives_them_and_store_as_a_crawl_process_does(
    pool_for, db_path
):
    pool = pool_for(PoolSettings(workers=1))
    first = sweep_sources([FORUM, CHANNEL], db_path, jobs=2, pool=pool)
    again = sweep_sources([FORUM], db_path, jobs=1, pool=pool)
    assert [r.status for r in first + again] == ["ok", "ok", "ok"]
    assert first[0].run["items"] == 43 and first[1].run["items"] > 0
    # One warm worker ran all three: every run is owned by the same live process.
    pids = {run["pid"] for run in runs(db_path)}
    assert len(pids) == 1 and pids != {os.getpid()}
    (pid,) = pids
    assert alive(pid)
    assert "Spider closed (finished)" in first[0].log_path.read_text()
    assert pool.started_workers == 1


def test_a_worker_killed_mid_crawl_fails_that_crawl_only_and_is_replaced(pool_for, db_path):
    pool = pool_for(PoolSettings(workers=2))
    results: dict[str, list] = {}

    def sweep(name: str, ref: SourceRef, extra: tuple[str, ...]) -> None:
        results[name] = sweep_sources([ref], db_path, jobs=1, pool=pool, extra_args=extra)

    slow = threading.Thread(target=sweep, args=("slow", FORUM, SLOW))
    slow.start()
    # The slow crawl is under way (its run open, some listings written) in its worker.
    run = wait_for(
        lambda: next(
            (r for r in runs(db_path) if r["source"] == "demo_forum" and (r["items"] or 0) > 0),
            None,
        ),
        90,
        "the slow crawl to write listings",
    )
    victim = run["pid"]
    other = threading.Thread(target=sweep, args=("other", CHANNEL, ()))
    other.start()
    wait_for(lambda: any(r["source"] == "demo_channel" for r in runs(db_path)), 60, "channel")
    os.kill(victim, signal.SIGKILL)
    slow.join(60)
    other.join(90)
    (killed,) = results["slow"]
    (survivor,) = results["other"]
    assert killed.status == "crashed"
    assert "killed by SIGKILL" in (killed.error or "")
    assert survivor.status == "ok" and survivor.run["pid"] != victim
    # The store stays sound: no run left open, nothing removed by the broken sweep.
    assert all(r["status"] != "running" for r in runs(db_path))
    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute(
            "SELECT count(*) FROM listings WHERE removed_at IS NOT NULL"
        ).fetchone() == (0,)
    # The pool is two workers again when two crawls come: the survivor and a new one.
    assert victim not in [w.pid for w in pool.workers]
    after = sweep_sources([FORUM, CHANNEL], db_path, jobs=2, pool=pool)
    assert [r.status for r in after] == ["ok", "ok"]
    assert {r.run["pid"] for r in after} == {survivor.run["pid"], pool.workers[-1].pid}
    assert victim not in {r.run["pid"] for r in after}
    assert pool.started_workers == 3


def test_a_worker_is_recycled_after_its_number_of_crawls(pool_for, db_path):
    pool = pool_for(PoolSettings(workers=1, crawls_per_worker=2))
    pids = []
    for _ in range(3):
        (result,) = sweep_sources([CHANNEL], db_path, jobs=1, pool=pool)
        assert result.status == "ok"
        pids.append(result.run["pid"])
    assert pids[0] == pids[1] != pids[2]
    assert pool.recycled == 1
    wait_for(lambda: not alive(pids[0]), 30, "the recycled worker to exit")


def test_the_watchdog_kills_a_worker_past_its_memory_ceiling(pool_for, db_path):
    # Every worker is bigger than 40 MB (Scrapy and the matcher alone take more).
    pool = pool_for(PoolSettings(workers=1, memory_mb=40))
    (result,) = sweep_sources([FORUM], db_path, jobs=1, pool=pool)
    assert result.status == "crashed"
    assert "HEISHI_CRAWL_WORKER_MEMORY_MB (40 MB)" in (result.error or "")
    assert pool.killed >= 1
    assert all(r["status"] != "running" for r in runs(db_path))


def test_a_crawl_past_its_timeout_is_stopped_as_a_failure_and_its_worker_goes_on(pool_for, db_path):
    pool = pool_for(PoolSettings(workers=1))
    (warm,) = sweep_sources([CHANNEL], db_path, jobs=1, pool=pool)  # start-up not in the timeout
    (late,) = sweep_sources([FORUM], db_path, jobs=1, pool=pool, timeout=4, extra_args=SLOW)
    assert late.status == "failed"
    assert "timeout" in (late.error or "")
    assert late.seconds < 15
    # Stopped inside its worker, which stays and runs the next crawl.
    (next_one,) = sweep_sources([CHANNEL], db_path, jobs=1, pool=pool)
    assert next_one.status == "ok"
    assert warm.run["pid"] == late.run["pid"] == next_one.run["pid"]
    assert pool.started_workers == 1


def test_slow_polite_crawls_share_one_worker_at_the_same_time(pool_for, db_path):
    pool = pool_for(PoolSettings(workers=1))
    # Polite: a quarter of a second between requests, so the forum's crawl is some 11 s of
    # waiting (the channel's two pages, about one).
    results = sweep_sources([FORUM, CHANNEL], db_path, jobs=2, pool=pool, extra_args=POLITE)
    assert [r.status for r in results] == ["ok", "ok"], [(r.status, r.error) for r in results]
    forum, channel = results
    assert forum.run["pid"] == channel.run["pid"]
    # They overlapped: each started before the other finished.
    assert overlapped(forum, channel)


def test_workers_killed_mid_sweep_again_and_again_leave_a_sound_store_the_next_sweep_completes(
    pool_for, db_path
):
    pool = pool_for(PoolSettings(workers=1))
    (first,) = sweep_sources([FORUM], db_path, jobs=1, pool=pool)
    assert first.status == "ok" and first.run["items"] == 43
    # Killed at a different point each time: after 1, 8 and 20 listings were written.
    for written in (1, 8, 20):
        done: list = []
        sweeping = threading.Thread(target=sweep_into, args=(done, pool, db_path, POLITE))
        sweeping.start()
        run = wait_for(lambda w=written: running_with(db_path, w), 90, f"{written} listings")
        os.kill(run["pid"], signal.SIGKILL)
        sweeping.join(60)
        assert [r.status for r in done] == ["crashed"]
        with closing(sqlite3.connect(db_path)) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert conn.execute("SELECT count(*) FROM listings").fetchone() == (43,)
            assert conn.execute(
                "SELECT count(*) FROM listings WHERE status != 'live'"
            ).fetchone() == (0,)
            dupes = conn.execute(
                "SELECT count(*) FROM (SELECT listing_id, version FROM listing_versions "
                "GROUP BY 1, 2 HAVING count(*) > 1)"
            ).fetchone()
            assert dupes == (0,)
    (last,) = sweep_sources([FORUM], db_path, jobs=1, pool=pool)
    assert last.status == "ok" and last.run["items"] == 43 and last.run["removed"] == 0
    statuses = [r["status"] for r in runs(db_path)]
    assert statuses == ["ok", "crashed", "crashed", "crashed", "ok"]
    assert pool.started_workers == 4


def test_a_failing_crawl_never_counts_in_the_run_of_a_crawl_beside_it_in_one_worker(
    pool_for, db_path, demo_day
):
    from monitor.demo import content

    pool = pool_for(PoolSettings(workers=1))
    (day_one,) = sweep_sources([FORUM], db_path, jobs=1, pool=pool)
    assert day_one.status == "ok"
    # Day 2: forum listings changed, came and went; the channel is down (its 503s are
    # logged as errors). Both crawls in the one worker at the same time, the forum slow.
    demo_day(2)
    slow = ("--set", "DOWNLOAD_DELAY=0.2")
    forum, channel = sweep_sources([FORUM, CHANNEL], db_path, jobs=2, pool=pool, extra_args=slow)
    assert channel.status == "failed"
    assert forum.run["pid"] == channel.run["pid"]
    assert overlapped(forum, channel)
    # The forum's run is judged on its own pages: complete, so what it missed is removed.
    assert forum.status == "ok", forum.error
    assert "log_count/ERROR" not in json.loads(forum.run["stats"])
    expected = content.expected_changes("forum", 1, 2)
    assert forum.run["removed"] == len(expected["removed"]) > 0
    assert forum.run["changed"] == len(expected["changed"]) > 0
    # Each crawl's log holds its own lines.
    forum_log = forum.log_path.read_text()
    assert "of demo_forum: ok" in forum_log and "shuju_daily" not in forum_log
    assert "answered HTTP 503" in channel.log_path.read_text()


LOCAL_FORUM = """
name = "{name}"
kind = "forum"
preset = "discuz"
autothrottle = false
start_urls = ["{url}/forum.php?mod=forumdisplay&fid=2"]
max_pages = 1
{network}
"""


def test_a_worker_refuses_names_that_resolve_to_private_addresses_crawl_after_crawl(
    pool_for, db_path, demo_sites, tmp_path
):
    """The resolver that refuses them is installed in a warm worker too, and a crawl's
    permission (allow_private) is its own: it ends with that crawl, and a crawl beside it in
    the same worker is refused the same name meanwhile."""
    sites = tmp_path / "sites"
    sites.mkdir()
    by_name = demo_sites.urls["forum"].replace("127.0.0.1", "localhost")
    for name, network in (("allowed", "network = { allow_private = true }"), ("refused", "")):
        text = LOCAL_FORUM.format(name=name, url=by_name, network=network)
        (sites / f"{name}.toml").write_text(text, encoding="utf-8")
    pool = pool_for(PoolSettings(workers=1))
    local = ("--set", f"HEISHI_SITES_DIR={sites}")
    found = []
    for name in ("refused", "allowed", "refused"):
        (result,) = sweep_sources([SourceRef(name, "forum")], db_path, pool=pool, extra_args=local)
        found.append(result)
    # While "allowed" crawls (slowly), "refused" starts in the same worker.
    done: dict[str, list] = {}

    def sweep(name: str, extra: tuple[str, ...]) -> None:
        ref = SourceRef(name, "forum")
        done[name] = sweep_sources([ref], db_path, pool=pool, extra_args=(*local, *extra))

    slow = threading.Thread(target=sweep, args=("allowed", ("--set", "DOWNLOAD_DELAY=0.3")))
    slow.start()
    wait_for(lambda: running_with(db_path, 1), 60, "the allowed crawl to write a listing")
    sweep("refused", ())
    slow.join(60)
    found += [*done["refused"], *done["allowed"]]
    statuses = [r.status for r in found]
    assert statuses == ["failed", "ok", "failed", "failed", "ok"], [r.error for r in found]
    assert len({r.run["pid"] for r in found}) == 1
    assert overlapped(found[3], found[4])
    for refused in (found[0], found[2], found[3]):
        assert "localhost resolves to 127.0.0.1, a loopback address" in (refused.error or "")
        assert json.loads(refused.run["stats"])["heishi/refused/private_address"] == 1
    assert found[1].run["items"] == found[4].run["items"] > 0


def processes() -> dict[int, tuple[int, list[str]]]:
    """Every process: its parent and command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        found[int(entry.name)] = (parent, [a.decode(errors="replace") for a in cmdline if a])
    return found


def browsers_of(worker: int) -> set[int]:
    """The Chromium browsers (their main processes) a worker started, however deep."""
    table = processes()
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, stack = set(), list(children.get(worker, []))
    while stack:
        pid = stack.pop()
        stack += children.get(pid, [])
        args = table[pid][1]
        main = args and Path(args[0]).name in ("chromium", "chrome")
        if main and not any(a.startswith("--type=") for a in args):
            found.add(pid)
    return found


MARKET = SourceRef("demo_market", "marketplace")
MARKET_TWIN = SourceRef("demo_market_twin", "marketplace")


@pytest.fixture
def market_sites(tmp_path):
    """The demo sites' files, and a second marketplace source under the same policy (the
    same site)."""
    sites = tmp_path / "sites"
    sites.mkdir()
    for path in (Path(__file__).resolve().parent.parent / "spiders" / "sites").glob("demo_*"):
        (sites / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    twin = (sites / "demo_market.toml").read_text(encoding="utf-8")
    twin = twin.replace('name = "demo_market"', 'name = "demo_market_twin"')
    (sites / "demo_market_twin.toml").write_text(twin, encoding="utf-8")
    return ("--set", f"HEISHI_SITES_DIR={sites}")


@pytest.mark.browser
def test_rendered_crawls_in_one_worker_share_one_chromium_launched_when_first_needed(
    pool_for, db_path, market_sites
):
    pool = pool_for(PoolSettings(workers=1))
    (forum,) = sweep_sources([FORUM], db_path, pool=pool, extra_args=market_sites)
    assert forum.status == "ok"
    worker = forum.run["pid"]
    assert browsers_of(worker) == set()  # nothing rendered yet: no browser
    (first,) = sweep_sources([MARKET], db_path, pool=pool, extra_args=market_sites)
    assert first.status == "ok", first.error
    (browser,) = browsers_of(worker)  # kept for the next sweep
    # The next sweep, and two crawls at once under the same policy: the same browser.
    (again,) = sweep_sources([MARKET], db_path, pool=pool, extra_args=market_sites)
    both = sweep_sources([MARKET, MARKET_TWIN], db_path, jobs=2, pool=pool, extra_args=market_sites)
    results = [first, again, *both]
    assert [r.status for r in results] == ["ok"] * 4, [r.error for r in results]
    assert {r.run["pid"] for r in results} == {worker}
    assert browsers_of(worker) == {browser}
    launched = [json.loads(r.run["stats"]).get("heishi/browsers_launched") for r in results]
    assert launched == [1, 0, 0, 0]
    assert both[0].run["items"] == both[1].run["items"] == first.run["items"] > 0
    assert overlapped(*both)
    # The worker closes its browser when it exits.
    pool.close(grace=30)
    assert not alive(browser)


@pytest.mark.browser
def test_a_browser_that_exits_fails_only_the_crawls_that_used_it(pool_for, db_path, market_sites):
    pool = pool_for(PoolSettings(workers=1))
    (warm,) = sweep_sources([MARKET], db_path, pool=pool, extra_args=market_sites)
    assert warm.status == "ok", warm.error
    worker = warm.run["pid"]
    (browser,) = browsers_of(worker)
    done: dict[str, list] = {}

    def sweep(ref: SourceRef) -> None:
        slow = (*market_sites, "--set", "DOWNLOAD_DELAY=0.5")
        done[ref.name] = sweep_sources([ref], db_path, pool=pool, extra_args=slow)

    threads = [threading.Thread(target=sweep, args=(ref,)) for ref in (FORUM, MARKET)]
    for thread in threads:
        thread.start()
    wait_for(
        lambda: (
            any(r["source"] == "demo_market" and r["status"] == "running" for r in runs(db_path))
            and any(r["source"] == "demo_forum" and r["status"] == "running" for r in runs(db_path))
        ),
        60,
        "both crawls to run",
    )
    os.kill(browser, signal.SIGKILL)
    for thread in threads:
        thread.join(120)
    (forum,), (market,) = done["demo_forum"], done["demo_market"]
    assert market.status == "partial"
    assert "Chromium exited during the crawl" in (market.error or "")
    assert forum.status == "ok", forum.error
    assert market.run["pid"] == forum.run["pid"] == worker and alive(worker)
    # The next crawl renders in a new browser.
    (after,) = sweep_sources([MARKET], db_path, pool=pool, extra_args=market_sites)
    assert after.status == "ok", after.error
    assert browser not in browsers_of(worker) and len(browsers_of(worker)) == 1


def test_a_page_being_rendered_when_its_browser_exits_fails_at_once(monkeypatch):
    """Playwright's driver can leave a call on a dead browser (a page being opened) unanswered
    for ever: the render fails when the browser disconnects instead of hanging its crawl (the
    kill above lands there now and then)."""
    import asyncio
    from types import SimpleNamespace

    from scrapy import Request
    from scrapy.settings import Settings
    from scrapy.statscollectors import MemoryStatsCollector
    from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

    from spiders.browser import BrowserDownloadHandler, BrowserExited

    async def never_answered(self, request):
        await asyncio.get_running_loop().create_future()

    monkeypatch.setattr(ScrapyPlaywrightDownloadHandler, "download_request", never_answered)
    # The handler's own state only: no crawler, no browser.
    handler = BrowserDownloadHandler.__new__(BrowserDownloadHandler)
    handler.stats = MemoryStatsCollector(SimpleNamespace(settings=Settings()))
    handler.crawler = None
    handler.context_wrappers = {"default": object()}
    handler.config = SimpleNamespace(restart_disconnected_browser=True)
    handler.browser = object()
    handler._browser_gone = None

    async def render_then_lose_the_browser():
        render = asyncio.ensure_future(
            handler.download_request(Request("http://127.0.0.1/", meta={"playwright": True}))
        )
        await asyncio.sleep(0.05)
        assert not render.done()  # waiting on the driver
        await handler._browser_disconnected_callback()
        with pytest.raises(BrowserExited, match="Chromium exited while rendering"):
            await asyncio.wait_for(render, 5)

    asyncio.run(render_then_lose_the_browser())
    assert handler.stats.get_value("heishi/browser_exits") == 1
    assert not handler.context_wrappers and not hasattr(handler, "browser")


def test_a_crawls_result_is_the_run_it_opened_not_a_later_one_of_its_worker(pool_for, db_path):
    from monitor.running.sweep import _result_of, open_log
    from monitor.settings import current

    pool = pool_for(PoolSettings(workers=1))
    crawls = []
    for _ in range(2):  # the same source twice in the same worker, the second already over
        crawl = pool.submit(CHANNEL, db_path, open_log(db_path, CHANNEL.name), {})
        assert crawl.done.wait(120)
        crawls.append(crawl)
    first, second = (r for r in runs(db_path) if r["source"] == "demo_channel")
    assert first["pid"] == second["pid"] == crawls[0].proc.pid
    assert [c.run_id for c in crawls] == [first["id"], second["id"]]
    # Read back when the second run is already there (first_new_run is before both).
    result = _result_of(crawls[0], db_path, first["id"], 60, current())
    assert result.status == "ok" and result.run["id"] == first["id"]
