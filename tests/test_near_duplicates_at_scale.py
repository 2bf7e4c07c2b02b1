"""The near-duplicate lookup at scale: a formulaic offer copied many times costs a new copy a
bounded number of candidates, and the copy still joins the copies' cluster."""

from __future__ import annotations

import sqlite3

from monitor.alerting.reposts import signature
from monitor.store import clusters, open_store
from monitor.store.clusters import CANDIDATES_PER_BAND
from tests.test_ingest import listing, sweep

TEMPLATE = "长期供应身份证数据 姓名 电话 地址 精准 不重复 新鲜 秒发 担保交易 {p}元一条 飞机 @{c}"


def copy(site_id: str, n: int) -> dict:
    text = TEMPLATE.format(p=n % 90 + 10, c=f"seller{n:03d}")
    return {**listing(site_id, "身份证数据 长期供应", text=text), "seller": f"seller{n:03d}"}


def test_a_new_copy_of_a_formulaic_offer_reads_a_bounded_number_of_candidates(db_path):
    copies = 8 * CANDIDATES_PER_BAND
    sweep(db_path, [copy(f"c{n}", n) for n in range(copies)], source="forum")
    with sqlite3.connect(db_path) as conn:
        clusters = {row[0] for row in conn.execute("SELECT DISTINCT cluster_id FROM listings")}
    assert clusters == {1}  # every copy was linked as it came
    found = signature("身份证数据 长期供应", TEMPLATE.format(p=55, c="newcomer"))
    assert found is not None
    with open_store(db_path) as store:
        candidates = store.clusters.signature_candidates(0, found.bands())
        uncapped = store.clusters.signature_candidates(0, found.bands(), per_band=10**6)
    assert len(uncapped) >= copies - 5  # (MinHash: a copy may share no band by chance)
    assert len(candidates) <= 4 * CANDIDATES_PER_BAND < len(uncapped)
    newest = sorted(c["id"] for c in uncapped)[-CANDIDATES_PER_BAND // 2 :]
    assert set(newest) <= {c["id"] for c in candidates}  # the newest copies, not any
    # A copy on another source still joins the cluster and is a repost.
    outcome = sweep(db_path, [copy("x1", 999)], source="market")
    assert outcome.counts["new"] == 1
    with sqlite3.connect(db_path) as conn:
        assert conn.execute(
            "SELECT cluster_id FROM listings WHERE source = 'market'"
        ).fetchone() == (1,)
        kinds = [r[0] for r in conn.execute("SELECT kind FROM alerts WHERE source = 'market'")]
    assert sorted(kinds) == ["new", "reposted"]


OTHER = "出售银行卡四件套 全国可查 实时更新 一手资源 质量保证 支持验货 量大从优 {p}元 联系 @{c}"


def _sweep_in_batches(db_path, items, source: str, batch_size: int) -> None:
    from monitor.alerting.ingest import SweepRecorder
    from tests.helpers import OK_STATS

    recorder = SweepRecorder(db_path, source=source, kind="forum", batch_size=batch_size)
    recorder.open()
    for item in items:
        recorder.record(item)
    recorder.close(dict(OK_STATS), "finished")


def _links(db_path) -> tuple[list, list, list]:
    with sqlite3.connect(db_path) as conn:
        return (
            conn.execute("SELECT source, site_id, cluster_id FROM listings ORDER BY id").fetchall(),
            conn.execute(
                "SELECT kind, listing_id, summary FROM alerts ORDER BY listing_id, kind"
            ).fetchall(),
            conn.execute(
                "SELECT band, key, listing_id FROM lsh_bands UNION ALL SELECT band, key, "
                "listing_id FROM lsh_bands_recent ORDER BY 1, 2, 3"
            ).fetchall(),
        )


def test_a_batch_links_copies_of_each_other_as_listings_written_one_by_one(tmp_path, monkeypatch):
    """The bands of a whole batch are read at once; copies within the batch, rewritten
    listings (their old bands deleted) and the per-band cap still link as before, and so
    they do when every sweep's close folds the recent bands into the big table."""
    first = [copy(f"c{n}", n) for n in range(3 * CANDIDATES_PER_BAND)]
    rewritten = [
        {**copy(f"c{n}", n), "text": OTHER.format(p=n, c=f"s{n}")}
        if n % 4 == 0
        else copy(f"c{n}", n)
        for n in range(3 * CANDIDATES_PER_BAND)
    ]
    second = [copy(f"m{n}", 500 + n) for n in range(CANDIDATES_PER_BAND)]
    second += [{**copy(f"o{n}", 700 + n), "text": OTHER.format(p=n, c=f"o{n}")} for n in range(12)]
    found = {}
    for batch_size, folded in ((1, False), (1000, False), (1000, True)):
        # Folding at every close: bands of the first sweeps in lsh_bands, later ones recent.
        monkeypatch.setattr(clusters, "RECENT_BANDS_LIMIT", 0 if folded else 10**9)
        db_path = tmp_path / f"batch{batch_size}-{folded}.db"
        _sweep_in_batches(db_path, first, "forum", batch_size)
        _sweep_in_batches(db_path, rewritten, "forum", batch_size)
        _sweep_in_batches(db_path, second, "market", batch_size)
        found[batch_size, folded] = _links(db_path)
        with open_store(db_path) as store:  # every folded key is in the filter look-ups use
            band_filter = store.clusters.band_filter()
            folded_keys = [key for (key,) in store.conn.execute("SELECT key FROM lsh_bands")]
            assert band_filter is not None and all(band_filter.maybe_held(folded_keys))
        assert bool(folded_keys) == folded
        with sqlite3.connect(db_path) as conn:
            recent = conn.execute("SELECT count(*) FROM lsh_bands_recent").fetchone()[0]
        assert (recent == 0) == folded
    listings, alerts, bands = found[1000, False]
    assert (listings, alerts, bands) == found[1, False] == found[1000, True]
    assert all(cluster is not None for _, _, cluster in listings)
    assert sum(kind == "reposted" for kind, _, _ in alerts) >= len(second) - 2


def test_a_fold_the_disk_has_no_room_for_leaves_the_bands_where_they_were(
    db_path, monkeypatch, caplog
):
    """The fold is not the run's: a full disk while folding keeps the run's outcome, the
    bands stay in the recent table (the next close tries again), foreign keys stay on."""
    import random

    from monitor.alerting.ingest import SweepRecorder
    from tests.helpers import OK_STATS

    items = [copy(f"c{n}", n) for n in range(12)]
    _sweep_in_batches(db_path, items, "forum", 100)
    rng = random.Random(3)
    with sqlite3.connect(db_path) as conn:  # more rows than the file has room for twice
        conn.executemany(
            "INSERT INTO lsh_bands_recent (band, key, listing_id) VALUES (?, ?, 1)",
            [(rng.randrange(16), rng.randrange(-(2**63), 2**63)) for _ in range(20_000)],
        )
    with sqlite3.connect(db_path) as conn:
        conn.execute("VACUUM")  # no free pages for the fold to take
    held = 20_000 + 12 * 16
    monkeypatch.setattr(clusters, "RECENT_BANDS_LIMIT", 0)
    recorder = SweepRecorder(db_path, source="forum", kind="forum")
    recorder.open()
    for item in items:
        recorder.record(item)
    recorder.flush()
    conn = recorder.store.conn
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages + 1}")  # room to close the run, no more
    outcome = recorder.close(dict(OK_STATS), "finished")
    assert outcome.status == "ok" and outcome.counts["unchanged"] == 12
    assert "bands not folded this time: disk full" in caplog.text
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM lsh_bands").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM lsh_bands_recent").fetchone() == (held,)
    with open_store(db_path) as store:  # room again: it folds, and checks keys after
        assert store.clusters.fold_recent_bands() == held
        assert store.conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
        # The filter of the folded keys had room for 4,096: it was made anew, larger.
        band_filter = store.clusters.band_filter()
        keys = [key for (key,) in store.conn.execute("SELECT key FROM lsh_bands")]
        assert band_filter is not None and band_filter.capacity >= 2 * held
        assert all(band_filter.maybe_held(keys))
        assert all(band_filter.maybe_held([key]) == [True] for key in keys[::500])
        absent = [rng.randrange(-(2**63), 2**63) for _ in range(1000)]
        assert sum(band_filter.maybe_held(absent)) < 50
