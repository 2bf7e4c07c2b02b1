"""Discussion is not an offer: news, court and police reports, security reports, guides,
reviews and lawful adverts that use a seller's words do not alert; offers name every category
they belong to, in reasons that quote the text as written; the match result carries the rule
parts and genre cues a learned score reads."""

from __future__ import annotations

import pytest

from monitor.matching.matcher import load_matcher


@pytest.fixture(scope="module")
def matcher():
    return load_matcher().without_model()  # the rules alone (the model: tests/test_model.py)


@pytest.mark.parametrize(
    "genre, text",
    [
        (
            "news",
            "据报道，一家外卖平台的用户数据在境外论坛被挂售，包括手机号和地址，"
            "平台回应称已报警，警方正在调查。",
        ),
        (
            "court",
            "经审理查明，被告人王某利用职务便利，将公司客户的姓名、电话等信息出售给他人，"
            "获利三万元，法院以侵犯公民个人信息罪判处有期徒刑一年。",
        ),
        (
            "report",
            "调查发现，车险续保数据是黑市上最受欢迎的数据之一，主要来源于保险公司业务员和4S店，"
            "价格往往随新鲜程度快速下降。",
        ),
        (
            "report",
            "Researchers found that lookup bots typically monetise old leaked databases, "
            "offering free queries and selling bulk access; takedowns are frequent.",
        ),
        (
            "guide",
            "如何防范个人信息泄露：不要随意在网上填写身份证号和手机号，注意保护快递面单，"
            "收到自称客服的电话务必核实。",
        ),
        (
            "review",
            "出差住的这家酒店，开房的时候前台给了个房号在18楼，视野很好，价格四百左右，"
            "早餐丰富，下次还来。",
        ),
        ("review", "营业厅工号0819的工作人员很负责，帮我补办手机卡，还核对了身份证，表扬一下。"),
        ("goods", "全棉印花四件套团购价一百五十八元两套，本周六截止，团长送货上门。"),
    ],
)
def test_discussion_of_the_trade_does_not_alert(matcher, genre, text):
    result = matcher.match("", text)
    assert not result.alert, result.reasons


def test_genre_cues_and_rule_parts_are_in_the_match_result(matcher):
    text = "调查发现，车险续保数据是黑市上最受欢迎的数据之一，价格往往随新鲜程度快速下降。"
    result = matcher.match("", text)
    assert "report" in result.genres and result.genres["report"] < 0
    assert result.rules["context"] < 0 and result.rules["data"] > 0
    cues = [h for h in result.hits if h.role == "context"]
    assert cues and all(h.group for h in cues)
    assert all(text[h.start : h.end] == h.surface for h in cues)
    offer = matcher.match("", "出售车险续保数据 下月到期 电话 车牌 一条五毛 微信 cx_data88")
    assert offer.alert and offer.genres == {} and offer.rules["offers"] == 1.0


@pytest.mark.parametrize(
    "text, categories",
    [
        ("某快递网点账号出租 可查收件人电话地址 按天租", {"logistics", "corporate"}),
        ("某书博主数据采集 粉丝数 联系方式 按条计费", {"scraping", "platform"}),
        ("运营商内部 查机主 查通话详单 按次收费", {"telecom", "corporate"}),
        ("某酒店集团-2018-1.3亿-住客-csv.rar 完整无删减", {"travel"}),
        ("sfz二要素 姓名+身份证号 每条两毛 量大另谈", {"identity"}),
        ("yz料 新盘 带房号 带电话 0.8/条 v同号", {"real_estate"}),
    ],
)
def test_a_listing_gets_every_category_it_sells_and_no_other(matcher, text, categories):
    result = matcher.match("", text)
    assert result.alert and set(result.categories) == categories, result.reasons


def test_reasons_quote_the_text_as_written(matcher):
    text = "出售 身 份 證 料 一手 ＱＱ：８８６６１２ 某医院 资料"
    result = matcher.match("", text)
    assert result.alert
    quoted = " ".join(result.reasons)
    assert "身 份 證 料" in quoted  # not the keyword's canonical 身份证信息
    assert "ＱＱ：８８６６１２" in quoted
    assert "孕妇" not in quoted  # the subject is the text's 医院, not the term it belongs to
    assert "某医院" in quoted or "医院" in quoted


def test_buyers_named_for_the_data_do_not_add_their_category(matcher):
    result = matcher.match("", "拆迁户名单 补偿款到账的 姓名 电话 理财 保险精准 私聊")
    assert result.alert and result.categories == ["real_estate"], result.reasons
