"""Keyword files scoped to sources and spider kinds; rules versions; `heishi eval --against`."""

from __future__ import annotations

import json
import shutil

import pytest

from monitor.cli.app import run
from monitor.config import PROJECT_ROOT
from monitor.errors import KeywordFileError
from monitor.matching.evaluate import compare_rules, read_examples
from monitor.matching.keyword_scope import scope_warnings
from monitor.matching.keywords import load_keywords
from monitor.matching.matcher import Matcher, load_matcher
from monitor.matching.rules_version import rules_version

KEYWORDS = PROJECT_ROOT / "keywords"
SITES = PROJECT_ROOT / "spiders" / "sites"
# A made-up product name that no shipped list knows: only a scoped list makes it data.
OFFER = ("蓝莓套餐", "出 蓝莓套餐 一手 10万条 私聊 vx: lanmei88")


@pytest.fixture
def kwdir(tmp_path):
    target = tmp_path / "keywords"
    shutil.copytree(KEYWORDS, target)
    return target


def write_list(kwdir, name, scope):
    (kwdir / name).write_text(
        f'{scope}\ncategory = "identity"\n\n[terms]\n"蓝莓套餐" = {{ weight = 3.0 }}\n',
        encoding="utf-8",
    )


def test_marketplace_only_list_applies_to_marketplace_items_only(kwdir):
    write_list(kwdir, "market_only.toml", 'kinds = ["marketplace"]')
    matcher = Matcher(load_keywords(kwdir, use_cache=False))
    in_market = matcher.match(*OFFER, source="shop", kind="marketplace")
    in_forum = matcher.match(*OFFER, source="board", kind="forum")
    assert in_market.alert and in_market.categories == ["identity"]
    assert "蓝莓套餐" in {hit.term for hit in in_market.hits}
    assert not in_forum.alert and "蓝莓套餐" not in {hit.term for hit in in_forum.hits}
    # Without a context every list applies (keywords test, eval files without kinds).
    assert matcher.match(*OFFER).alert
    # Lists without a scope apply everywhere, in every context.
    listing = ("出身份证正反面照片", "身份证正反面+手持 高清原图 一组15元 量大优惠 vx: zj88")
    assert matcher.match(*listing, kind="forum").alert
    assert matcher.match(*listing, kind="marketplace").alert


def test_list_excluded_from_a_noisy_source_applies_everywhere_else(kwdir):
    write_list(kwdir, "not_noisy.toml", 'exclude_sources = ["noisy_forum"]')
    matcher = Matcher(load_keywords(kwdir, use_cache=False))
    assert not matcher.match(*OFFER, source="noisy_forum", kind="forum").alert
    assert matcher.match(*OFFER, source="quiet_forum", kind="forum").alert
    # The views are built once per distinct set of lists: contexts share them.
    assert matcher.view("quiet_forum", "forum") is matcher.view("other", "paste")
    assert matcher.view("noisy_forum", "forum").excluded[0].file == "not_noisy.toml"


def test_unknown_kind_and_malformed_scope_name_file_and_line(kwdir):
    write_list(kwdir, "bad_kind.toml", 'kinds = ["marketplace", "bazaar"]')
    with pytest.raises(KeywordFileError) as info:
        load_keywords(kwdir, use_cache=False)
    assert "bad_kind.toml:1" in str(info.value) and "bazaar" in str(info.value)
    assert "marketplace" in str(info.value)  # the known kinds are listed
    (kwdir / "bad_kind.toml").unlink()
    write_list(kwdir, "bad_list.toml", '# scoped\nsources = "demo_forum"')
    with pytest.raises(KeywordFileError, match="bad_list.toml:2.*list of names"):
        load_keywords(kwdir, use_cache=False)


