"""Shared fixtures: real SQLite files, real demo sites, isolated config."""

from __future__ import annotations

import io
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest


def _isolate(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """Nothing from the developer's own install reaches a test: every HEISHI_* variable is
    dropped, and the notification and severity files point at files that do not exist, so a
    real notify.toml in the checkout can never receive a test's alerts."""
    import os

    for name in [n for n in os.environ if n.startswith("HEISHI_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HEISHI_NOTIFY_FILE", str(home / "no-notify.toml"))
    monkeypatch.setenv("HEISHI_SEVERITY_FILE", str(home / "no-severity.toml"))
    monkeypatch.setenv("HEISHI_SECRET_FILE", str(home / "secret.key"))
    # The key distributed sweeps sign Redis entries with: one per session, never the user's.
    distributed_key = home / "distributed.key"
    if not distributed_key.exists():
        from monitor.running.payload_signing import generate_key_file

        generate_key_file(distributed_key)
    monkeypatch.setenv("HEISHI_DISTRIBUTED_KEY_FILE", str(distributed_key))
    monkeypatch.setenv("HEISHI_CACHE_DIR", str(home / "cache"))


@pytest.fixture(autouse=True)
def _isolated_install(tmp_path_factory, monkeypatch):
    """Each test gets its own install secret; the jieba cache is shared across the session."""
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
    with pytest.MonkeyPatch.context() as monkeypatch:  # session fixtures run before autouse ones
        _isolate(monkeypatch, tmp_path_factory.getbasetemp())
        result = run_demo(db, console=Console(file=out, width=140), on_day=keep_day_two)
    return DemoRun(result, out.getvalue(), day_two)


@pytest.fixture(scope="session")
def warm_cache(tmp_path_factory) -> Path:
    """The session's cache folder (HEISHI_CACHE_DIR) with the matcher's and the search
    index's jieba dictionaries built: a crawl that finds them cold spends some 3.5 s of CPU
    building them (each of three crawls started at once does), which on two busy cores can
    outlast a short crawl timeout."""
    import os
    import subprocess
    import sys

    cache = tmp_path_factory.getbasetemp() / "cache"
    build = (
        "from monitor.matching.matcher import load_matcher; from monitor.analysis.search import index_row;"
        "load_matcher().segmenter.is_word('出售身份证', 2, 5);"
        "index_row('出售 身份证', '四件套', 'warm', [])"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEISHI_")}
    subprocess.run(
        [sys.executable, "-c", build],
        env={**env, "HEISHI_CACHE_DIR": str(cache)},
        cwd=Path(__file__).resolve().parent.parent,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return cache


# Tests that judge real processes against the clock (a daemon's turns on short intervals,
# stops within a deadline, a server's answer while another request burns CPU) and failed
# under load: `make test` runs them alone after the rest, which runs on two workers
# (pytest-xdist), so another test's load never pushes one past its deadline.
SERIAL_MODULES = {
    "test_run",
    "test_stop",
    "test_web_hostile",
    "test_redis_restart",
    "test_workers",
}


def pytest_collection_modifyitems(items):
    for item in items:
        if item.module is not None and item.module.__name__.rsplit(".", 1)[-1] in SERIAL_MODULES:
            item.add_marker(pytest.mark.serial)
