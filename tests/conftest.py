"""Shared fixtures: real SQLite files, real demo sites, isolated config."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_install(tmp_path_factory, monkeypatch):
    """Each test gets its own install secret; the jieba cache is shared across the session."""
    home = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("HEISHI_SECRET_FILE", str(home / "secret.key"))
    monkeypatch.setenv("HEISHI_CACHE_DIR", str(home / "cache"))


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "heishi.db"


@pytest.fixture
def store(db_path):
    from monitor.store import open_store

    with open_store(db_path) as opened:
        yield opened