def test_lint_warns_about_a_source_no_site_file_defines(kwdir, capsys):
    write_list(kwdir, "scoped.toml", '# two sources\nsources = ["demo_forum", "no_such_site"]')
    warnings = scope_warnings(kwdir, SITES)
    assert len(warnings) == 1
    assert warnings[0].startswith(f"{kwdir / 'scoped.toml'}:2: warning:")
    assert "no_such_site" in warnings[0]
    # A warning, not an error: lint still passes, and says so.
    assert run(["keywords", "lint", str(kwdir), "--sites", str(SITES), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["problems"] == [] and report["warnings"][: len(warnings)] == warnings
    # The new list also leaves the model trained on other lists: said after the scope's.
    assert [w for w in report["warnings"][len(warnings) :] if "model.json: warning" not in w] == []


def test_keywords_test_command_takes_source_and_kind(kwdir, capsys):
    write_list(kwdir, "market_only.toml", 'kinds = ["marketplace"]')
    base = ["keywords", "test", OFFER[1], "--title", OFFER[0], "--keywords", str(kwdir)]
    assert run([*base, "--kind", "marketplace", "--json"]) == 0
    market = json.loads(capsys.readouterr().out)
    assert run([*base, "--kind", "forum", "--source", "board", "--json"]) == 0
    forum = json.loads(capsys.readouterr().out)
    assert market["alert"] and not forum["alert"]
    assert forum["lists_not_applied"] == ["market_only.toml"]
    assert market["rules_version"] == rules_version(kwdir).id
    assert run([*base, "--kind", "forum"]) == 0
    assert "not applied here: market_only.toml (kinds marketplace)" in capsys.readouterr().out
    assert run([*base, "--kind", "bazaar"]) == 2
    assert "unknown spider kind 'bazaar'" in capsys.readouterr().err


def test_rules_version_follows_contents_not_timestamps(kwdir):
    before = rules_version(kwdir)
    assert len(before.id) == 16 and before.short == before.id[:8]
    path = kwdir / "vehicle.toml"
    path.write_bytes(path.read_bytes())  # touched, unchanged
    assert rules_version(kwdir).id == before.id
    assert load_keywords(kwdir).rules_version == before.id
    path.write_text(path.read_text(encoding="utf-8") + '"车辆档案" = 2.0\n', encoding="utf-8")
    after = rules_version(kwdir)
    assert after.id != before.id
    changed = [f.name for f, g in zip(before.files, after.files, strict=True) if f != g]
    assert changed == ["vehicle.toml"]


EVAL_ROWS = [
    {
        "id": "lookup-bot",
        "title": "sgk 上线",
        "text": "sgk 查询 全国 私聊 t.me/abc_bot",
        "label": 1,
        "categories": ["identity"],
    },
    {
        "id": "id-photos",
        "title": "出身份证正反面照片",
        "text": "身份证正反面+手持 高清原图 一组15元 量大优惠 vx: zj88",
        "label": 1,
        "categories": ["identity"],
    },
    {
        "id": "plants",
        "title": "出多肉",
        "text": "出售多肉植物 十元三盆",
        "label": 0,
        "categories": [],
    },
]


def without_term(kwdir, file, term):
    """The keyword copy with the line that defines `term` removed."""
    path = kwdir / file
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith(f'"{term}" =')]
    assert len(kept) == len(lines) - 1
    path.write_text("".join(kept), encoding="utf-8")


def test_eval_against_old_rules_reports_deltas_and_the_examples_that_flipped(
    kwdir, tmp_path, capsys
):
    without_term(kwdir, "identity.toml", "社工库")
    examples_path = tmp_path / "eval.jsonl"
    examples_path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in EVAL_ROWS), encoding="utf-8"
    )
    report = compare_rules(
        read_examples(examples_path), load_matcher(kwdir), load_matcher(KEYWORDS)
    )
    assert report["old"]["recall"] == 1.0 and report["new"]["recall"] == 0.5
    assert report["delta"]["recall"] == -0.5 and report["delta"]["fn"] == 1
    (flip,) = report["flipped"]
    assert flip["id"] == "lookup-bot" and flip["change"] == "new_miss"
    assert flip["old"]["alert"] and not flip["new"]["alert"]
    assert report["old"]["rules_version"] != report["new"]["rules_version"]
    args = ["eval", str(examples_path), "--keywords", str(kwdir), "--against", str(KEYWORDS)]
    assert run([*args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["delta"] == report["delta"]
    assert run(args) == 0
    shown = capsys.readouterr().out
    assert "lookup-bot new_miss" in shown and "-0.500" in shown


def test_match_pipeline_matches_in_its_site_name_and_kind(kwdir, monkeypatch):
    from scrapy.utils.test import get_crawler

    from monitor.sites import find_site
    from spiders.kinds import spider_class
    from spiders.pipelines import MatchPipeline

    write_list(kwdir, "market_only.toml", 'kinds = ["marketplace"]')
    monkeypatch.setenv("HEISHI_KEYWORDS_DIR", str(kwdir))
    verdicts = {}
    for name in ("demo_market", "demo_forum"):
        site = find_site(name, SITES)
        pipeline = MatchPipeline.from_crawler(get_crawler(spider_class(site.kind).for_site(site)))
        assert (pipeline.source, pipeline.kind) == (site.name, site.kind)
        item = pipeline.process_item({"title": OFFER[0], "text": OFFER[1]})
        verdicts[site.kind] = item["match"].alert
    assert verdicts == {"marketplace": True, "forum": False}


def test_first_pass_reads_bytes_and_skips_digit_led_patterns_only_where_no_digit_can_match():
    import ahocorasick

    from monitor.matching.keyword_scope import starts_with_digit, utf8_letters

    # Every match starts with a digit: \d first, or \d repeated at least once.
    assert starts_with_digit(r"\d(?<![\d.]\d)\d{0,11}个号")
    assert starts_with_digit(r"\d{1,3}\.rar")
    # Not so: the digit optional, one alternative without it, a class that merely holds digits.
    for source in (r"\d*x", r"\d|x", r"x\d", r"[0-9]x", r"(?:\d|x)y", "("):
        assert not starts_with_digit(source), source
    # Surfaces found over UTF-8 bytes are those found over characters, in the same order.
    words = ["身份证", "证", "份证号", "sfz", "qq", "料"]
    by_chars, by_bytes = ahocorasick.Automaton(), ahocorasick.Automaton()
    for word in words:
        by_chars.add_word(word, word)
        by_bytes.add_word(utf8_letters(word), word)
    by_chars.make_automaton()
    by_bytes.make_automaton()
    text = "出身份证号sfz料qq，身份证ｑｑ"
    assert [w for _, w in by_bytes.iter(utf8_letters(text))] == [w for _, w in by_chars.iter(text)]
