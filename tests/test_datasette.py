"""`heishi datasette`: a real Datasette subprocess on a free 127.0.0.1 port serves the store
with heishi's metadata and canned queries, cannot write to it, hides password hashes, and
sees what a sweep writes while it runs."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from monitor.datasette import METADATA_PATH
from monitor.store import open_store, utc_now
from monitor.store.filters import Filters
from tests.analyst_store import build_shared_store, item, sweep
from tests.helpers import HEISHI


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(base: str, path: str, **params):
    query = ("?" + urllib.parse.urlencode(params)) if params else ""
    with urllib.request.urlopen(f"{base}{path}{query}", timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    db_path, ids = build_shared_store(tmp_path_factory)
    named = db_path.with_name("store.db")  # not heishi.db: metadata follows the file's name
    with sqlite3.connect(db_path) as source, sqlite3.connect(named) as target:
        source.backup(target)
    with open_store(named) as store:
        store.review.add_user("ana", "viewer", "scrypt$16384$8$1$c2FsdA==$aGFzaA==", now=utc_now())
    return named, ids


@pytest.fixture(scope="module")
def datasette(store_path):
    db_path, _ = store_path
    port = free_port()
    process = subprocess.Popen(
        [*HEISHI] + ["datasette", "--db", str(db_path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ},
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            get_json(base, "/-/versions.json")
            break
        except (urllib.error.URLError, ConnectionError):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"datasette did not start: {process.stdout.read().decode()}")
            time.sleep(0.2)
    yield base
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.mark.slow
def test_metadata_is_served_under_the_stores_own_name(datasette):
    metadata = get_json(datasette, "/-/metadata.json")
    shipped = json.loads(METADATA_PATH.read_text(encoding="utf-8"))
    assert metadata["title"] == shipped["title"]
    database = metadata["databases"]["store"]
    assert database["tables"]["listings"]["columns"]["volume"].startswith("records offered")
    assert {"array": "categories"} in database["tables"]["alerts"]["facets"]
    assert {"listings_in_category", "listing_history", "alerts_with_status"} <= set(
        database["queries"]
    )
    assert not any(q.get("write") for q in database["queries"].values())


def test_canned_queries_answer_from_the_store(datasette, store_path):
    _, ids = store_path
    rows = get_json(
        datasette, "/store/listings_in_category.json", category="identity", _shape="array"
    )
    assert {r["listing_id"] for r in rows} == {ids["f1"], ids["m1"]}
    history = get_json(
        datasette, "/store/listing_history.json", listing_id=ids["f1"], _shape="array"
    )
    assert [(r["version"], r["price"]) for r in history] == [(1, 800.0), (2, 600.0)]
    seen = get_json(
        datasette, "/store/contact_sightings.json", contact="qq:88664422", _shape="array"
    )
    assert {r["source"] for r in seen} == {"forum_a", "market_b"}


def test_tables_and_views_come_with_their_facets(datasette):
    table = get_json(datasette, "/store/alerts.json")
    facets = table["facet_results"]
    assert {"status", "severity", "kind", "source", "categories"} <= set(facets)
    categories = {f["value"]: f["count"] for f in facets["categories"]["results"]}
    assert categories["identity"] >= 2 and "telecom" in categories
    view = get_json(datasette, "/store/v_contacts_across_sources.json", _shape="array")
    assert view[0]["contact"] == "qq:88664422" and view[0]["sources"] == 2


def test_datasette_reads_no_password_hash_and_opens_the_file_mutable_read_only(datasette):
    users = get_json(datasette, "/store.json", sql="select name, password_hash from users")
    assert users["rows"] == [["ana", None]]
    (database,) = [d for d in get_json(datasette, "/-/databases.json") if d["name"] == "store"]
    assert database["is_mutable"] is True  # not immutable=1: a running sweep stays visible


def test_write_sql_is_refused(datasette):
    with pytest.raises(urllib.error.HTTPError) as refused:
        get_json(datasette, "/store.json", sql="update alerts set status = 'resolved'")
    assert refused.value.code == 400


def test_the_write_connection_itself_is_query_only(store_path):
    """Plugins and writable canned queries would write through this connection."""
    from datasette.app import Datasette
    from datasette.plugins import pm

    from monitor.datasette import readonly

    db_path, _ = store_path
    if not pm.is_registered(readonly):
        pm.register(readonly, name="heishi-readonly")
    try:
        ds = Datasette([str(db_path)])
        database = ds.get_database("store")

        async def write():
            await database.execute_write("UPDATE alerts SET status = 'resolved'")

        with pytest.raises(Exception, match="readonly|read-only|query_only"):
            asyncio.run(write())
    finally:
        pm.unregister(readonly)
    with open_store(db_path, readonly=True) as store:
        assert store.alerts.where(Filters(status="resolved")) == []


def test_a_sweep_can_write_while_datasette_serves_and_datasette_sees_it(datasette, store_path):
    db_path, _ = store_path
    get_json(datasette, "/store/listings.json")  # Datasette holds its connections open
    sweep(
        db_path,
        "late_source",
        [item("z1", "新到 身份证 料", seller="新人", categories=["identity"], volume=70_000)],
    )
    rows = get_json(
        datasette, "/store.json", sql="select title from listings where source = 'late_source'"
    )
    assert rows["rows"] == [["新到 身份证 料"]]


def status_with_host(base: str, host: str, path: str = "/-/versions.json") -> int:
    request = urllib.request.Request(base + path, headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as refused:
        return refused.code


def test_requests_for_another_host_name_are_refused(datasette):
    """A page elsewhere whose name was rebound to 127.0.0.1 (DNS rebinding) gets nothing."""
    port = datasette.rsplit(":", 1)[1]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"[::1]:{port}"):
        assert status_with_host(datasette, host) == 200, host
    for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1.evil.example:{port}", ""):
        assert status_with_host(datasette, host) == 400, host
        assert status_with_host(datasette, host, "/store/users.json") == 400, host


def test_dangerous_sqlite_functions_are_refused(datasette):
    """Debian's SQLite has fts3_tokenizer(), which hands out (and takes) a C pointer."""
    for sql in (
        "select hex(fts3_tokenizer('simple'))",
        "select fts3_tokenizer('simple', x'0000000000000000')",
        "select load_extension('/tmp/x.so')",
    ):
        with pytest.raises(urllib.error.HTTPError) as refused:
            get_json(datasette, "/store.json", sql=sql)
        assert refused.value.code in (400, 403), sql
        assert "not authorized" in refused.value.read().decode(), sql
    assert get_json(datasette, "/store.json", sql="select lower('OK')")["rows"] == [["ok"]]


def test_more_host_names_can_be_allowed(store_path):
    db_path, _ = store_path
    port = free_port()
    process = subprocess.Popen(
        [*HEISHI]
        + ["datasette", "--db", str(db_path), "--port", str(port)]
        + ["--allow-host", "heishi.internal"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "HEISHI_DATASETTE_HOSTS": "datasette.lan, other.lan"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                get_json(base, "/-/versions.json")
                break
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"datasette did not start: {process.stdout.read().decode()}")
                time.sleep(0.2)
        for host in ("heishi.internal", f"heishi.internal:{port}", "datasette.lan", "other.lan"):
            assert status_with_host(base, host) == 200, host
        assert status_with_host(base, "evil.example") == 400
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
