"""Full-text search: Chinese words inside longer runs, normalised queries, filters, old versions,
an index that sweeps keep in sync (and leave alone when nothing changed), the migration's
backfill, and the command line. Real SQLite files written the way crawls write them."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest

from monitor.analysis.search import QueryError, parse_query, search
from monitor.analysis.search_index import backfill
from monitor.store import open_store
from tests.helpers import heishi, heishi_here, listing, sweep


def found(db_path, query, **options):
    with open_store(db_path, readonly=True) as store:
        return search(store, query, **options).hits


def site_ids(db_path, query, **options):
    with open_store(db_path) as store:
        by_id = {row[0]: row[1] for row in store.conn.execute("SELECT id, site_id FROM listings")}
    return sorted(by_id[hit.listing_id] for hit in found(db_path, query, **options))


def index_state(db_path):
    """Rows in the index and a digest of every FTS5 block (a write changes at least one)."""
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT count(*) FROM listing_search").fetchone()[0]
        blocks = conn.execute("SELECT id, block FROM listing_search_data ORDER BY id").fetchall()
    digest = hashlib.sha256(b"".join(str(i).encode() + bytes(b) for i, b in blocks)).hexdigest()
    return rows, digest


@pytest.fixture
def market(db_path):
    """Two sources: offers of identity and bank data, and some chatter."""
    sweep(
        db_path,
        [
            listing("1", "出售身份证号码四件套全国可查", text="手持身份证照片，高价收购银行卡料"),
            listing("2", "今天去吃火锅", matched=False, text="火锅店的毛肚很好吃，推荐给大家"),
            listing("3", "护照资料打包出", text="护照扫描件 一手料 飞机联系"),
        ],
        source="forum",
    )
    bank = listing("10", "银行卡四件套批发", text="全国银行卡 身份证 手机卡 U盾 齐全")
    bank["match"].categories = ["finance"]
    sweep(db_path, [bank], source="market")
    return db_path


def test_a_chinese_word_inside_a_longer_run_of_characters_is_found(market):
    assert site_ids(market, "身份证") == ["1", "10"]
    assert site_ids(market, "四件套") == ["1", "10"]
    assert site_ids(market, "毛肚") == ["2"]
    # A keyword term that segmentation cut across (银行/卡料) is still found.
    assert site_ids(market, "银行卡") == ["1", "10"]


def test_one_run_and_spaced_words_are_the_same_query(market):
    assert site_ids(market, "身份证四件套") == site_ids(market, "身份证 四件套") == ["1", "10"]
    assert site_ids(market, "身份证 火锅") == []


def test_traditional_and_full_width_queries_find_simplified_text(market):
    assert site_ids(market, "身份證") == ["1", "10"]
    assert site_ids(market, "護照") == ["3"]
    assert site_ids(market, "Ｕ盾") == ["10"]


def test_phrases_or_and_exclusion(market):
    assert site_ids(market, '"手持 身份证"') == ["1"]
    assert site_ids(market, '"身份证 手持"') == []
    assert site_ids(market, "护照 OR 火锅") == ["2", "3"]
    assert site_ids(market, "身份证 -手机卡") == ["1"]


def test_title_words_rank_above_text_words(db_path):
    sweep(
        db_path,
        [
            listing("t", "护照资料", text="新到一批"),
            listing("x", "资料出售", text="有护照 有签证 还有很多别的东西，价格私聊"),
        ],
    )
    hits = found(db_path, "护照")
    assert [h.site_id for h in hits] == ["t", "x"]
    assert hits[0].score > hits[1].score > 0


def test_filters_on_source_category_and_last_seen(market, db_path):
    assert site_ids(market, "身份证", source="market") == ["10"]
    assert site_ids(market, "身份证", source="forum") == ["1"]
    assert site_ids(market, "身份证", category="finance") == ["10"]
    assert site_ids(market, "身份证", category="identity") == ["1"]
    assert site_ids(market, "身份证", source="nowhere") == []
    assert site_ids(market, "身份证", since="2000-01-01") == ["1", "10"]
    assert site_ids(market, "身份证", since="2999-01-01") == []
    assert site_ids(market, "身份证", since="1d") == ["1", "10"]


def test_category_filter_follows_categories_changed_without_new_text(market):
    # A retro-hunt rewrites categories in place; the trigger keeps the index's facets current.
    with open_store(market) as store, store.transaction():
        store.conn.execute(
            "UPDATE listings SET categories = '[\"identity\", \"telecom\"]' WHERE site_id = '10'"
        )
    assert site_ids(market, "身份证", category="telecom") == ["10"]
    assert site_ids(market, "身份证", category="finance") == []


def test_changed_listing_is_found_by_old_and_new_text_saying_which_version(db_path):
    sweep(db_path, [listing("1", "出售护照资料", text="护照扫描件")])
    sweep(db_path, [listing("1", "出售驾驶证资料", text="驾驶证扫描件")])
    (old,) = found(db_path, "护照")
    assert (old.current, old.found_in_version, old.version) == (False, 1, 2)
    assert old.title.text == "出售护照资料"
    (new,) = found(db_path, "驾驶证")
    assert (new.current, new.found_in_version) == (True, 2)
    # Both texts match: the listing is shown once, as its current text.
    (both,) = found(db_path, "护照 OR 驾驶证")
    assert both.current and both.found_in_version == 2


def test_unchanged_sweep_leaves_the_index_untouched_and_price_changes_add_no_row(db_path):
    items = [listing(str(n), f"身份证料 第{n}批") for n in range(5)]
    sweep(db_path, items)
    before = index_state(db_path)
    assert before[0] == 5
    outcome = sweep(db_path, items)
    assert outcome.counts["unchanged"] == 5
    assert index_state(db_path) == before
    repriced = [listing("0", "身份证料 第0批", price="100元", text="身份证料 第0批 800元")]
    sweep(db_path, repriced + items[1:])
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM listing_versions").fetchone()[0] == 6
    assert index_state(db_path)[0] == 5


def test_a_store_without_the_index_gains_one_on_open_filled_in_the_background(db_path):
    sweep(db_path, [listing("1", "出售护照资料", text="护照扫描件")])
    sweep(db_path, [listing("1", "出售驾驶证资料", text="驾驶证扫描件")])
    sweep(db_path, [listing("1", "出售驾驶证资料", price="1元", text="驾驶证扫描件")])
    with sqlite3.connect(db_path) as conn:  # the store as heishi left it before 0006_search
        conn.execute("DROP TABLE listing_search")
        conn.execute("DROP TRIGGER listing_search_facets")
        conn.execute("DELETE FROM schema_migrations WHERE name = '0006_search'")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute(f"PRAGMA user_version = {version - 1}")
    with open_store(db_path) as store:
        assert store.search.index_size() == 0  # opening did not wait for the index
        applied = {r[0] for r in store.conn.execute("SELECT name FROM schema_migrations")}
        assert "0006_search" in applied
        state = backfill(store)
        assert state is not None and state.complete
        assert store.search.index_size() == 2  # three versions, two texts
    assert [h.found_in_version for h in found(db_path, "护照")] == [1]
    assert [h.current for h in found(db_path, "驾驶证")] == [True]


def test_query_syntax_errors_are_clear():
    for query, message in [
        ('"身份证', "unclosed double quote"),
        ("OR 身份证", "OR needs a word on both sides"),
        ("身份证 OR", "ends with OR"),
        ("-身份证", "no words"),
        ("！！", "no words"),
    ]:
        with pytest.raises(QueryError, match=message):
            parse_query(query)


def test_query_words_are_quoted_so_no_text_is_read_as_fts5_syntax(market):
    assert site_ids(market, 'NEAR( AND* ^title: 身份证 {text} "a" *') == []
    assert site_ids(market, "title:身份证") == []  # a word, not a column filter
    assert parse_query("张三身份证").expression.count('"张" + "三"') == 1


def test_cli_json_lists_results_with_highlights_and_versions(market):
    result = heishi_here("search", "--db", str(market), "身份證", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["ranked_versions"] == 2 and data["window_full"] is False
    by_site = {r["site_id"]: r for r in data["results"]}
    assert set(by_site) == {"1", "10"}
    first = by_site["1"]
    start, end = first["title_highlights"][0]
    assert first["title"][start:end] == "身份证"
    assert first["current"] is True and first["found_in_version"] == 1
    assert " " not in first["title"]  # the original text, not the segmented words
    filtered = heishi_here("search", "--db", str(market), "身份证", "--source", "market", "--json")
    assert [r["site_id"] for r in json.loads(filtered.stdout)["results"]] == ["10"]


def test_cli_table_shows_the_original_text(market):
    result = heishi_here("search", "--db", str(market), "身份证", "四件套")
    assert result.returncode == 0, result.stderr
    assert "出售身份证号码四件套全国可查" in result.stdout
    assert "current text" in result.stdout


def test_cli_malformed_query_exits_2_with_a_message(market):
    result = heishi_here("search", "--db", str(market), '"身份证')
    assert result.returncode == 2
    assert "unclosed double quote" in result.stderr
    assert "Traceback" not in result.stderr
    result = heishi_here("search", "--db", str(market), "身份证", "--since", "last tuesday")
    assert result.returncode == 2 and "--since" in result.stderr


def test_ranking_is_fts5_bm25_with_title_weighted(db_path):
    texts = [
        ("护照资料", "新到一批 护照 签证"),
        ("资料出售", "有护照 有签证 还有很多别的东西，价格私聊"),
        ("签证", "护照 护照 护照"),
        ("护照签证一条龙", "驾驶证"),
        ("杂货", "偶尔也有签证和护照的资料出售，量大从优，欢迎咨询"),
    ]
    chatter = [listing(f"c{n}", f"闲聊{n}", matched=False, text="今天天气不错") for n in range(40)]
    sweep(db_path, [listing(str(n), t, text=text) for n, (t, text) in enumerate(texts)] + chatter)
    query = "护照 OR 签证"
    hits = found(db_path, query)
    with open_store(db_path, readonly=True) as store:
        expression = parse_query(query).expression
        fts5 = store.conn.execute(
            "SELECT v.listing_id, -bm25(listing_search, 4.0, 1.0, 0.5, 0.0) AS score "
            "FROM listing_search s JOIN listing_versions v ON v.id = s.rowid "
            "WHERE listing_search MATCH ? ORDER BY score DESC",
            (expression,),
        ).fetchall()
    assert [h.listing_id for h in hits] == [row[0] for row in fts5]
    assert [h.score for h in hits] == pytest.approx([row[1] for row in fts5], rel=1e-9)
    assert len(hits) == 5


@pytest.mark.slow
def test_search_says_when_new_keyword_lists_left_the_index_stale(market, tmp_path):
    import shutil
    from pathlib import Path

    # Each search in a process of its own: a process reads the keyword lists once.
    keywords = tmp_path / "keywords"
    shutil.copytree(Path(__file__).resolve().parent.parent / "keywords", keywords)
    env = {"HEISHI_KEYWORDS_DIR": str(keywords)}
    same = heishi("search", "--db", str(market), "身份证", "--json", env=env)
    assert json.loads(same.stdout)["index_current"] is True and "reindex" not in same.stderr
    (keywords / "blueberry.toml").write_text(
        'category = "identity"\n\n[terms]\n"蓝莓套餐" = { weight = 3.0 }\n', encoding="utf-8"
    )
    stale = heishi("search", "--db", str(market), "身份证", "--json", env=env)
    assert stale.returncode == 0, stale.stderr
    assert json.loads(stale.stdout)["index_current"] is False
    assert "heishi search --reindex" in stale.stderr
    rebuilt = heishi("search", "--db", str(market), "--reindex", env=env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    again = heishi("search", "--db", str(market), "身份证", "--json", env=env)
    assert json.loads(again.stdout)["index_current"] is True
    # The installed keyword lists lack the new term: to them this index is the stale one.
    assert (
        json.loads(heishi("search", "--db", str(market), "身份证", "--json").stdout)[
            "index_current"
        ]
        is False
    )


@pytest.mark.slow
def test_a_store_indexed_before_the_segmentation_was_recorded_is_not_called_stale(market):
    with sqlite3.connect(market) as conn:
        conn.execute("DELETE FROM search_state")
    result = heishi_here("search", "--db", str(market), "身份证", "--json")
    assert json.loads(result.stdout)["index_current"] is None and "reindex" not in result.stderr
