"""Near-duplicate signatures: heishi's numpy MinHash is datasketch's, bit for bit."""

from __future__ import annotations

import random
import subprocess
import sys

import numpy as np
from datasketch import MinHash

from monitor.alerting import reposts


def _texts() -> list[str]:
    rng = random.Random(5)
    texts = []
    for _ in range(300):
        words = [
            "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(rng.randint(1, 4)))
            for _ in range(rng.randint(3, 60))
        ]
        texts.append(" ".join(words) + f" {rng.randint(1, 99999)}元 QQ{rng.randint(10**5, 10**9)}")
    return texts


def test_signature_values_equal_datasketch_minhash_affine32_seed_1():
    for text in _texts():
        grams = reposts.shingles(f"标题 {text}")
        expected = MinHash(num_perm=reposts.NUM_PERM, seed=1, scheme="affine32")
        expected.update_batch(list(grams))
        found = reposts.signature("标题", text)
        assert found is not None
        assert found.values.dtype == np.uint32
        assert np.array_equal(found.values, expected.hashvalues.astype(np.uint32)), text


def test_similarity_estimates_follow_shared_text():
    base = "出售全国身份证四件套 姓名 电话 住址 一手资源 量大从优 看样私聊 飞机 @abcdef"
    same = reposts.signature("", base)
    repriced = reposts.signature("", base + " 300元")
    other = reposts.signature("", "二手笔记本电脑转让 九成新 电池良好 同城自提 价格可谈")
    assert same is not None and repriced is not None and other is not None
    assert same.similarity(repriced) >= reposts.SAME_TEXT
    assert same.similarity(other) < 0.2
    assert reposts.signature("", "太短") is None  # too few 3-grams to compare


def test_computing_a_signature_does_not_import_datasketch_or_scipy():
    # Importing datasketch loads scipy: most of a second in every crawl process; importing
    # numpy.random (for the permutations, now written out) 4-9 ms in every sweep process.
    code = (
        "import sys; from monitor.alerting import reposts; reposts.signature('标题', '出售身份证四件套 一手 "
        "量大从优 私聊'); print('datasketch' in sys.modules, 'scipy' in sys.modules, "
        "'numpy.random' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "False", "False"]


def _offer(site_id: str, text: str) -> dict:
    from monitor.matching.match_result import MatchResult

    match = MatchResult(score=5.0, alert=True, categories=["identity"], hits=[], reasons=["offer"])
    return {
        "site_id": site_id,
        "url": f"http://127.0.0.1/t/{site_id}",
        "title": "出售身份证四件套",
        "text": text,
        "seller": "老王",
        "match": match,
        "pii": [],
    }


def _sweep(db_path, items) -> None:
    from monitor.alerting.ingest import SweepRecorder

    recorder = SweepRecorder(db_path, source="forum", kind="forum", url="http://127.0.0.1/")
    recorder.open()
    for item in items:
        recorder.record(item)
    recorder.close({"finish_reason": "finished", "response_received_count": 1}, "finished")


def _bands(db_path) -> list[tuple[int, int, int]]:
    import sqlite3

    with sqlite3.connect(db_path) as conn:
        return conn.execute(
            "SELECT band, key, listing_id FROM lsh_bands UNION ALL "
            "SELECT band, key, listing_id FROM lsh_bands_recent ORDER BY 1, 2"
        ).fetchall()


def test_a_rewritten_offer_replaces_its_bands_and_leaves_none_behind(db_path):
    first = "全国身份证四件套 一手资源 量大从优 私聊 飞机 @abcdef 实时更新 可验 看样"
    _sweep(db_path, [_offer("1", first)])
    before = reposts.signature("出售身份证四件套", first)
    assert before is not None
    assert _bands(db_path) == sorted((b, k, 1) for b, k in before.bands())
    rewritten = "银行卡四件套 对公账户 U盾 全套资料 支持验卡 包售后 联系 QQ 123456789"
    _sweep(db_path, [_offer("1", rewritten)])  # far from the old text: signature replaced
    after = reposts.signature("出售身份证四件套", rewritten)
    assert after is not None and after.similarity(before) < reposts.SAME_TEXT
    assert _bands(db_path) == sorted((b, k, 1) for b, k in after.bands())


def test_an_older_store_gets_its_bands_in_one_btree(db_path):
    import sqlite3

    from monitor.store import open_store

    text = "全国身份证四件套 一手资源 量大从优 私聊 飞机 @abcdef 实时更新 可验 看样"
    _sweep(db_path, [_offer("1", text), _offer("2", text + " 新鲜")])
    with open_store(db_path) as store:
        assert store.clusters.fold_recent_bands() == 2 * reposts.BANDS
        # Folded without re-checking each row's listing; the connection checks again.
        assert store.conn.execute("PRAGMA foreign_keys").fetchone() == (
            1,
        )  # all in lsh_bands, as in a store before 0024
    expected = _bands(db_path)
    assert len(expected) == 2 * reposts.BANDS
    with sqlite3.connect(db_path) as conn:  # undo migration 0010: bands as stores had them
        conn.execute("DROP TABLE lsh_bands")
        conn.execute(
            "CREATE TABLE lsh_bands (band INTEGER, key INTEGER, listing_id INTEGER "
            "REFERENCES listings(id))"
        )
        conn.executemany("INSERT INTO lsh_bands VALUES (?, ?, ?)", expected)
        conn.execute("CREATE INDEX idx_lsh_bands_band_key ON lsh_bands (band, key)")
        conn.execute("DELETE FROM schema_migrations WHERE name = '0010_compact_bands'")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute(f"PRAGMA user_version = {version - 1}")
    open_store(db_path).close()
    assert _bands(db_path) == expected
    with sqlite3.connect(db_path) as conn:
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'lsh_bands'").fetchone()[0]
        indexes = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'lsh_bands' "
            "AND sql IS NOT NULL"
        ).fetchall()
    assert "WITHOUT ROWID" in sql and indexes == []


def test_a_new_price_keeps_the_links_and_signature_of_the_same_text(db_path):
    import sqlite3

    text = "全国身份证四件套 一手资源 量大从优 私聊 飞机 @abcdef 实时更新 可验 看样"
    _sweep(db_path, [_offer("1", text), {**_offer("2", text + " 新鲜"), "seller": "老李"}])
    links = "SELECT id, cluster_id FROM listings ORDER BY id"
    signed = "SELECT listing_id, version_id, signature FROM listing_signatures ORDER BY 1"
    with sqlite3.connect(db_path) as conn:
        before = conn.execute(links).fetchall(), conn.execute(signed).fetchall()
    assert before[0] == [(1, 1), (2, 1)]  # linked, a repost (another seller)
    bands = _bands(db_path)
    _sweep(db_path, [{**_offer("1", text), "price_text": "300元"}, _offer("2", text + " 新鲜")])
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT version FROM listings WHERE id = 1").fetchone() == (2,)
        after = conn.execute(links).fetchall(), conn.execute(signed).fetchall()
        kinds = [r[0] for r in conn.execute("SELECT kind FROM alerts WHERE listing_id = 1")]
    # The text it was linked with: same links, the signature of version 1, its bands.
    assert after == before and _bands(db_path) == bands
    assert kinds.count("reposted") == 0 and "changed" in kinds
