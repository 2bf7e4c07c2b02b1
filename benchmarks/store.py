"""Store benchmark: a sweep of 10,000 listings (1% changed) into a store that already holds
1M listings and 5M versions, against raw sqlite3 `executemany` of the same rows, same run.

    python -m benchmarks.store [--listings 1000000] [--versions-per-listing 5] [--sweep 10000]

The big store is built once (raw SQL into heishi's own schema) and kept under
benchmarks/.cache/ for the next run. Prints the rates and their ratio (target >= 0.5x) and
writes benchmarks/results/store.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = 100
CATEGORIES = ["identity", "finance", "telecom", "logistics", "vehicle", "platform"]


def build_store(path: Path, listings: int, versions: int) -> None:
    """heishi's schema, filled with raw SQL (fast): `listings` rows with `versions` each."""
    from monitor.store import open_store

    open_store(path).close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO sources (name, kind) VALUES (?, 'forum')",
        [(f"source{s}",) for s in range(SOURCES)],
    )
    conn.execute(
        "INSERT INTO runs (id, source, started_at, status) VALUES (1, 'source0', '2026-01-01T00:00:00Z', 'ok')"
    )
    conn.execute("COMMIT")
    rng = random.Random(1)
    ids = _IdBlocks()
    chunk = 50_000
    for start in range(0, listings, chunk):
        conn.execute("BEGIN")
        rows = []
        version_rows = []
        for n in range(start, min(listings, start + chunk)):
            state = _state(n, rng.randint(100, 9000))
            # Listings of all sources arrive interleaved, as they do over months of sweeps;
            # ids come from heishi's own per-source blocks.
            listing_id = ids.take(f"source{n % SOURCES}")
            rows.append((listing_id, f"source{n % SOURCES}", str(n), *state.values(), versions))
            for v in range(1, versions + 1):
                version_rows.append((listing_id, v, 1, "2026-01-01T00:00:00Z", *state.values()))
        columns = ", ".join(_state(0, 0))
        conn.executemany(
            f"INSERT INTO listings (id, source, site_id, {columns}, version, status, first_seen, "
            f"last_seen, last_run_id) VALUES ({', '.join('?' * (len(rows[0])))}, 'live', "
            "'2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 1)",
            rows,
        )
        conn.executemany(
            f"INSERT INTO listing_versions (listing_id, version, run_id, seen_at, {columns}) "
            f"VALUES ({', '.join('?' * len(version_rows[0]))})",
            version_rows,
        )
        conn.execute("COMMIT")
        print(f"  built {min(listings, start + chunk):,} listings", end="\r", flush=True)
    print()
    conn.executemany(
        "UPDATE sources SET listing_id_next = ?, listing_id_end = ?, listing_id_block = ? "
        "WHERE name = ?",
        [(*block, name) for name, block in ids.blocks.items()],
    )
    conn.close()


class _IdBlocks:
    """heishi's listing id allocation (monitor/store/listing_ids.py), replayed in memory so
    the big store is laid out exactly as heishi would have written it."""

    def __init__(self) -> None:
        self.blocks: dict[str, list[int]] = {}  # source -> [next, end, size]
        self.top = 0

    def take(self, source: str) -> int:
        from monitor.store.listing_ids import next_block_size

        block = self.blocks.get(source)
        if block is None or block[0] >= block[1]:
            size = next_block_size(block[2] if block else None)
            block = [self.top + 1, self.top + 1 + size, size]
            self.top += size
            self.blocks[source] = block
        block[0] += 1
        return block[0] - 1


def _state(n: int, price: int) -> dict:
    """The stored state of listing n at `price`, exactly as monitor.changes computes it."""
    from monitor import changes

    return {k: v for k, v in changes.listing_state(_item(n, price)).items() if k != "evidence"}


def _item(n: int, price: int) -> dict:
    category = CATEGORIES[n % len(CATEGORIES)]
    return {
        "site_id": str(n),
        "url": f"http://127.0.0.1/t/{n}",
        "title": f"出 {category} 数据 第{n}批",
        "text": f"出 {category} 数据 第{n}批 {price}元 飞机联系",
        "seller": f"seller{n % 997}",
        "price_text": f"{price}元",
        "match": {
            "score": 6.0,
            "alert": True,
            "categories": [category],
            "hits": [],
            "reasons": [],
            "extraction": {"prices": [], "volumes": [], "contacts": []},
        },
        "pii": [],
    }


