"""Distributed crawling against a real redis-server on 127.0.0.1: two real worker processes
and the single writer sweep the demo sites into one store; a worker SIGKILLed mid-crawl loses
nothing; requests given up make the run partial; duplicates are written once."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.demo import content
from monitor.running import distributed as dist
from monitor.running.payload_signing import load_signer
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


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("redis")
    port = free_port()
    argv = [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    argv += ["--appendonly", "no", "--dir", str(directory)]
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = dist.connect(url)

    def answers() -> bool:
        try:
            return bool(client.ping())
        except Exception:
            return False

    try:
        wait_for(answers, 10, "redis-server")
        yield url
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture
def redis(redis_url):
    client = dist.connect(redis_url)
    client.flushall()
    return client


def test_two_workers_sweep_the_demo_sites_into_one_store_once(
    redis, redis_url, demo_sites, tmp_path
):
    sources = {"demo_forum": "forum", "demo_channel": "channel"}
    if Path(os.environ.get("HEISHI_CHROMIUM") or "/usr/bin/chromium").exists():
        sources["demo_market"] = "market"  # rendered by Chromium
    db = tmp_path / "heishi.db"
    env = cluster_env(demo_sites, redis_url)
    with Cluster(tmp_path, env, db, "--max-parallel", str(len(sources))):
        started = subprocess.run(
            [*HEISHI, "distributed", "sweep", *sources, "--wait", "--timeout", "90", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert started.returncode == 0, started.stdout + started.stderr
    sweeps = json.loads(started.stdout)["sweeps"]
    assert {s["source"]: s["status"] for s in sweeps} == dict.fromkeys(sources, "ok")
    assert_every_listing_once(db, sources)
    by_source = runs(db)
    assert {s: r["status"] for s, r in by_source.items()} == dict.fromkeys(sources, "ok")
    for source, site in sources.items():
        assert by_source[source]["items"] == len(content.entries(site, day=1))
    # The writer kept the evidence of matched listings beside its store, as a local crawl does.
    with sqlite3.connect(db) as conn:
        missing = conn.execute(
            "SELECT count(*) FROM listing_versions v JOIN listings l ON l.id = v.listing_id "
            "WHERE l.matched AND v.evidence IS NULL"
        ).fetchone()
        pages = conn.execute("SELECT count(*) FROM listing_versions WHERE evidence IS NOT NULL")
        assert missing == (0,) and pages.fetchone()[0] > 0
    assert list((tmp_path / "heishi-evidence").rglob("*.html.gz"))
    # Both workers crawled, and nothing of the sweeps is left in Redis.
    assert list((tmp_path / "worker1").glob("*.log")) and list((tmp_path / "worker2").glob("*.log"))
    assert dist.open_sweeps(redis) == [] and redis.xlen(dist.ITEM_STREAM) == 0


def test_a_worker_killed_mid_crawl_loses_nothing(redis, redis_url, demo_sites, tmp_path):
    db = tmp_path / "heishi.db"
    env = cluster_env(demo_sites, redis_url)
    lease = ["--set", "HEISHI_DISTRIBUTED_LEASE_SECONDS=2"]
    slow = ["--set", "DOWNLOAD_DELAY=0.25", *lease]
    # worker1 crawls alone, slowly, until it is killed, so every lease in flight is its own;
    # worker2 joins afterwards at full speed and must finish the sweep from the queue and the
    # expired leases.
    with Cluster(tmp_path, env, db, *slow, workers=("worker1",)) as cluster:
        site = dist.start_sweep(redis, load_signer(), "demo_forum", "forum", None)
        written = dist.sweep_key(site, "written")
        wait_for(lambda: redis.scard(written) >= 3, 45, "the first listings")
        leased = redis.hlen(dist.sweep_key(site, "inflight"))
        cluster.kill("worker1")  # the worker and its crawl, without a chance to clean up
        cluster.start_worker("worker2", *lease)
        wait_for(lambda: dist.sweep_info(redis, site).get("state") == "closed", 60, "the sweep")
        record = dist.sweep_info(redis, site)
    assert leased >= 1  # it was killed with requests in hand
    assert record["status"] == "ok", record
    run = runs(db)["demo_forum"]
    assert run["status"] == "ok" and run["removed"] == 0
    assert_every_listing_once(db, {"demo_forum": "forum"})
    stats = json.loads(run["stats"])
    assert stats.get(dist.REQUEUED_STAT, 0) >= 1  # its leases expired and others did them
    assert stats.get(dist.LOST_STAT, 0) == 0


def test_requests_given_up_make_the_run_partial_and_duplicates_count_once(
    redis, redis_url, db_path
):
    from monitor.running.writer import SweepWriter
    from tests.helpers import listing, sweep

    sweep(db_path, [listing("1", "身份证四件套"), listing("2", "银行卡料")], source="demo_forum")
    writer = SweepWriter(redis_url, db_path, max_deliveries=1)
    signer = load_signer()
    site = dist.start_sweep(redis, signer, "demo_forum", "forum", None)
    writer.step(block=0)
    queue = dist.SweepQueue(redis, site, lease_seconds=0.2, max_deliveries=1)
    queue.push(b"a request nobody finishes")
    assert queue.pop() is not None  # leased by a worker that then dies
    dist.mark_seeded(redis, site)
    item = listing("1", "身份证四件套")
    for _ in range(2):  # the same listing twice: a request redone after a lease expired
        redis.xadd(dist.ITEM_STREAM, dist.encode_item(signer, site, item))
    time.sleep(0.3)
    for _ in range(5):
        writer.step(block=0.1)
    (outcome,) = writer.outcomes
    assert outcome.status == "partial" and "given up" in (outcome.error or "")
    assert outcome.items == 1
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT site_id, status FROM listings ORDER BY site_id").fetchall() == [
            ("1", "live"),
            ("2", "live"),
        ]  # not seen, but never marked removed
        assert conn.execute("SELECT count(*) FROM listing_versions").fetchone() == (2,)


def test_items_written_again_after_redis_lost_their_acknowledgement_count_once(
    redis, redis_url, db_path
):
    """Redis went away after the store committed a batch and before it took the writer's
    acknowledgement (tests/test_redis_restart.py met it: a run of 43 listings said 47): the
    entries come back without their written mark, and the store knows them."""
    from monitor.running.writer import SweepWriter
    from tests.helpers import listing

    writer = SweepWriter(redis_url, db_path)
    signer = load_signer()
    site = dist.start_sweep(redis, signer, "demo_forum", "forum", None)
    writer.step(block=0)
    items = [listing(str(n), f"身份证四件套 {n}") for n in (1, 2, 3)]
    for item in items:
        redis.xadd(dist.ITEM_STREAM, dist.encode_item(signer, site, item))
    writer.step(block=0.1)
    redis.delete(dist.sweep_key(site, "written"))  # lost with the acknowledgement
    for item in [*items, listing("4", "身份证四件套 4")]:
        redis.xadd(dist.ITEM_STREAM, dist.encode_item(signer, site, item))
    dist.mark_seeded(redis, site)
    for _ in range(5):
        writer.step(block=0.1)
    (outcome,) = writer.outcomes
    assert outcome.status == "ok"
    assert outcome.items == 4
    assert outcome.counts["new"] == 4 and outcome.counts["unchanged"] == 0
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM listing_versions").fetchone() == (4,)
        assert conn.execute("SELECT count(*) FROM alerts WHERE kind = 'new'").fetchone() == (4,)
