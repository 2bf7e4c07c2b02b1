"""Prices, volumes, contacts, samples, freshness and data fields from listing text."""

from __future__ import annotations

import pytest

from monitor.matching.matcher import load_matcher


@pytest.fixture(scope="module")
def matcher():
    return load_matcher().without_model()  # the rules alone (the model: tests/test_model.py)


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


def test_a_letter_right_before_a_chinese_contact_word_keeps_the_contact(matcher):
    contacts = ex(matcher, "身份证料 500u 微信：liao_shop88 扣扣8866123").contacts
    got = {(c.kind, c.value) for c in contacts}
    assert ("wechat", "liao_shop88") in got
    assert ("qq", "8866123") in got
    # A Latin cue still must not continue a Latin word: "faqq" is no QQ.
    assert not any(c.kind == "qq" for c in ex(matcher, "see faqq 12345678").contacts)


@pytest.mark.parametrize(
    "text, kind, value",
    [
        # houbb/sensitive-word bs/SensitiveWordBsEmailTest.java: emailEnglishTest, emailNumberTest
        ("楼主好人，邮箱 sensitiveword@xx.com", "email", "sensitiveword@xx.com"),
        ("楼主好人，邮箱 123456789@xx.com", "email", "123456789@xx.com"),
        # houbb/sensitive-word bs/SensitiveWordBsUrlTest.java: commonUrlTest, imageUrlTest
        ("点击链接 https://www.baidu.com 查看答案", "url", "https://www.baidu.com"),
        ("双击查看大图 http://www.big-image.png 查看", "url", "http://www.big-image.png"),
        ("频道 https://t.me/leak_shop_cn 每日更新", "telegram", "leak_shop_cn"),
        ("进群 t.me/+AbCdEfGh12", "telegram", "abcdefgh12"),
        ("联系电话：138****5621 非诚勿扰", "phone", "138****5621"),
        ("有意者联系 13800138000", "phone", "13800138000"),
        ("contact me +86 138 0013 8000", "phone", "+8613800138000"),
        ("WhatsApp: +44 7700 900123", "whatsapp", "+447700900123"),
        ("LINE: data_shop_tw", "line", "data_shop_tw"),
        # houbb/sensitive-word bs/SensitiveWordBsNumTest.java: a number in every numeral style
        ("这个是我的QQ：9⓿二肆⁹₈③⑸⒋➃㈤", "qq", "90249835445"),
    ],
)
def test_email_link_messenger_and_cued_number_contacts(matcher, text, kind, value):
    contacts = ex(matcher, text).contacts
    assert (kind, value) in {(c.kind, c.value) for c in contacts}, contacts


@pytest.mark.parametrize(
    "text",
    [
        "你我.他你",  # houbb/sensitive-word SensitiveWordBsEmailTest.java emailTest: no e-mail
        "=====123456====X70002 哈哈哈",  # houbb/sensitive-word bugs/b118/Bug118Test.java
        "价格 13800 元，库存 20000 件",  # a bare number without a contact cue is no contact
        "订单号 202403011234567",
    ],
)
def test_numbers_and_dots_without_a_contact_cue_are_no_contact(matcher, text):
    assert ex(matcher, text).contacts == []


@pytest.mark.parametrize(
    "text, amount, per",
    [
        ("身份证料 每条两毛 量大", 0.2, "条"),
        ("查开房 一次20 秒出", 20.0, "次"),
        ("户籍照片 一套三十", 30.0, "套"),
        ("号码包 十万一包 五十块", 50.0, None),
        ("车主信息 一块五一条", 1.5, None),
        ("接码 5毛一个", 0.5, None),
        ("全国料 三万元打包", 30_000.0, None),
        ("fullz 500U each", 500.0, None),
    ],
)
def test_loose_prices(matcher, text, amount, per):
    prices = ex(matcher, text).prices
    assert (amount, "CNY" if "U" not in text else "USDT") in {
        (p.amount, p.currency) for p in prices
    }
    if per:
        assert per in {p.per for p in prices if p.amount == amount}


@pytest.mark.parametrize("text", ["我们一块去吃饭", "一次20分钟就到", "一人一份", "第一次见面"])
def test_everyday_numbers_are_not_loose_prices(matcher, text):
    assert ex(matcher, text).prices == []


def test_unless_cancels_only_the_occurrence_it_belongs_to(matcher):
    offer = matcher.match("", "出售身份证银行卡四件套，另有纯棉床上四件套")
    assert offer.alert and "identity" in offer.categories
    assert [h.surface for h in offer.hits if h.term == "四件套"] == ["四件套"]
    bedding = matcher.match("", "纯棉床上四件套 出售 包邮")
    assert not any(h.term == "四件套" for h in bedding.hits)


@pytest.mark.parametrize(
    "text",
    [
        "车主信息 只卖两份 私",
        "身份证照片 限量 先到先得",
        "通话记录 按次计费",
        "2019-某商城用户资料-50万-xls.rar",
        "某能源集团-员工通讯录-2024-3.6万人.xlsx",
    ],
)
def test_scarcity_ways_of_charging_and_leak_file_names_are_offers(matcher, text):
    assert matcher.match("", text).alert, matcher.match("", text).reasons


def test_a_telegram_handle_is_not_the_next_sentence_or_an_english_word():
    from monitor.matching.matcher import load_matcher

    rules = load_matcher().without_model()

    def handles(text: str) -> list[str]:
        return [c.value for c in rules.match("出售数据", text).extraction.contacts]

    assert handles("sellers on Telegram. Common terms include fullz") == []
    assert handles("offers posted on Telegram channels every day") == []
    assert handles("联系 TG：@laowang_data") == ["laowang_data"]
    assert handles("出身份证数据 telegram seller_01") == ["seller_01"]
    assert handles("飞机 abcdef 私聊") == ["abcdef"]
