"""Someone who can write to the Redis of distributed sweeps: pickles pushed into a live sweep's
queue and item stream run nothing and are counted; unsigned sweep records and items are never
acted on; Redis AUTH and TLS work end to end and a wrong password is one clear line. Real
redis-server processes started here, real workers, writer and demo sites."""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from monitor.config import PROJECT_ROOT
from monitor.running import distributed as dist
from tests.cluster import (
    REDIS_SERVER,
    Cluster,
    assert_every_listing_once,
    cluster_env,
    free_port,
    runs,
)
from tests.helpers import HEISHI, wait_for

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(
        REDIS_SERVER is None,
        reason="the redis-server binary is absent (`make setup` installs Debian's redis-server)",
    ),
]
PASSWORD = "s3cret-for-tests"


class Touch:
    """Unpickling this runs `touch PATH`: what an attacker pushes where pickles are read."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def start_redis(directory: Path, *extra: str, tls: bool = False) -> tuple[subprocess.Popen, int]:
    port = free_port()
    argv = [REDIS_SERVER, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    argv += ["--dir", str(directory)]
    argv += ["--port", "0", "--tls-port", str(port)] if tls else ["--port", str(port)]
    server = subprocess.Popen([*argv, *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return server, port


def answering(url: str) -> bool:
    try:
        return bool(dist.connect(url).ping())
    except Exception:
        return False


@pytest.fixture
def redis_server(tmp_path) -> Iterator[str]:
    """A plain redis-server for one test: its URL."""
    server, port = start_redis(tmp_path)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        wait_for(lambda: answering(url), 10, "redis-server")
        yield url
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture
def password_redis(tmp_path) -> Iterator[int]:
    """A redis-server that requires PASSWORD: its port."""
    server, port = start_redis(tmp_path, "--requirepass", PASSWORD)
    try:
        wait_for(lambda: answering(f"redis://:{PASSWORD}@127.0.0.1:{port}/0"), 10, "redis")
        yield port
    finally:
        server.terminate()
        server.wait(10)


def start_sweep(env: dict[str, str], source: str) -> str:
    started = subprocess.run(
        [*HEISHI, "distributed", "sweep", source, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 0, started.stdout + started.stderr
    (record,) = json.loads(started.stdout)["sweeps"]
    return record["sweep"]


def settles(condition: Callable[[], object], timeout: float) -> bool:
    try:
        wait_for(condition, timeout, "")
    except AssertionError:
        return False
    return True


def stored_ids(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {r[0] for r in conn.execute("SELECT site_id FROM listings")}


def test_pickles_pushed_into_a_live_sweep_run_nothing_and_the_sweep_completes(
    redis_server, demo_sites, tmp_path
):
    marker_queue = tmp_path / "ran-from-queue"
    marker_stream = tmp_path / "ran-from-stream"
    db = tmp_path / "heishi.db"
    env = cluster_env(demo_sites, redis_server)
    client = dist.connect(redis_server)
    # Slow enough (some 5 s a sweep) that the queue still holds most of the forum when the
    # poison goes in: it does within milliseconds of the second listing written.
    slow = ["--set", "DOWNLOAD_DELAY=0.1"]
    with Cluster(tmp_path, env, db, *slow, workers=("worker1",)):
        sweep = start_sweep(env, "demo_forum")
        wait_for(lambda: client.scard(dist.sweep_key(sweep, "written")) >= 2, 60, "listings")
        # Into the live queue, first in line (score = -priority), in the queue's own format.
        poison = b"0|" + pickle.dumps(Touch(marker_queue))
        client.zadd(dist.sweep_key(sweep, "queue"), {poison: -1000})
        # Onto the item stream: a pickle, and a forged listing that is valid JSON.
        client.xadd(
            dist.ITEM_STREAM,
            {"sweep": sweep, "site_id": "x", "item": pickle.dumps(Touch(marker_stream))},
        )
        forged = {"site_id": "forged-1", "url": "http://127.0.0.1/forged", "title": "forged"}
        client.xadd(
            dist.ITEM_STREAM,
            {"sweep": sweep, "site_id": "forged-1", "item": json.dumps(forged)},
        )
        closed = settles(lambda: dist.sweep_info(client, sweep).get("state") == "closed", 90)
    assert not marker_queue.exists() and not marker_stream.exists()
    assert closed, "the sweep did not complete"
    assert "forged-1" not in stored_ids(db)
    assert_every_listing_once(db, {"demo_forum": "forum"})
    run = runs(db)["demo_forum"]
    stats = json.loads(run["stats"])
    assert stats[dist.REJECTED_STAT] == 3  # one in the queue, two on the stream
    # Every listing was stored, but someone wrote to Redis without the key: nothing is
    # marked removed on the word of this sweep.
    assert run["status"] == "partial" and "not signed" in run["error"]
    # Logged without the payload.
    logs = "".join(p.read_text(errors="replace") for p in tmp_path.rglob("*.log"))
    assert "dropped a queue entry" in logs and "dropped stream entry" in logs
    assert "touch" not in logs


def test_unsigned_sweep_records_get_no_crawl_and_no_run(redis_server, tmp_path, db_path):
    from monitor.running.writer import SweepWriter
    from spiders.distributed.worker import Worker

    client = dist.connect(redis_server)
    # A sweep registered by someone without the key, with an option for a source name.
    for sweep, source in (("evil-1", "--stats=/tmp/heishi-evil"), ("demo_forum-x", "demo_forum")):
        client.hset(
            dist.sweep_key(sweep),
            mapping={"source": source, "kind": "forum", "state": "open", "created": "1"},
        )
        client.zadd(dist.ACTIVE_SWEEPS, {sweep: 1})
    client.zadd(dist.ACTIVE_SWEEPS, {"../../etc/evil": 1})
    writer = SweepWriter(redis_server, db_path)
    worker = Worker(redis_server, log_dir=tmp_path / "logs")
    try:
        writer.step(block=0)
        worker.step()
        assert worker.crawls == {}
        assert writer.recorders == {}
        assert not (tmp_path / "logs").exists()
    finally:
        worker.stop()
    assert not db_path.exists()  # no run was opened for them


def test_signed_entries_are_bound_to_their_sweep_and_purpose():
    from monitor.running.payload_signing import BadSignature, Signer

    signer = Signer(os.urandom(32))
    other = Signer(os.urandom(32))
    blob = signer.wrap("request", "sweep-a", b'{"url": "http://127.0.0.1/"}')
    assert signer.unwrap("request", "sweep-a", blob) == b'{"url": "http://127.0.0.1/"}'
    for purpose, sweep, by in (
        ("request", "sweep-b", signer),  # replayed into another sweep
        ("item", "sweep-a", signer),  # replayed as another kind of entry
        ("request", "sweep-a", other),  # another installation's key
    ):
        with pytest.raises(BadSignature):
            by.unwrap(purpose, sweep, blob)
    with pytest.raises(BadSignature):
        signer.unwrap("request", "sweep-a", blob[:-1] + b"!")  # tampered
    with pytest.raises(BadSignature):
        signer.unwrap("request", "sweep-a", b"0|" + pickle.dumps(Touch(Path("/nonexistent"))))


def test_the_queue_serializer_is_json_and_refuses_what_heishi_does_not_queue(tmp_path):
    from scrapy import Request
    from scrapy.http import FormRequest
    from scrapy_playwright.page import PageMethod

    from monitor.sites import find_site
    from spiders.distributed import serializer
    from spiders.kinds import spider_class
    from spiders.screenshots import masked_screenshot, screenshot_methods

    site = find_site("demo_market")
    spider = spider_class(site.kind).for_site(site)()
    login = FormRequest("http://127.0.0.1/login", formdata={"u": "x"}, callback=spider.parse_list)
    request = Request(
        "http://127.0.0.1/list?page=2",
        callback=spider.parse_list,
        errback=spider.list_page_failed,
        headers={"Referer": "http://127.0.0.1/"},
        priority=5,
        meta={
            "heishi_page": 2,
            "playwright": True,
            "playwright_page_methods": [
                PageMethod("wait_for_selector", "#done", state="attached", timeout=100),
                *screenshot_methods(),
            ],
            "listing": {"site_id": "7", "list_screenshot": b"\x89PNG", "extra": {}},
            "heishi_then": [login],
        },
    )
    data = serializer.encode_request(request, spider)
    json.loads(data)  # plain JSON
    again = serializer.decode_request(data, spider)
    assert again.url == request.url and again.priority == 5
    assert again.callback == spider.parse_list and again.errback == spider.list_page_failed
    assert again.headers[b"Referer"] == b"http://127.0.0.1/"
    assert again.meta["listing"]["list_screenshot"] == b"\x89PNG"
    methods = again.meta["playwright_page_methods"]
    assert [m.method for m in methods] == ["wait_for_selector", masked_screenshot]
    assert methods[0].kwargs == {"state": "attached", "timeout": 100}
    (nested,) = again.meta["heishi_then"]
    assert isinstance(nested, FormRequest) and nested.body == login.body

    def tampered(**changes):
        plain = json.loads(data)
        plain.update(changes)
        return json.dumps(plain).encode()

    hostile = [
        tampered(_class="subprocess.Popen"),
        tampered(callback="__init__"),
        tampered(meta={"x": {"$pm": ["evaluate", ["fetch('http://127.0.0.1/')"]], "kw": {}}}),
        tampered(meta={"x": {"$pm": ["os.system", ["touch /tmp/x"]], "kw": {}}}),
        tampered(meta={"x": {"$pm": ["goto", ["file:///etc/passwd"]], "kw": {}}}),
        tampered(meta={"x": {"$py": "os.system"}}),
        pickle.dumps(Touch(tmp_path / "ran")),
    ]
    for payload in hostile:
        with pytest.raises(serializer.UnsafeRequest):
            serializer.decode_request(payload, spider)
    assert not (tmp_path / "ran").exists()
    with pytest.raises(serializer.UnsafeRequest, match="meta.when"):
        serializer.encode_request(Request("http://127.0.0.1/", meta={"when": object()}), spider)
    with pytest.raises(serializer.UnsafeRequest, match="page function"):
        unknown = {"playwright_page_methods": [PageMethod(os.system, "true")]}
        serializer.encode_request(Request("http://127.0.0.1/", meta=unknown), spider)


def test_no_module_that_reads_redis_imports_pickle():
    sources = [
        *Path(PROJECT_ROOT, "spiders", "distributed").glob("*.py"),
        Path(PROJECT_ROOT, "monitor", "running", "distributed.py"),
        Path(PROJECT_ROOT, "monitor", "running", "writer.py"),
    ]
    unsafe = re.compile(r"import (?:c?pickle|marshal|shelve|dill)\b|picklecompat|\beval\(|\bexec\(")
    for path in sources:
        assert not unsafe.search(path.read_text(encoding="utf-8")), path


def test_distributed_commands_refuse_to_start_without_the_key(redis_server, monkeypatch):
    monkeypatch.delenv("HEISHI_DISTRIBUTED_KEY_FILE")
    env = {**os.environ, "HEISHI_DISTRIBUTED_REDIS_URL": redis_server}
    for args in (["writer", "--until-idle"], ["worker"], ["distributed", "sweep", "demo_forum"]):
        result = subprocess.run(
            [*HEISHI, *args], env=env, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 2, (args, result.stderr)
        assert "HEISHI_DISTRIBUTED_KEY_FILE is not set" in result.stderr
        assert "heishi distributed keygen" in result.stderr
        assert "Traceback" not in result.stderr
    assert dist.open_sweeps(dist.connect(redis_server)) == []


def test_keygen_writes_a_private_key_once(tmp_path):
    key = tmp_path / "keys" / "distributed.key"
    made = subprocess.run(
        [*HEISHI, "distributed", "keygen", str(key)], capture_output=True, text=True, timeout=30
    )
    assert made.returncode == 0, made.stderr
    assert key.stat().st_mode & 0o777 == 0o600
    assert len(bytes.fromhex(key.read_text().strip())) == 32
    again = subprocess.run(
        [*HEISHI, "distributed", "keygen", str(key)], capture_output=True, text=True, timeout=30
    )
    assert again.returncode == 2 and "exists already" in again.stderr


def crawl_argv_of_running_crawls(sweep: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "spiders.crawl" in argv and sweep in argv:
            found.append(argv)
    return found


def test_a_sweep_through_a_redis_with_a_password(password_redis, demo_sites, tmp_path):
    url = f"redis://:{PASSWORD}@127.0.0.1:{password_redis}/0"
    db = tmp_path / "heishi.db"
    env = cluster_env(demo_sites, url)
    seen_argv: list[str] = []
    with Cluster(tmp_path, env, db, "--set", "DOWNLOAD_DELAY=0.1", workers=("worker1",)):
        sweep = start_sweep(env, "demo_forum")
        client = dist.connect(url)

        def closed() -> bool:
            seen_argv.extend(crawl_argv_of_running_crawls(sweep))
            return dist.sweep_info(client, sweep).get("state") == "closed"

        wait_for(closed, 90, "the sweep")
    assert runs(db)["demo_forum"]["status"] == "ok"
    assert_every_listing_once(db, {"demo_forum": "forum"})
    # The password reached the crawls through their environment, not their command line.
    assert seen_argv and not any(PASSWORD in argv for argv in seen_argv)
    logs = "".join(p.read_text(errors="replace") for p in tmp_path.rglob("*.log"))
    assert PASSWORD not in logs and "***@127.0.0.1" in logs


@pytest.mark.parametrize(
    "auth, expected",
    [(f":wrong-{PASSWORD}@", "refused the password"), ("", "needs a password")],
)
def test_a_wrong_or_missing_redis_password_is_one_clear_line(password_redis, auth, expected):
    url = f"redis://{auth}127.0.0.1:{password_redis}/0"
    for args in (["writer", "--until-idle"], ["worker"], ["distributed", "status"]):
        result = subprocess.run(
            [*HEISHI, *args, "--redis", url],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert expected in result.stderr and "Traceback" not in result.stderr
        assert PASSWORD not in result.stderr  # the URL is shown without its password
        assert "hint: " in result.stderr


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "redis.crt", directory / "redis.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_a_sweep_through_redis_over_tls_with_a_password(demo_sites, tmp_path):
    cert, key = self_signed_certificate(tmp_path)
    tls = ["--tls-cert-file", str(cert), "--tls-key-file", str(key)]
    tls += ["--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no"]
    server, port = start_redis(tmp_path, *tls, "--requirepass", PASSWORD, tls=True)
    url = f"rediss://:{PASSWORD}@127.0.0.1:{port}/0?ssl_ca_certs={cert}"
    try:
        wait_for(lambda: answering(url), 10, "redis-server over TLS")
        # Without the CA the server's certificate is refused, with one clear line.
        untrusted = subprocess.run(
            [*HEISHI, "distributed", "status", "--redis", url.split("?")[0]],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert untrusted.returncode == 2 and "certificate verify failed" in untrusted.stderr
        db = tmp_path / "heishi.db"
        env = cluster_env(demo_sites, url)
        with Cluster(tmp_path, env, db, workers=("worker1",)):
            sweep = start_sweep(env, "demo_forum")
            client = dist.connect(url)
            wait_for(lambda: dist.sweep_info(client, sweep).get("state") == "closed", 90, "sweep")
        assert runs(db)["demo_forum"]["status"] == "ok"
        assert_every_listing_once(db, {"demo_forum": "forum"})
    finally:
        server.terminate()
        server.wait(10)


def test_redacted_urls_keep_everything_but_the_password():
    assert dist.redacted("redis://:pw@10.0.0.5:6379/0") == "redis://:***@10.0.0.5:6379/0"
    assert (
        dist.redacted("rediss://user:pw@host:6380/1?ssl_ca_certs=/ca.pem")
        == "rediss://user:***@host:6380/1?ssl_ca_certs=/ca.pem"
    )
    assert dist.redacted("redis://10.0.0.5:6379/0") == "redis://10.0.0.5:6379/0"


def test_a_matched_page_crosses_redis_with_its_numbers_masked(redis_server):
    """A worker hands a matched listing's page to the writer through Redis, which may persist
    it: the numbers it quotes are masked before it leaves the worker."""
    from monitor.matching.match_result import MatchResult
    from monitor.running.payload_signing import load_signer
    from spiders.distributed.pipelines import HandoffPipeline
    from spiders.items import FetchedPage

    class Counts(dict):
        def inc_value(self, name: str, count: int = 1) -> None:
            self[name] = self.get(name, 0) + count

    client = dist.connect(redis_server)
    signer = load_signer()
    counts = Counts()
    pipeline = HandoffPipeline(client, "sweep-1", True, counts, signer, b"k" * 32, (2, 2))
    page = FetchedPage(
        url="http://127.0.0.1/thread-1.html",
        text="<html><body><p>联系 138 0013 8000，样本 <b>110105</b>19491231002X"
        '<span title="6222021008123456784"></span></p></body></html>',
        encoding="utf-8",
        fetched_at="2026-12-02T00:00:00+00:00",
    )
    match = MatchResult(score=0.99, alert=True, categories=["identity"], hits=[], reasons=[])
    pipeline.process_item({"site_id": "1", "title": "出售 身份证", "page": page, "match": match})
    ((_, fields),) = client.xrange(dist.ITEM_STREAM)
    _, item = dist.decode_item(signer, fields)
    digits = re.sub(r"\D", "", json.dumps(item, ensure_ascii=False))
    assert "联系" in item["page"]["text"]  # the page went along
    for number in ("13800138000", "11010519491231002", "6222021008123456784"):
        assert number not in digits
    assert counts["heishi/evidence_pii_masked"] == 3
