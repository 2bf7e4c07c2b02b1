"""The learned score: keywords/model.json read by monitor/matching/model.py, decided by the matcher with
a plain dot product, part of the rules version, and never scikit-learn or numpy in a crawl."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.errors import ConfigError
from monitor.matching.conventions import conventional_categories
from monitor.matching.keywords import load_keywords
from monitor.matching.matcher import Matcher, load_matcher
from monitor.matching.model import FORMAT, load_model, model_version, write_model
from monitor.matching.rules_version import rules_version
from tests.helpers import HEISHI

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = ROOT / "keywords"
OFFER = ("出身份证四件套", "全新身份证四件套 一手料 可验 QQ 88661234 每套300")
NEWS = ("警方破获一起倒卖个人信息案", "记者从警方获悉，犯罪嫌疑人在网上出售身份证信息，已被抓获。")


def keyword_copy(tmp_path: Path, model: dict | None) -> Path:
    """The project's keyword lists in tmp_path, with `model` (contents) as its model file."""
    directory = tmp_path / "keywords"
    directory.mkdir()
    for path in KEYWORDS.glob("*.toml"):
        shutil.copy(path, directory / path.name)
    if model is not None:
        write_model(model, directory / "model.json")
    return directory


def tiny_model(threshold: float = 0.5, **weights: float) -> dict:
    """A hand-made model over rule features: enough to show how decisions are made."""
    return {
        "format": FORMAT,
        "threshold": threshold,
        "alert": {"bias": -2.0, "weights": weights},
        "categories": {
            "threshold": 0.5,
            "models": {
                "identity": {"bias": -1.0, "weights": {"category:identity": 3.0}},
                "telecom": {"bias": -1.0, "weights": {"contact:qq": 0.2}},
            },
        },
        "features": sorted(weights),
    }


def test_the_shipped_model_decides_the_alert_and_says_what_moved_it():
    if not (KEYWORDS / "model.json").exists():
        pytest.skip("no model shipped in keywords/")
    matcher = load_matcher(KEYWORDS)
    assert matcher.model is not None and matcher.alert_threshold == matcher.model.threshold
    offer = matcher.match(*OFFER)
    assert offer.alert and offer.probability is not None
    assert offer.probability >= matcher.model.threshold
    assert offer.model_version == matcher.model.version
    assert "identity" in offer.categories
    moved = next(r for r in offer.reasons if r.startswith("moved by: "))
    # The words as the listing writes them; what data it names (身份证, 四件套) moves only
    # its categories, the alert model reads no topic words (training.TOPIC_BLIND_ALERT).
    assert "QQ 88661234" in moved and "身份证" not in moved and "四件套" not in moved
    news = matcher.match(*NEWS)
    assert not news.alert and news.probability is not None
    assert news.probability < matcher.model.threshold


def test_a_hand_made_model_decides_with_a_dot_product(tmp_path):
    # Only the rules' alert and a QQ contact count: 2.5 + 1.0 - 2.0 -> sigmoid(1.5) = 0.82.
    model = tiny_model(0.8, **{"rules:alert": 2.5, "contact:qq": 1.0})
    matcher = load_matcher(keyword_copy(tmp_path, model))
    result = matcher.match(*OFFER)
    assert result.alert and result.probability == pytest.approx(0.8176, abs=1e-4)
    assert result.categories == ["identity"]  # identity 0.88 >= 0.5; telecom 0.31 is not
    assert any("QQ" in r and "+1" in r for r in result.reasons if r.startswith("moved by"))
    # Without the contact the probability is sigmoid(0.5) = 0.62 < 0.8: no alert, whatever
    # the rules say.
    without_qq = matcher.match(OFFER[0], "全新身份证四件套 一手料 可验 每套300 私聊")
    assert without_qq.probability == pytest.approx(0.6225, abs=1e-4)
    assert not without_qq.alert
    assert (
        matcher.without_model().match(OFFER[0], "全新身份证四件套 一手料 可验 每套300 私聊").alert
    )


def test_how_a_text_is_written_is_a_feature(tmp_path):
    # Prose (sentences, particles, a reporter's dating) against a run of fragments: the same
    # words, written as news or as a seller's post, differ by style features alone.
    model = tiny_model(0.5, **{"style:fragments": 3.0, "style:dated": -3.0})
    matcher = load_matcher(keyword_copy(tmp_path, model))
    post = matcher.match("身份证四件套", "身份证四件套 一手 可验 QQ 88661234 每套300")
    assert post.probability == pytest.approx(0.731, abs=1e-3)  # sigmoid(-2 + 3)
    story = matcher.match(
        "记者调查", "记者近日调查发现，有人在网上出售身份证四件套，每套300元，联系QQ 88661234。"
    )
    assert story.probability == pytest.approx(0.0067, abs=1e-4)  # sigmoid(-2 - 3)
    # English prose has more spaces than commas: a space between two English words is no gap.
    brief = matcher.match(
        "Brief", "Sellers offer fullz and sgk lookups at 30 USD per record on Telegram"
    )
    assert brief.probability == pytest.approx(0.1192, abs=1e-4)  # sigmoid(-2)


