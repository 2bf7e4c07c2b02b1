"""Shared fixtures: real SQLite files, real demo sites, isolated config."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_install(tmp_path_factory, monkeypatch):
    """Each test gets its own install secret; the jieba cache is shared across the session.

    Nothing from the developer's own install reaches a test: every HEISHI_* variable is
    dropped, and the notification and severity files point at files that do not exist, so a
    real notify.toml in the checkout can never receive a test's alerts."""
    import os

    home = tmp_path_factory.getbasetemp()
    for name in [n for n in os.environ if n.startswith("HEISHI_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HEISHI_NOTIFY_FILE", str(home / "no-notify.toml"))
    monkeypatch.setenv("HEISHI_SEVERITY_FILE", str(home / "no-severity.toml"))
    monkeypatch.setenv("HEISHI_SECRET_FILE", str(home / "secret.key"))
    # The key distributed sweeps sign Redis entries with: one per session, never the user's.
    distributed_key = home / "distributed.key"
    if not distributed_key.exists():
        from monitor.payload_signing import generate_key_file

        generate_key_file(distributed_key)
    monkeypatch.setenv("HEISHI_DISTRIBUTED_KEY_FILE", str(distributed_key))
    monkeypatch.setenv("HEISHI_CACHE_DIR", str(home / "cache"))


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


# Tests that judge real processes against the clock (a daemon's turns on short intervals,
# stops within a deadline, a server's answer while another request burns CPU) and failed
# under load: `make test` runs them alone after the rest, which runs on two workers
# (pytest-xdist), so another test's load never pushes one past its deadline.
SERIAL_MODULES = {"test_run", "test_stop", "test_web_hostile"}


def pytest_collection_modifyitems(items):
    for item in items:
        if item.module is not None and item.module.__name__.rsplit(".", 1)[-1] in SERIAL_MODULES:
            item.add_marker(pytest.mark.serial)
