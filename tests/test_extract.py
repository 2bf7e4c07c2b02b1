"""Prices, volumes, contacts, samples, freshness and data fields from listing text."""

from __future__ import annotations

import pytest

from monitor.matcher import load_matcher


@pytest.fixture(scope="module")
def matcher():
    return load_matcher()


def ex(matcher, text):
    # Full analysis: the first pass gives texts that cannot alert no extraction at all.
    return matcher.match("", text, first_pass=False).extraction


def test_prices_with_currency_and_unit(matcher):
    prices = ex(
        matcher, "身份证料 一万条800 单条0.3一单 包月500元/月 30 USD each 0.5btc 200u"
    ).prices
    seen = {(p.amount, p.currency, p.per) for p in prices}
    assert (800.0, "CNY", "一万条") in seen
    assert (0.3, "CNY", "单") in seen
    assert (500.0, "CNY", "月") in seen
    assert (30.0, "USD", None) in seen
    assert (0.5, "BTC", None) in seen
    assert (200.0, "USDT", None) in seen


def test_price_per_viewers(matcher):
    prices = ex(matcher, "直播观看 100人50元 体验价1元50粉").prices
    assert (50.0, "100人") in {(p.amount, p.per) for p in prices}
    assert (1.0, "50粉") in {(p.amount, p.per) for p in prices}


@pytest.mark.parametrize(
    "text, count",
    [
        ("数据 3000万 打包", 30_000_000),
        ("5.38亿用户数据", 538_000_000),
        ("20w条", 200_000),
        ("20M rows", 20_000_000),
        ("百万级", 1_000_000),
        ("二十万条", 200_000),
        ("50k records", 50_000),
    ],
)
def test_volumes_are_counted(matcher, text, count):
    volumes = ex(matcher, text).volumes
    assert max(v.count for v in volumes) == count


def test_salaries_and_prices_are_not_volumes(matcher):
    assert ex(matcher, "薪资20-35k 价格3000元").volumes == []


def test_contacts_are_normalised(matcher):
    contacts = ex(
        matcher, "ＱＱ：８８６６１２ 薇信: abc_123x  飞机 @datashop1  扣扣三九五七二零一"
    ).contacts
    got = {(c.kind, c.value) for c in contacts}
    assert ("qq", "886612") in got
    assert ("wechat", "abc_123x") in got
    assert ("telegram", "datashop1") in got
    assert ("qq", "3957201") in got


def test_sample_freshness_and_fields(matcher):
    e = ex(matcher, "车主数据 实时 一手 姓名 身份证号 手机号 车牌 先测后付")
    assert e.sample_offer
    assert "实时" in e.freshness
    assert {"姓名", "身份证号", "手机号", "车牌"} <= set(e.data_fields)


def test_a_per_count_price_also_gives_the_volume(matcher):
    e = ex(matcher, "身份证料 一万条800 单条0.3一单")
    assert (10_000, "一万条") in {(v.count, v.text) for v in e.volumes}
    assert (800.0, "一万条") in {(p.amount, p.per) for p in e.prices}
    assert (0.3, "单") in {(p.amount, p.per) for p in e.prices}


@pytest.mark.parametrize(
    "text, count",
    [("日出5000单", 5000), ("300万户", 3_000_000), ("100套", 100), ("2000份简历", 2000)],
)
def test_record_units_count(matcher, text, count):
    assert max(v.count for v in ex(matcher, text).volumes) == count


@pytest.mark.parametrize(
    "text", ["查询样本：王** 440305199207216142 户籍 深圳", "共 6142 户 居民", "这个小区 800户"]
)
def test_households_and_id_digits_are_not_volumes(matcher, text):
    assert ex(matcher, text).volumes == []
