"""The store's schema: migrations upgrade old stores in place and never lose data."""

from __future__ import annotations

import sqlite3

import pytest

from monitor.errors import StoreError
from monitor.store import SCHEMA_VERSION, open_store
from monitor.store.connection import Store
from monitor.store.schema import MIGRATIONS
from tests.helpers import listing, sweep


def make_v1_store(path):
    """A store as the first release of heishi wrote it: core tables, user_version 1."""
    import sqlite_utils

    conn = sqlite3.connect(path, isolation_level=None)
    store = Store(sqlite_utils.Database(conn), path)
    with store.transaction():
        MIGRATIONS[0][1](store)
        conn.execute("PRAGMA user_version = 1")
    conn.close()


def test_an_old_store_is_upgraded_in_place_and_keeps_its_data(db_path):
    make_v1_store(db_path)
    with sqlite3.connect(db_path) as conn:
        conn.execute("INSERT INTO sources (name, kind) VALUES ('forum', 'forum')")
    sweep(db_path, [listing("1", "身份证四件套")])
    with open_store(db_path) as store:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        applied = [
            r[0] for r in store.conn.execute("SELECT name FROM schema_migrations ORDER BY rowid")
        ]
        assert applied == [name for name, _ in MIGRATIONS]
        assert "notifications" in store.db.table_names()
        assert "evidence" in store.db["listing_versions"].columns_dict
        assert store.listings.count() == 1


def test_opening_twice_applies_nothing_twice(db_path):
    open_store(db_path).close()
    open_store(db_path).close()
    with sqlite3.connect(db_path) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM schema_migrations")]
    assert len(names) == len(set(names)) == SCHEMA_VERSION


def test_a_store_from_a_newer_heishi_is_refused_not_damaged(db_path):
    open_store(db_path).close()
    with sqlite3.connect(db_path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    with pytest.raises(StoreError, match="newer than this heishi"):
        open_store(db_path)
