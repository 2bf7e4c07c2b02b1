"""Helpers shared by the test modules, which never import from one another: the `heishi`
command in a child process, waiting on a condition, reading a store, and listings and sweeps
written the way a crawl writes them. The `heishi run` helpers at the end start real monitors."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The installed `heishi` command, run by this interpreter.
HEISHI = [sys.executable, "-c", "import sys; from monitor.cli import main; sys.exit(main())"]


def heishi(
    *args: str,
    env: dict[str, str] | None = None,
    stdin: str | bytes | None = None,
    text: bool = True,
    columns: int = 200,
    timeout: float = 180,
    umask: int = -1,
) -> subprocess.CompletedProcess:
    """`heishi ARGS` in a child process, from the checkout, with the test's environment (which
    tests/conftest.py isolates) and `env` over it; stdin is empty unless given."""
    return subprocess.run(
        [*HEISHI, *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, "COLUMNS": str(columns), **(env or {})},
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        text=text,
        timeout=timeout,
        umask=umask,
    )


def heishi_here(
    *args: str,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    columns: int = 200,
) -> subprocess.CompletedProcess:
    """`heishi ARGS` run in this process, as `heishi()` runs it in a child: `env` over the
    test's environment, stdin empty unless given, the output captured. No interpreter start-up
    (a second or more a call); for commands that neither crawl, serve nor log to the root
    logger: those keep a process of their own."""
    import contextlib
    import io

    from monitor.cli import main

    out, err = io.StringIO(), io.StringIO()
    given = io.TextIOWrapper(io.BytesIO((stdin or "").encode("utf-8")), encoding="utf-8")
    saved_env = dict(os.environ)
    saved_umask = os.umask(0o022)  # main() narrows it for what it writes: restored below
    os.umask(saved_umask)
    saved_stdin, saved_cwd = sys.stdin, Path.cwd()
    try:
        os.environ.update({"COLUMNS": str(columns), **(env or {})})
        os.chdir(PROJECT_ROOT)
        sys.stdin = given
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        given.close()
        sys.stdin = saved_stdin
        os.chdir(saved_cwd)
        os.umask(saved_umask)
        os.environ.clear()
        os.environ.update(saved_env)
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def wait_for(
    condition: Callable[[], object], timeout: float, what: str, interval: float = 0.1
) -> Any:
    """The first true value of `condition()`, polled every `interval` s; AssertionError naming
    `what` when none came within `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def query(db: Path | str, sql: str, params: tuple = ()) -> list[tuple]:
    """The rows of `sql` on the store at `db`."""
    with closing(sqlite3.connect(db)) as conn, conn:
        return conn.execute(sql, params).fetchall()


# -- listings and sweeps as a crawl records them ----------------------------------------------

OK_STATS = {"finish_reason": "finished", "response_received_count": 3}


def listing(site_id, title, *, price="800元", volume=300_000, matched=True, text=None):
    """A crawled listing with the match the matcher would give it."""
    from monitor.matching.match_result import Extraction, MatchResult, Price, TermHit, Volume

    volumes = [Volume(volume, "万", f"{volume // 10000}万")] if volume else []
    match = MatchResult(
        score=5.0 if matched else 0.0,
        alert=matched,
        categories=["identity"] if matched else [],
        hits=[TermHit("身份证", "identity", 3.0, "title", 0, 3, "身份证")] if matched else [],
        reasons=["data noun 身份证 + sale signal"] if matched else [],
        extraction=Extraction(
            prices=[Price(float(price.rstrip("元")), "CNY", None, price)] if price else [],
            volumes=volumes,
        ),
    )
    return {
        "site_id": site_id,
        "url": f"http://127.0.0.1/t/{site_id}",
        "title": title,
        "text": text or f"{title} {price}",
        "seller": "老王",
        "price_text": None,
        "posted_at": None,
        "match": match,
        "pii": [],
    }


def sweep(db_path, items, *, stats=OK_STATS, reason="finished", source="forum"):
    """One sweep of `source` that found `items`, recorded in the store at `db_path`."""
    from monitor.alerting.ingest import SweepRecorder

    recorder = SweepRecorder(db_path, source=source, kind="forum", url="http://127.0.0.1/")
    recorder.open()
    for item in items:
        recorder.record(item)
    return recorder.close(dict(stats), reason)


# -- `heishi run` as a real process -----------------------------------------------------------

DEMO_SITES = PROJECT_ROOT / "spiders" / "sites"


def site_file(
    demo: str, name: str, schedule: str, *, url: str | None = None, extra: str = ""
) -> str:
    """A copy of a demo site file under another name, not tagged demo, on `schedule`."""
    text = (DEMO_SITES / f"{demo}.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^name = .*$", f'name = "{name}"', text)
    text = re.sub(r"(?m)^tags = .*$", "", text)
    text = re.sub(r"(?m)^schedule = .*$", f"schedule = {{ {schedule} }}", text)
    if url is not None:
        text = re.sub(r"(?m)^start_urls = .*$", f'start_urls = ["{url}"]', text)
    return text + extra


def child_env(
    base: Path, sites_dir: Path, demo: Any = None, *, cache: Path | None = None
) -> dict[str, str]:
    """The environment of a monitor or sweep: its own secret under `base`; the session's
    cache (tests/conftest.py sets HEISHI_CACHE_DIR for every test; a module fixture passes
    `cache`), so jieba's dictionaries are built once a session, not once a test (some 3.5 s
    of CPU in each crawl that finds them cold). Crawls write their listings at least every
    half second (default 2 s): the tests that wait for a crawl to be writing see it sooner.
    `demo`: running monitor.demo.sites.DemoSites, whose addresses the demo site files read."""
    return {
        **os.environ,
        **(demo.env() if demo else {}),
        "HEISHI_SITES_DIR": str(sites_dir),
        "HEISHI_SECRET_FILE": str(base / "secret.key"),
        "HEISHI_CACHE_DIR": str(cache or os.environ["HEISHI_CACHE_DIR"]),
        "HEISHI_STORE_FLUSH": "0.5",
    }


def monitor_started(db: Path, daemons: int = 1) -> bool:
    """Has the `daemons`-th monitor on `db` claimed the store?"""
    try:
        return db.exists() and query(db, "SELECT count(*) FROM daemon") == [(daemons,)]
    except sqlite3.OperationalError:  # not created yet
        return False


def start_monitor(db: Path, env: dict[str, str], *args: str, nth: int = 1) -> subprocess.Popen:
    """`heishi run` in the background, once it has claimed the store (the `nth` monitor)."""
    with (db.parent / f"monitor-{nth}.out").open("w") as log:  # the child keeps its own
        proc = subprocess.Popen(
            [*HEISHI, "run", "--db", str(db), "--create", "--heartbeat", "1s", *args],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: proc.poll() is not None or monitor_started(db, nth), 30, "the monitor")
    except BaseException:
        proc.kill()
        raise
    assert proc.poll() is None, (db.parent / f"monitor-{nth}.out").read_text()
    return proc


def stop_monitor(proc: subprocess.Popen) -> tuple[int, float]:
    """SIGTERM; the exit status and how long it took to exit."""
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=60)
    return code, time.monotonic() - started


def runs_of(db: Path, source: str) -> list[dict]:
    """The runs of `source` in the store at `db`, oldest first, as dicts."""
    with closing(sqlite3.connect(db)) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT * FROM runs WHERE source = ? ORDER BY id", (source,))
        return [dict(row) for row in rows]


def found_terms(matcher: Any, text: str) -> dict[str, list[str]]:
    """keyword term -> the surfaces (as written) where the matcher's full analysis found it."""
    found: dict[str, list[str]] = {}
    for hit in matcher.match("", text, first_pass=False).hits:
        found.setdefault(hit.term, []).append(hit.surface)
    return found