def test_who_speaks_and_which_fields_are_listed_are_features(tmp_path):
    # A report tells of someone else's sale (警方, 被告人; police, said), a seller speaks of
    # their own stock (我们 现货, 私聊; DM, escrow); a name with an ID number makes a record set
    # identity data too, an ID number given for a look-up does not; English words count too.
    model = tiny_model(
        0.5,
        **{"voice:seller:priced": 3.0, "voice:reporter:priced": -3.0, "word:escrow": 1.0},
    )
    model["categories"]["models"]["identity"]["weights"] = {
        "fields:name+id": 3.0,
        "fields:id_as_key": -4.0,
    }
    model["categories"]["models"]["travel"] = {"bias": -1.0, "weights": {"category:travel": 3.0}}
    matcher = load_matcher(keyword_copy(tmp_path, model))
    seller = matcher.match("车主资料", "我们现货车主资料 姓名 身份证号 电话 每条三毛 私聊")
    assert seller.probability == pytest.approx(0.731, abs=1e-3)  # sigmoid(-2 + 3)
    assert "identity" in seller.categories
    report = matcher.match("判决", "法院查明，被告人以每条三毛的价格出售车主资料，共计五万条。")
    assert report.probability == pytest.approx(0.0067, abs=1e-4)  # sigmoid(-2 - 3)
    lookup = matcher.match("开房记录", "查开房记录 给名字身份证就行 一次两百 私聊")
    assert lookup.categories == ["travel"]  # identity -1 + 3 - 4: the ID number is the key
    # The convention's rules (conventions.py) hold whatever the category models learned: an
    # ID number sent to the seller is a look-up's key too (identity +2 here, dropped), and an
    # insider written in prose is `corporate`, which this model has no model for.
    sent = matcher.match("开房记录", "我们查开房记录 把名字和身份证号发我 一次两百 私聊")
    assert sent.categories == ["travel"], sent.reasons
    insider = matcher.match("开房记录", "我们在酒店里有人 查开房记录 一次两百 私聊")
    assert insider.categories == ["travel", "corporate"], insider.reasons
    english = matcher.match("Hotel DB", "Hotel guest DB, 2M rows, 900 USDT, DM me, escrow ok")
    assert english.probability == pytest.approx(0.881, abs=1e-3)  # sigmoid(-2 + 3 + 1)
    assert any("escrow +1" in r for r in english.reasons if r.startswith("moved by"))


@pytest.mark.parametrize(
    "listing, values, chosen, expected",
    [
        ("我们这边有人在派出所 户籍 一次三百", {}, ["identity"], ["identity", "corporate"]),
        ("央企内部员工通讯记录 真实性可验", {}, ["corporate"], ["corporate", "telecom"]),
        ("手机卡批量出 一张10元 工作室来", {}, ["telecom"], ["telecom", "accounts"]),
        ("酒店住客 姓名 身份证 手机", {"fields:name+id": 1.0}, ["travel"], ["travel", "identity"]),
        ("车牌查车主 姓名 身份证", {"fields:name+id": 1.0}, ["vehicle"], ["vehicle"]),  # a look-up
        ("查开房 把名字和身份证号发我", {}, ["travel", "identity"], ["travel"]),  # the key
        # everyday words: 所有人 is no insider, the seller's own bank no inside access, 电话
        # 单位 no 话单, 手机 卡号 no phone card, a bank card's SIM part of card data
        ("所有人都能查 我在银行办的卡", {}, ["finance"], ["finance"]),
        ("名单 带卡号 电话 单位", {}, ["medical"], ["medical"]),
        ("姓名 手机 卡号", {}, ["finance"], ["finance"]),
        ("银行卡 u盾 手机卡 一套", {}, ["finance"], ["finance"]),
    ],
)
def test_the_conventions_rules_read_the_listing_not_its_everyday_words(
    listing, values, chosen, expected
):
    # conventions.py over a normalised listing (no spaces between Chinese words in a real
    # one), its features and the categories the model chose
    values = values | {"category:identity:field": 1.0} if "身份证" in listing else values
    assert conventional_categories(chosen, values, listing.replace(" ", "")) == expected


def test_a_bare_row_of_keywords_keeps_the_rules_alert_and_prose_does_not(tmp_path):
    # A model that refuses everything (bias -9): only the rules' override can alert.
    model = tiny_model(0.5, **{"rules:alert": 0.0})
    model["alert"]["bias"] = -9.0
    matcher = load_matcher(keyword_copy(tmp_path, model))
    bare = matcher.match("出售 身份证 四件套", "")
    assert bare.alert and bare.probability is not None and bare.probability < 0.01
    assert any("bare listing of keywords" in r for r in bare.reasons)
    # The same words in a sentence, or longer than a keyword row, are the model's to judge.
    for title, text in (
        ("出售身份证四件套，一手", ""),
        ("出售 身份证 四件套", "全国 一手 现货 量大 从优 可验"),
    ):
        assert matcher.without_model().match(title, text).alert
        assert not matcher.match(title, text).alert
    assert not matcher.match("身份证丢了 怎么补办", "").alert  # no rules' alert to keep