def sweep_items(
    source: int, count: int, listings: int, changed_share: float, seed: int
) -> list[dict]:
    """The listings of one source as a sweep sees them; `changed_share` of them repriced."""

    ids = [n for n in range(source, listings, SOURCES)][:count]
    rng = random.Random(seed)
    changed = set(rng.sample(ids, int(len(ids) * changed_share)))
    return [(n, n in changed) for n in ids]  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=1_000_000)
    parser.add_argument("--versions-per-listing", type=int, default=5)
    parser.add_argument("--sweep", type=int, default=10_000)
    parser.add_argument("--changed", type=float, default=0.01)
    args = parser.parse_args()
    from monitor.ingest import SweepRecorder
    from monitor.store import open_store

    cache = HERE / ".cache"
    cache.mkdir(exist_ok=True)
    db = cache / f"store-{args.listings}-{args.versions_per_listing}-blocks.db"
    if not db.exists():
        print(
            f"building {db} ({args.listings:,} listings, {args.listings * args.versions_per_listing:,} versions)"
        )
        started = time.perf_counter()
        build_store(db, args.listings, args.versions_per_listing)
        print(f"  built in {time.perf_counter() - started:.0f} s")
    per_source = args.listings // SOURCES
    if args.sweep > per_source:
        raise SystemExit(f"--sweep {args.sweep} exceeds the {per_source} listings of one source")
    with open_store(db) as store:
        current_price = dict(
            store.conn.execute(
                "SELECT site_id, price FROM listings WHERE source = 'source7' LIMIT ?",
                (args.sweep,),
            ).fetchall()
        )
    seed = int(time.time())
    plan = sweep_items(7, args.sweep, args.listings, args.changed, seed)
    items = []
    for n, changed in plan:
        price = int(current_price[str(n)])
        items.append(_item(n, price + 1 if changed else price))
    # The baseline: the same rows, written by raw sqlite3 executemany into a fresh table.
    rows = [(it["site_id"], *(_state_of(it).values())) for it in items]
    with tempfile.TemporaryDirectory() as tmp:
        raw = sqlite3.connect(Path(tmp) / "raw.db", isolation_level=None)
        raw.execute("PRAGMA journal_mode = WAL")
        raw.execute("PRAGMA synchronous = NORMAL")
        columns = ", ".join(_state_of(items[0]))
        raw.execute(
            f"CREATE TABLE listings (id INTEGER PRIMARY KEY, site_id TEXT UNIQUE, {columns})"
        )
        started = time.perf_counter()
        raw.execute("BEGIN")
        raw.executemany(
            f"INSERT INTO listings (site_id, {columns}) VALUES ({', '.join('?' * len(rows[0]))})",
            rows,
        )
        raw.execute("COMMIT")
        raw_seconds = time.perf_counter() - started
        raw.close()
    # Baseline (b): the same work done raw: executemany UPDATE of the same number of rows
    # in the same big store (another source's rows, so neither run finds the other's pages
    # in the cache).
    with open_store(db) as store:
        other = [
            r[0]
            for r in store.conn.execute(
                "SELECT id FROM listings WHERE source = 'source8' LIMIT ?", (len(items),)
            )
        ]
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    started = time.perf_counter()
    for start in range(0, len(other), 200):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "UPDATE listings SET last_seen = ?, last_run_id = ? WHERE id = ?",
            [("2026-06-01T00:00:00Z", 1, i) for i in other[start : start + 200]],
        )
        conn.execute("COMMIT")
    raw_update_seconds = time.perf_counter() - started
    conn.close()
    import datasketch  # noqa: F401  (a one-time import per process, not part of a sweep)

    started = time.perf_counter()
    recorder = SweepRecorder(db, source="source7", kind="forum")
    recorder.open()
    for item in items:
        recorder.record(item)
    outcome = recorder.close({"finish_reason": "finished"}, "finished")
    sweep_seconds = time.perf_counter() - started
    raw_rate = len(items) / raw_seconds
    sweep_rate = len(items) / sweep_seconds
    result = {
        "listings_in_store": args.listings,
        "versions_in_store": args.listings * args.versions_per_listing,
        "sweep_listings": len(items),
        "changed": outcome.counts["changed"],
        "unchanged": outcome.counts["unchanged"],
        "removed": outcome.counts["removed"],
        "raw_insert_rows_per_s": round(raw_rate),
        "raw_update_in_store_rows_per_s": round(len(other) / raw_update_seconds),
        "sweep_rows_per_s": round(sweep_rate),
        "ratio_vs_raw_insert": round(sweep_rate / raw_rate, 3),
        "ratio_vs_raw_update_in_store": round(sweep_rate * raw_update_seconds / len(other), 3),
        "target": 0.5,
    }
    print(json.dumps(result, indent=1))
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "store.json").write_text(json.dumps(result, indent=1) + "\n")


def _state_of(item: dict) -> dict:
    from monitor import changes

    return {k: v for k, v in changes.listing_state(item).items() if k != "evidence"}


if __name__ == "__main__":
    main()
