"""Actors benchmark: look-ups of sellers, contacts and actors on a store of 1M listings, and
the time migration 0021_actors takes to link a store of that size (wall and CPU time: on a
shared machine the CPU time says more).

    python -m benchmarks.actors [--listings 1000000] [--repeat 300]

The store is built once under benchmarks/.cache/ (raw SQL into heishi's schema): 50 sources
of uneven size, a seller for every 8 listings (a few sellers post most), each seller with a
Telegram handle and half of them a QQ number, 2% of sellers an alias on another source that
shares a contact of the first, 5% with a USDT address in their text, 1% of listings in a
near-duplicate cluster with another seller's, and 20% of listings with a second version. The
actor tables are then filled by `monitor.actors.backfill.backfill`, the code the migration
runs, and timed: that is the one-off cost of upgrading a store of this size.

Timed `--repeat` times each, on random samples, after one warm-up pass: every listing with a
contact (`store.actor_reads.contact_listings`), a listing's seller and actor
(`store.actor_reads.listing_actor`), an actor's aliases, contacts and links (what its page reads first). Their p95 (target < 20 ms)
is compared with the way related listings were found before, a scan of every listing's
contacts JSON (a few samples: each takes seconds). `load_actor` (the whole actor page) is
reported too. Results in benchmarks/results/actors.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sqlite3
import statistics
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
RESULTS = HERE / "results" / "actors.json"
LAYOUT = "v2"  # bump when the cached store's layout changes: it is rebuilt
TARGET_MS = 20.0
SOURCES = 50
CHUNK = 50_000
BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _tron(rng: random.Random) -> str:
    payload = b"\x41" + rng.randbytes(20)
    raw = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    number, text = int.from_bytes(raw, "big"), ""
    while number:
        number, digit = divmod(number, 58)
        text = BASE58[digit] + text
    return text


def _day(n: int) -> str:
    return f"2026-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:00:00Z"


def build_store(path: Path, listings: int) -> float:
    """The store with listings and versions written raw, then linked by the backfill; returns
    the backfill's seconds."""
    from monitor.actors.backfill import backfill
    from monitor.store import open_store

    tmp = path.with_suffix(".building")
    for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        leftover.unlink(missing_ok=True)
    open_store(tmp).close()
    rng = random.Random(22)
    sellers = max(10, listings // 8)
    source_of = [
        f"source{min(SOURCES - 1, int(SOURCES * rng.random() ** 2))}" for _ in range(sellers)
    ]
    contacts_of: list[list[str]] = []
    address_of: dict[int, str] = {}
    for s in range(sellers):
        own = [f"telegram:tg_seller_{s}"] + ([f"qq:{100000 + s}"] if s % 2 else [])
        if s > 10 and rng.random() < 0.02:  # an alias: another name elsewhere, a shared contact
            other = rng.randrange(s)
            source_of[s] = f"source{(int(source_of[other][6:]) + 1) % SOURCES}"
            own = [contacts_of[other][0]] + own[1:]
        contacts_of.append(own)
        if rng.random() < 0.05:
            address_of[s] = _tron(rng)
    conn = sqlite3.connect(tmp, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO sources (name, kind) VALUES (?, 'forum')",
        [(f"source{s}",) for s in range(SOURCES)],
    )
    conn.execute(
        "INSERT INTO runs (id, source, started_at, status) VALUES (1, 'source0', ?, 'ok')",
        (_day(0),),
    )
    conn.execute("COMMIT")
    started = time.perf_counter()
    for chunk in range(0, listings, CHUNK):
        conn.execute("BEGIN")
        for n in range(chunk, min(listings, chunk + CHUNK)):
            seller = int(sellers * rng.random() ** 2)
            contacts = json.dumps(contacts_of[seller])
            text = f"出售 身份证 料 第{n}批，联系 TG @{contacts_of[seller][0].split(':')[1]}"
            if seller in address_of:
                text += f"，USDT {address_of[seller]}"
            cluster = None
            if n > 100 and rng.random() < 0.01:  # the same offer as an earlier listing
                cluster = rng.randrange(1, n)
                conn.execute("UPDATE listings SET cluster_id = ? WHERE id = ?", (cluster, cluster))
            row = (n + 1, source_of[seller], str(n), f"卖家{seller}", contacts, f"料 {n}", text)
            conn.execute(
                "INSERT INTO listings (id, source, site_id, seller, contacts, title, text, price, "
                "status, first_seen, last_seen, last_run_id, version, cluster_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 800, 'live', ?, ?, 1, 1, ?)",
                (*row, _day(n), _day(n + 30), cluster),
            )
            conn.execute(
                "INSERT INTO listing_versions (listing_id, version, run_id, seen_at, seller, "
                "contacts, title, text, price) VALUES (?, 1, 1, ?, ?, ?, ?, ?, 800)",
                (n + 1, _day(n), *row[3:]),
            )
            if rng.random() < 0.2:
                conn.execute(
                    "INSERT INTO listing_versions (listing_id, version, run_id, seen_at, seller, "
                    "contacts, title, text, price) VALUES (?, 2, 1, ?, ?, ?, ?, ?, 600)",
                    (n + 1, _day(n + 7), *row[3:]),
                )
                conn.execute("UPDATE listings SET version = 2, price = 600 WHERE id = ?", (n + 1,))
        conn.execute("COMMIT")
        done = min(listings, chunk + CHUNK)
        print(f"  {done:,} listings ({done / (time.perf_counter() - started):,.0f}/s)", flush=True)
    conn.close()
    with open_store(tmp) as store:
        started, cpu = time.perf_counter(), time.process_time()
        with store.transaction():
            linked = backfill(store)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"  backfill: {linked:,} versions linked in {seconds:.0f} s ({cpu:.0f} s CPU)", flush=True
    )
    tmp.replace(path)
    for suffix in ("-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    path.with_suffix(".backfill.json").write_text(
        json.dumps({"versions": linked, "seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1)})
    )
    return seconds


def ensure_store(listings: int) -> Path:
    path = CACHE / f"actors-{LAYOUT}-{listings}.db"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        print(f"building {path} ({listings:,} listings; once, takes minutes)", flush=True)
        build_store(path, listings)
    return path


def _p(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def _timed(fn, samples: list) -> list[float]:
    for sample in samples[:20]:
        fn(sample)  # warm the pages these look-ups read
    timings = []
    for sample in samples:
        started = time.perf_counter()
        fn(sample)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def measure(path: Path, repeat: int) -> dict[str, Any]:
    from monitor.actors.profile import load_actor
    from monitor.store import open_store

    rng = random.Random(7)
    backfill = json.loads(path.with_suffix(".backfill.json").read_text())
    with open_store(path, readonly=True) as store:
        conn = store.conn
        counts = {
            name: conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
            for name in ("listings", "listing_versions", "sellers", "contacts", "seller_links")
        }
        actors = conn.execute("SELECT count(DISTINCT actor_id) FROM sellers").fetchone()[0]
        top = conn.execute("SELECT max(listings) FROM contacts").fetchone()[0]
        contacts = _random_rows(
            conn,
            "SELECT kind, coalesce(digest, value) FROM contacts WHERE id = ?",
            counts["contacts"],
            repeat,
            rng,
        )
        listing_ids = [rng.randrange(1, counts["listings"] + 1) for _ in range(repeat)]
        actor_ids = [
            r[0]
            for r in _random_rows(
                conn, "SELECT actor_id FROM sellers WHERE id = ?", counts["sellers"], repeat, rng
            )
        ]
        by_contact = _timed(lambda c: store.actor_reads.contact_listings(c[0], c[1]), contacts)
        by_listing = _timed(store.actor_reads.listing_actor, listing_ids)

        def actor_reads(actor_id: int) -> None:
            store.actor_reads.actor_sellers(actor_id, limit=200)
            store.actor_reads.actor_contacts(actor_id)
            store.actor_reads.actor_links(actor_id)

        by_actor = _timed(actor_reads, actor_ids)
        pages = _timed(lambda a: load_actor(store, a), actor_ids[: max(20, repeat // 10)])
        scans = []
        for kind, value in contacts[:3]:  # the old way: every listing's contacts JSON
            started = time.perf_counter()
            conn.execute(
                "SELECT id FROM listings WHERE contacts IS NOT NULL AND EXISTS "
                "(SELECT 1 FROM json_each(contacts) WHERE value = ?)",
                (f"{kind}:{value}",),
            ).fetchall()
            scans.append((time.perf_counter() - started) * 1000)
    lookups = by_contact + by_listing + by_actor
    return {
        **counts,
        "actors": actors,
        "largest_contact_listings": top,
        "store_mb": round(path.stat().st_size / 1e6),
        "backfill_versions": backfill["versions"],
        "backfill_s": backfill["seconds"],
        "backfill_cpu_s": backfill["cpu_seconds"],
        "backfill_versions_per_s": round(backfill["versions"] / max(backfill["seconds"], 0.001)),
        "repeat": repeat,
        "p50_ms": round(_p(lookups, 0.5), 3),
        "p95_ms": round(_p(lookups, 0.95), 3),
        "max_ms": round(max(lookups), 2),
        "contact_listings_p95_ms": round(_p(by_contact, 0.95), 3),
        "listing_actor_p95_ms": round(_p(by_listing, 0.95), 3),
        "actor_reads_p95_ms": round(_p(by_actor, 0.95), 3),
        "actor_page_p50_ms": round(statistics.median(pages), 2),
        "actor_page_p95_ms": round(_p(pages, 0.95), 2),
        "json_scan_median_ms": round(statistics.median(scans), 1),
    }


def _random_rows(
    conn: sqlite3.Connection, sql: str, count: int, n: int, rng: random.Random
) -> list:
    found: list[Any] = []
    while len(found) < n:
        row = conn.execute(sql, (rng.randrange(1, count + 1),)).fetchone()
        if row is not None:
            found.append(row)
    return found


def bench(quick: bool = False) -> dict[str, Any]:
    """For `python -m benchmarks`: p95 of actor look-ups on 1M listings (100k when quick)."""
    from benchmarks import table

    listings = 100_000 if quick else 1_000_000
    figures = measure(ensure_store(listings), repeat=100 if quick else 300)
    label = "1M" if listings == 1_000_000 else f"{listings // 1000}k"
    rows = [
        table.row(
            f"actor look-ups p95 on {label} listings (ms)",
            figures["p95_ms"],
            "ms",
            baseline=figures["json_scan_median_ms"],
            baseline_name="contacts JSON scan (median)",
            target=f"< {TARGET_MS:g} ms",
            meets=figures["p95_ms"] < TARGET_MS,
        ),
        table.row(
            f"actor page reads p95 on {label} listings (ms)", figures["actor_page_p95_ms"], "ms"
        ),
        table.row(f"migration 0021 backfill of {label} listings (s)", figures["backfill_s"], "s"),
    ]
    return {"name": "actors", "rows": rows, "details": figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    figures = measure(ensure_store(args.listings), args.repeat)
    print(json.dumps(figures, indent=1))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
