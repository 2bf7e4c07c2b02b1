"""The matcher: alerts on data-sale listings, not on ordinary text; offsets, speed, robustness."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from monitor.matching.evaluate import evaluate_file
from monitor.matching.matcher import load_matcher

DATA = Path(__file__).parent / "data"
DEV = Path("/work/shared/eval/dev.jsonl")


@pytest.fixture(scope="module")
def matcher():
    return load_matcher().without_model()  # the rules alone (the model: tests/test_model.py)


def test_listing_alerts_with_categories_hits_and_reasons(matcher):
    result = matcher.match(
        "出 四件套", "出四件套 身份证 银行卡 手机卡 U盾 全套 一手 薇信: sell_4set"
    )
    assert result.alert and result.categories == ["identity"]
    assert result.reasons and result.score >= matcher.threshold
    assert {h.field for h in result.hits} == {"title", "text"}
    assert result.extraction.contacts[0].kind == "wechat"


def test_hits_point_at_the_original_obfuscated_text(matcher):
    text = "出售 身 😀份-證 照片 正反面，ＱＱ：８８６６１"
    result = matcher.match("", text)
    assert result.alert
    for hit in result.hits:
        assert text[hit.start : hit.end] == hit.surface
    assert any(h.surface == "身 😀份-證 照片" for h in result.hits)


@pytest.mark.parametrize(
    "title, text",
    [
        ("", "我们不会出售、出租您的个人信息，除非获得您的授权。"),
        ("", "警方破获一起侵犯公民个人信息案，抓获犯罪嫌疑人5名，查获身份证信息10万条。"),
        ("", "被告人通过QQ群出售公民个人信息3万条，获利5000元，判处有期徒刑一年。"),
        ("反诈提醒", "出租出借出售四件套属于违法行为，请广大市民提高警惕。"),
        ("招聘", "招聘快递员 需提供身份证 月薪8000元 联系电话"),
        ("出裤子", "出两条全新牛仔裤子 尺码不合适 一百元"),
        ("", "新买的床上四件套 纯棉 出售 120元"),
        ("", "坐飞机去上海，航班延误两小时"),
        ("", "公司的用户数据分析平台上线了，欢迎试用"),
        ("", "这批布料不错，做衣服的好料子"),
    ],
)
def test_ordinary_text_does_not_alert(matcher, title, text):
    result = matcher.match(title, text)
    assert not result.alert, result.reasons


def test_watched_brand_is_reported(matcher):
    assert matcher.match("", "星河银行 客户数据 出售").brands == ["星河银行"]


def test_threshold_argument_and_environment(monkeypatch):
    assert load_matcher(threshold=99).without_model().match("", "社工库 无限查询").alert is False
    monkeypatch.setenv("HEISHI_ALERT_THRESHOLD", "0.5")
    assert load_matcher().threshold == 0.5


def test_empty_huge_and_binary_text_are_handled_in_bounded_time(matcher):
    assert matcher.match("", "").score == 0
    assert not matcher.match("", "").alert
    big = ("今天天气不错，出去走走。出售身份证 " * 40_000)[:1_000_000]
    started = time.perf_counter()
    matcher.match("标题", big)
    junk = bytes(range(256)).decode("latin-1") * 2000 + "\udcff\x00\ufeff" * 1000
    matcher.match(junk, junk)
    assert time.perf_counter() - started < 30


def test_mixed_encodings_are_matched_after_decoding_or_fail_soft(matcher):
    listing = "出售身份证信息 一万条800 QQ 88661234"
    # GBK bytes read as UTF-8 with replacement, UTF-8 read as Latin-1: garbage, never a crash.
    for garbled in (
        listing.encode("gbk").decode("utf-8", errors="replace"),
        listing.encode("utf-8").decode("latin-1"),
        listing.encode("gbk").decode("utf-8", errors="surrogateescape"),
    ):
        result = matcher.match("", garbled)
        assert not result.alert and result.reasons
    # Text mixing a correctly decoded listing with a mis-decoded one still finds the listing.
    mixed = listing.encode("gbk").decode("latin-1") + "\n" + listing + "\n" + "\ufffd" * 50
    result = matcher.match("", mixed)
    assert result.alert and result.extraction.volumes[0].count == 10_000
    for hit in result.hits:
        assert mixed[hit.start : hit.end] == hit.surface


def test_meets_targets_on_own_labelled_set():
    files = [DATA / "listings.jsonl", DATA / "hard_negatives.jsonl"]
    reports = [evaluate_file(path) for path in files]
    tp = sum(r["tp"] for r in reports)
    fp = sum(r["fp"] for r in reports)
    fn = sum(r["fn"] for r in reports)
    examples = sum(r["examples"] for r in reports)
    assert examples >= 300
    assert tp / (tp + fp) >= 0.95
    assert tp / (tp + fn) >= 0.93
    exact = sum(r["category_exact"] * (r["tp"] + r["fn"]) for r in reports) / (tp + fn)
    assert exact >= 0.85


def test_public_text_rarely_alerts_and_finds_real_leak_listings():
    """Privacy policies, wholesale adverts, news, court reports, tech and slang vs real dumps."""
    report = evaluate_file(DATA / "public_text.jsonl")
    ordinary = report["fp"] + report["tn"]
    assert ordinary >= 100 and report["tp"] + report["fn"] >= 50
    assert report["fp"] / ordinary < 0.04  # target: false alerts on under 5%
    assert report["recall"] >= 0.85  # target: 0.8


@pytest.mark.parametrize(
    "text",
    [
        "我们不会向任何第三方出售、出租或交易您的个人信息。",
        "贵公司承诺对上述信息严格保密，不得将其出售、提供给无关第三方。",
        "We do not sell, rent or trade your personal data or customer database.",
        "据报道，某平台5亿条用户数据在暗网被售卖，售价1588元。",
    ],
)
def test_negated_passive_and_reported_sales_do_not_alert(matcher, text):
    assert not matcher.match("", text).alert


@pytest.mark.parametrize("text", ["今天拆快递开盒有惊喜", "这就是脱裤子放屁", "去库子里拿东西"])
def test_slang_with_nothing_else_is_its_everyday_sense(matcher, text):
    assert not matcher.match("", text).alert


@pytest.mark.skipif(not DEV.exists(), reason="held-out dev set not on this machine")
def test_meets_targets_on_held_out_dev_set():
    report = evaluate_file(DEV)
    assert report["precision"] >= 0.95
    assert report["recall"] >= 0.9
    assert report["category_exact"] >= 0.8


def test_warm_start_loads_caches_without_jieba(tmp_path):
    # The speed itself is the matcher benchmark's (warm_start_s, target < 0.5 s); here, what
    # makes it fast: a warm process reads the caches, never imports jieba, rebuilds nothing.
    from monitor import config

    def dictionaries():  # jieba's cut dictionaries and the word cuts built from them
        return {p: p.stat().st_mtime_ns for p in config.cache_dir().glob("jieba-*")}

    from monitor.matching.matcher import clear_cache

    clear_cache()  # a matcher made now, with this test's cache directory (an earlier test's
    warm = load_matcher()  # cached matcher may keep another one)
    warm.match("", "出售 身份证 料")
    assert warm.segmenter.is_word("我出售资料", 1, 3)  # builds the boundary word cut
    caches = dictionaries()
    assert any(p.suffix == ".wordcut" for p in caches)
    code = (
        "import sys; from monitor.matching.matcher import load_matcher; m=load_matcher(); "
        "r=m.match('', '出售 身份证 料'); w=m.segmenter.is_word('我出售资料', 1, 3); "
        "print('jieba' in sys.modules, r.alert, w)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "True"]
    assert dictionaries() == caches


def test_results_serialise(matcher):
    result = matcher.match("车主信息", "车主信息 一手 10万条 500元 VX: carinfo88")
    assert json.loads(json.dumps(result.to_dict(), ensure_ascii=False))["alert"] is True


@pytest.mark.slow
def test_benchmark_runs_on_a_tiny_input(tmp_path, capsys):
    from monitor.cli.bench import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    out = tmp_path / "matcher.json"
    args = parser.parse_args(["bench", "matcher", "--texts", "40", "--out", str(out)])
    bench = __import__("monitor.cli.bench", fromlist=["x"])._benchmarks_matcher()
    report = bench.run(40, seed=1, start_runs=0)  # no warm-start subprocesses: keep it quick
    assert set(report["mixes"]) == {"listings", "forum"}
    for mix in report["mixes"].values():
        assert mix["texts"] == 40 and mix["matcher_texts_per_s"] > 0 and mix["ratio"] > 0
    chatter = bench.build_mix("forum", 200, seed=1)
    assert chatter == bench.build_mix("forum", 200, seed=1)  # deterministic
    assert args.func(args) == 0
    assert json.loads(out.read_text())["mixes"]["forum"]["texts"] == 40
    assert "ratio" in capsys.readouterr().out


def test_first_pass_never_drops_a_text_the_full_analysis_would_alert_on(matcher):
    from benchmarks.matcher import build_mix

    rows = []
    for path in sorted(DATA.glob("*.jsonl")):
        rows += [(r["title"], r["text"]) for r in map(json.loads, path.open(encoding="utf-8"))]
    rows += build_mix("forum", 500, seed=3)
    decided = 0
    for title, text in rows:
        quick = matcher.match(title, text)
        full = matcher.match(title, text, first_pass=False)
        assert (quick.alert, quick.score if quick.alert else 0) == (
            full.alert,
            full.score if full.alert else 0,
        ), (title, text)
        decided += quick.reasons[0].startswith("first pass")
    assert decided > len(rows) / 3  # the first pass really decides most unrelated texts


def test_the_marker_of_a_cut_text_is_not_read_as_the_sellers_words():
    """A listing padded past the text cap ends with heishi's own English note; the learned
    score must judge the seller's words only (the note read as discussion and hid the offer)."""
    from monitor.matching.matcher import load_matcher
    from monitor.text_cuts import cut_text, without_cut_marker

    offer = "出售全国身份证四件套，一手货源，可验。\n" + "料" * 100_000
    cut = cut_text(offer, 20_000)
    assert cut.endswith("characters]") and without_cut_marker(cut) == cut[: cut.rindex("\n[")]
    matcher = load_matcher()
    assert matcher.match("出售 全国 身份证 四件套", cut).alert
    # Only the crawl's marker at the very end is dropped; the same words elsewhere are text.
    inside = "前言\n[… cut by heishi: the text had 9 characters]\n后文"
    assert without_cut_marker(inside) == inside


def test_a_priced_offer_with_a_sellers_handle_alerts_however_it_is_phrased():
    """The learned score reads style; an offer in full sentences that the rules score high and
    that gives a price and a handle to write to is kept, and a report that names a messaging
    platform and quotes prices is not (it names no handle)."""
    from monitor.matching.matcher import load_matcher

    matcher = load_matcher()
    offer = matcher.match(
        "出售 身份证 四件套",
        "出售全国身份证四件套料，一手货源，量大从优，5000元一套，联系 TG：@laowang_data",
    )
    assert offer.alert, offer.reasons
    report = matcher.match(
        "Threat intel brief",
        "This brief tracks sellers offering Chinese identity data on Telegram. Common terms "
        "include fullz, sgk, four-piece kits and KYC bypass; prices range from 2 to 40 USD per "
        "record.",
    )
    assert not report.alert, report.reasons