def test_a_watched_brand_keeps_the_rules_alert(tmp_path):
    directory = keyword_copy(tmp_path, tiny_model(0.99, **{"rules:alert": 1.0}))
    matcher = load_matcher(directory)
    title, text = "星河银行储户资料", "星河银行 储户信息 姓名 身份证 手机号 十万条 一手 QQ 88661234"
    result = matcher.match(title, text)
    assert result.brands == ["星河银行"]
    assert matcher.without_model().match(title, text).alert
    assert result.probability is not None and result.probability < 0.99
    assert result.alert
    assert any("watched brand 星河银行" in r for r in result.reasons)
    # The same listing without the brand does not alert: the model says no.
    assert not matcher.match("储户资料", text.replace("星河银行", "")).alert


def test_the_model_is_part_of_the_rules_version(tmp_path):
    directory = keyword_copy(tmp_path, None)
    without = rules_version(directory).id
    assert load_keywords(directory, use_cache=False).rules_version == without
    write_model(tiny_model(0.5, **{"rules:alert": 1.0}), directory / "model.json")
    first = rules_version(directory).id
    assert first != without
    assert load_keywords(directory).rules_version == first
    write_model(tiny_model(0.6, **{"rules:alert": 1.0}), directory / "model.json")
    assert rules_version(directory).id not in (without, first)
    assert Matcher(load_keywords(directory)).rules_version == rules_version(directory).id


def test_a_model_file_edited_by_hand_or_malformed_names_the_file(tmp_path):
    directory = keyword_copy(tmp_path, tiny_model(0.5, **{"rules:alert": 1.0}))
    path = directory / "model.json"
    data = json.loads(path.read_text())
    assert data["version"] == model_version(data)
    data["threshold"] = 0.1
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="do not match its version") as caught:
        load_model(directory)
    assert str(path) in str(caught.value)
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read the model"):
        load_model(directory)
    path.write_text(json.dumps({"format": "other"}))
    with pytest.raises(ConfigError, match="not a heishi model file"):
        load_model(directory)


IMPORT_LINE = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)", re.M)
TRAINING_ONLY = {"sklearn", "scipy", "joblib", "threadpoolctl"}


def test_matching_with_the_model_imports_no_numpy_or_scikit_learn():
    code = (
        "import sys; from monitor.matching.matcher import load_matcher; m = load_matcher();"
        f"r = m.match({OFFER[0]!r}, {OFFER[1]!r}); assert r.probability is not None;"
        "print(sorted({n.split('.')[0] for n in sys.modules} & {'numpy', 'sklearn', 'scipy'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.slow
def test_a_crawl_imports_no_scikit_learn(demo_sites, tmp_path):
    """A real sweep of the demo forum; every Python process of it reports its imports
    (PYTHONPROFILEIMPORTTIME), and none is scikit-learn or what only training needs. (numpy
    is there: monitor/alerting/reposts.py computes MinHash signatures with it; the model does not.)"""
    assert (KEYWORDS / "model.json").exists(), "the project ships a model"
    db = tmp_path / "heishi.db"
    env = {
        **os.environ,
        **demo_sites.env(),
        "HEISHI_DB": str(db),
        "PYTHONPROFILEIMPORTTIME": "1",
        "COLUMNS": "120",
    }
    result = subprocess.run(
        [*HEISHI] + ["sweep", "demo_forum", "--db", str(db), "--create"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    # The crawl ran in a warm worker (monitor/running/workers.py), whose imports are in its own
    # log; with HEISHI_CRAWL_WORKERS=0 they are in the crawl's.
    logs = tmp_path / "heishi-logs"
    crawl_log = "".join(
        p.read_text() for p in [logs / "demo_forum.log", *sorted(logs.glob("crawl-worker-*.log"))]
    )
    crawl_modules = set(IMPORT_LINE.findall(crawl_log))
    # The crawl matched with the model: the check below looks at the right process. Compiled
    # (monitor/matching/compiled.py), model and features load inside the matcher's shared
    # library, which the import log names instead.
    assert {"monitor.matching.matcher", "scrapy"} <= crawl_modules
    assert {"monitor.matching.model", "monitor.matching.features"} <= crawl_modules or (
        "monitor.matching.compiled_core__mypyc" in crawl_modules
    )
    assert not {m.split(".")[0] for m in crawl_modules} & TRAINING_ONLY
    # The sweep's own process (it stores what the crawls found) loads none either.
    sweep_modules = {m.split(".")[0] for m in IMPORT_LINE.findall(result.stderr)}
    assert "monitor" in sweep_modules and not sweep_modules & TRAINING_ONLY
    with sqlite3.connect(db) as conn:
        alerts = conn.execute("SELECT COUNT(*) FROM alerts WHERE kind = 'new'").fetchone()[0]
    assert alerts > 0
