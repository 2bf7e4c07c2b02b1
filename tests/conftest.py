"""Shared fixtures: real SQLite files, real demo sites, isolated config."""

from __future__ import annotations

import io
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

# Every HEISHI_* setting that names a file or folder of the developer's own install, and what
# the suite points it at instead (in the session's base temporary folder). None of these files
# exists unless a test makes it: no notification routes, no severity rules, no store; the
# secrets are the session's own. tests/test_isolation.py checks that every such setting read in
# monitor/ and spiders/ is either here or in CHECKOUT_DATA.
ISOLATED_FILES = {
    "HEISHI_DB": "no-store/heishi.db",
    "HEISHI_NOTIFY_FILE": "no-notify.toml",
    "HEISHI_SEVERITY_FILE": "no-severity.toml",
    "HEISHI_SECRET_FILE": "secret.key",
    "HEISHI_DISTRIBUTED_KEY_FILE": "distributed.key",
    "HEISHI_CACHE_DIR": "cache",
}
# Settings that name the checkout's own data, which the tests are meant to read: dropped from
# the environment, so their defaults (keywords/ and spiders/sites/ of this checkout) apply.
CHECKOUT_DATA = {"HEISHI_KEYWORDS_DIR", "HEISHI_SITES_DIR"}


def _isolate(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """Nothing from the developer's own install reaches a test, nor a process a test starts
    with the test's environment: every HEISHI_* variable is dropped, and each file setting
    points into `home`, so a real notify.toml can never receive a test's alerts."""
    import os

    for name in [n for n in os.environ if n.startswith("HEISHI_")]:
        monkeypatch.delenv(name)
    for name, relative in ISOLATED_FILES.items():
        monkeypatch.setenv(name, str(home / relative))
    # The key distributed sweeps sign Redis entries with: one per session, never the user's.
    distributed_key = home / ISOLATED_FILES["HEISHI_DISTRIBUTED_KEY_FILE"]
    if not distributed_key.exists():
        from monitor.running.payload_signing import generate_key_file

        generate_key_file(distributed_key)


@pytest.fixture(scope="session", autouse=True)
def _isolated_session(tmp_path_factory):
    """Isolation before any other fixture: session and module fixtures (stores, crawls, the
    demo run) are built before a test's own autouse fixtures, so they need it too."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        _isolate(monkeypatch, tmp_path_factory.getbasetemp())
        yield


@pytest.fixture(autouse=True)
def _isolated_install(tmp_path_factory, monkeypatch):
    """Again for each test, so what one test sets in os.environ never reaches the next; the
    install secret and the jieba cache are shared across the session."""
    _isolate(monkeypatch, tmp_path_factory.getbasetemp())


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "heishi.db"


@pytest.fixture
def store(db_path):
    from monitor.store import open_store

    with open_store(db_path) as opened:
        yield opened


@pytest.fixture(scope="module")
def demo_sites():
    """The three demo sites on free ports, on day 1, for the tests of one module."""
    from monitor.demo.sites import DemoSites

    with DemoSites(day=1) as running:
        yield running


@pytest.fixture
def demo_day(demo_sites):
    """Call with a day number to switch every demo site to it; back to day 1 afterwards."""

    def switch(number: int):
        demo_sites.set_day(number)
        return demo_sites

    yield switch
    demo_sites.set_day(1)


@pytest.fixture(scope="module")
def chromium():
    """A real headless Chromium (Debian's) for the tests of one module; tests that use it are
    marked `browser` (pytest_collection_modifyitems below)."""
    from tests.web_server import chromium_browser

    with chromium_browser() as browser:
        yield browser


@dataclass
class DemoRun:
    result: object  # monitor.demo.run.DemoResult
    output: str  # what `heishi demo` printed
    day_two: Path  # a copy of the store (and its evidence) as day 2 left it


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """`heishi demo` run once for the session (three days of real crawls of the demo sites,
    some 20 s each): tests/test_demo.py checks what it found, tests/test_web_demo.py reviews
    the store as it was after day 2 (the channel down)."""
    from rich.console import Console

    from monitor.demo.run import run_demo
    from monitor.running.evidence import evidence_dir

    folder = tmp_path_factory.mktemp("demo")
    db, day_two = folder / "heishi.db", folder / "day2" / "heishi.db"

    def keep_day_two(day) -> None:
        if day.day != 2:
            return
        day_two.parent.mkdir()
        with sqlite3.connect(db) as source, sqlite3.connect(day_two) as target:
            source.backup(target)
        if evidence_dir(db).exists():
            shutil.copytree(evidence_dir(db), evidence_dir(day_two))

    out = io.StringIO()
    result = run_demo(db, console=Console(file=out, width=140), on_day=keep_day_two)
    return DemoRun(result, out.getvalue(), day_two)


@pytest.fixture(scope="session")
def warm_cache(tmp_path_factory) -> Path:
    """The session's cache folder (HEISHI_CACHE_DIR) with the matcher's and the search
    index's jieba dictionaries built: a crawl that finds them cold spends some 3.5 s of CPU
    building them (each of three crawls started at once does), which on two busy cores can
    outlast a short crawl timeout."""
    import subprocess
    import sys

    cache = tmp_path_factory.getbasetemp() / "cache"
    build = (
        "from monitor.matching.matcher import load_matcher; from monitor.analysis.search import index_row;"
        "load_matcher().segmenter.is_word('出售身份证', 2, 5);"
        "index_row('出售 身份证', '四件套', 'warm', [])"
    )
    subprocess.run(
        [sys.executable, "-c", build],
        cwd=Path(__file__).resolve().parent.parent,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return cache


# Tests that judge real processes against the clock (a daemon's turns on short intervals,
# stops within a deadline, a server's answer while another request burns CPU) and failed
# under load: `make test` runs them after the rest, which runs on two workers (pytest-xdist),
# so the rest's load never pushes one past its deadline. They mostly wait on their clocks, so
# two of their files run side by side (--dist loadfile): 135-150 s against 226 s one by one.
SERIAL_MODULES = {
    "test_run",
    "test_stop",
    "test_web_hostile",
    "test_redis_restart",
    "test_disk_full",
}
# tests/test_workers.py runs with the rest, in one process of its own (its xdist_group): its
# crawls are polite (they mostly wait), and it judges overlap by milliseconds, not seconds.


def _xdist_group_ids(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On a pytest-xdist worker with --dist loadgroup: each test's xdist_group put into its
    node id (`id@group`, what the scheduler groups by). pytest-xdist 3.8 writes it to
    `item._nodeid`, which pytest 9 no longer reads, so every group was split across the
    workers and its module and session fixtures (the demo run, the actors' two days of
    sweeps) were built on each."""
    if not getattr(config.option, "loadgroup", False):
        return
    from _pytest.nodeid import coerce_node_id

    for item in items:
        names = {
            str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
            for mark in item.iter_markers("xdist_group")
        }
        if names and "@" not in item.nodeid:
            item._id = coerce_node_id(f"{item.nodeid}@{'_'.join(sorted(names))}")


def pytest_collection_modifyitems(config, items):
    _xdist_group_ids(config, items)
    for item in items:
        if item.module is not None and item.module.__name__.rsplit(".", 1)[-1] in SERIAL_MODULES:
            item.add_marker(pytest.mark.serial)
        # The tiers (pyproject.toml): a test given a real Chromium by the fixture needs it.
        if "chromium" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
