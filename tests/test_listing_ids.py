"""Listing ids come in blocks per source, so a source's rows sit together in the table."""

from __future__ import annotations

from monitor.store.listing_ids import FIRST_BLOCK, LARGEST_BLOCK, next_block_size


def _new_listing(store, source: str, n: int) -> int:
    state = {"url": f"http://127.0.0.1/{source}/{n}", "title": f"t{n}", "content_hash": str(n)}
    with store.transaction():
        store.runs.ensure_source(source, "forum", None)
        return store.listings.insert(source, str(n), state, None, "2026-11-23T00:00:00Z")


def test_interleaved_sources_get_runs_of_consecutive_ids(store):
    ids: dict[str, list[int]] = {"a": [], "b": []}
    for n in range(FIRST_BLOCK + 10):
        for source in ids:
            ids[source].append(_new_listing(store, source, n))
    a, b = ids["a"], ids["b"]
    # The first block of each source is one unbroken run; the other source's block follows it.
    assert a[:FIRST_BLOCK] == list(range(1, FIRST_BLOCK + 1))
    assert b[:FIRST_BLOCK] == list(range(FIRST_BLOCK + 1, 2 * FIRST_BLOCK + 1))
    # The second block is twice as big and starts past every block handed out.
    assert a[FIRST_BLOCK] == 2 * FIRST_BLOCK + 1
    assert b[FIRST_BLOCK] == a[FIRST_BLOCK] + 2 * FIRST_BLOCK
    assert len(set(a) | set(b)) == len(a) + len(b)
    rows = store.conn.execute("SELECT source, count(*) FROM listings GROUP BY source").fetchall()
    assert dict(rows) == {"a": FIRST_BLOCK + 10, "b": FIRST_BLOCK + 10}


def test_blocks_double_up_to_a_limit():
    sizes = [next_block_size(None)]
    while sizes[-1] < LARGEST_BLOCK:
        sizes.append(next_block_size(sizes[-1]))
    assert sizes[0] == FIRST_BLOCK and sizes[1] == 2 * FIRST_BLOCK
    assert next_block_size(LARGEST_BLOCK) == LARGEST_BLOCK


def test_a_store_with_old_global_ids_gets_blocks_past_them(store):
    """A store upgraded from before id blocks: new ids never collide with the old ones."""
    with store.transaction():
        store.runs.ensure_source("old", "forum", None)
        store.conn.execute(
            "INSERT INTO listings (id, source, site_id, status) VALUES (5000, 'old', 'x', 'live')"
        )
    first = _new_listing(store, "new", 1)
    assert first == 5001
    assert _new_listing(store, "old", 2) == 5001 + FIRST_BLOCK
