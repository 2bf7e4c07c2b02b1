"""Offers written in ways the lists were not first written for: the first pass keeps them for
the full analysis, and the vocabulary names them by kind (whose data, which service, which
offer verb), in Chinese and English."""

from __future__ import annotations

import pytest

from monitor.matching.matcher import load_matcher


@pytest.fixture(scope="module")
def matcher():
    return load_matcher().without_model()  # the rules alone (the model: tests/test_model.py)


def _alerts_through_the_first_pass(matcher, text: str, title: str = ""):
    quick = matcher.match(title, text)
    full = matcher.match(title, text, first_pass=False)
    assert full.alert, full.reasons
    assert quick.alert and quick.score == full.score, quick.reasons
    return full


@pytest.mark.parametrize(
    "text, category",
    [
        ("Exclusive sale: CN telecom subscriber DB, 12M rows. Price in DM.", "telecom"),
        ("Escrow ok. Selling db of a Chinese shopping site.", "platform"),
        ("fullz available, escrow accepted, vouches on the forum", "finance"),
        ("Fresh combo list 2024, 40M lines, price in DM", "platform"),
        ("[WTS] Chinese airline member data, 2024, 4.8M rows. Fresh, vouches available.", "travel"),
        # numbers sold to receive other people's registration codes: an SMS-code service
        ("OTP numbers for any Chinese app, 0.2 USD per code, API", "telecom"),
        ("Non-VoIP numbers for SMS verification on all platforms, bulk price", "telecom"),
        ("We sell verification numbers for WeChat and Alipay signups, 1 USD each", "telecom"),
        # viewers sold to a live room, in English (直播观看's words were Chinese alone)
        ("Viewer bots for Chinese live rooms: 1k concurrent viewers, 10 USD an hour", "traffic"),
        ("Bot viewers for Douyin streams, hourly and monthly plans, DM me", "traffic"),
    ],
)
def test_english_offers_pass_the_first_pass_and_alert(matcher, text, category):
    assert category in _alerts_through_the_first_pass(matcher, text).categories


@pytest.mark.parametrize(
    "text, category",
    [
        ("代过人脸 代实名认证 各大平台都行", "identity"),  # passing checks for others
        ("人脸识别代过 支付宝实名 秒过 一次五十", "identity"),
        ("社工库机器人出租 按月", "identity"),  # renting a query bot
        ("查询机器人 输入手机号出姓名身份证 每日免费三次", "identity"),
        (
            "Telegram bot: send a Chinese plate, get owner name, ID, phone. 2 free lookups/day.",
            None,
        ),
        ("可爬任意APP 数据采集 定制 按量计费", "scraping"),  # commissioned scraping
        ("任意号码来电显示 改号软件 包月", "telecom"),
        ("复制手机卡 接收对方短信 一张三百", "telecom"),
        ("身份证生成器 批量生成 可过校验", "identity"),
        ("信用卡套现 秒到 费率低", "finance"),
        ("卖别人的身份证号", "identity"),  # a bare sale of someone else's data
    ],
)
def test_services_that_sell_access_or_verification_alert(matcher, text, category):
    result = _alerts_through_the_first_pass(matcher, text)
    assert category is None or category in result.categories


@pytest.mark.parametrize(
    "text, category",
    [
        ("老年人数据 全国 电话 年龄 每条两毛", "identity"),
        ("储户信息 某农商行 定期到期 电话 金额 打包出", "finance"),
        ("企业法人资料 新注册公司 电话 精准 私聊", "finance"),
        ("医保用户 余额 电话 打包出", "medical"),
        ("户主资料 全村 电话 一条五毛", "identity"),
        ("体检中心客户 高血压 电话 年龄 每条三毛", "medical"),
        ("某团 用户 订单 手机 地址 三千万 分批出", "platform"),
        ("房主资料 小区 电话 面积 需要的私聊", "real_estate"),
    ],
)
def test_whose_data_is_named_by_kind(matcher, text, category):
    assert category in _alerts_through_the_first_pass(matcher, text).categories


@pytest.mark.parametrize(
    "text",
    [
        "一套现代化的污水处理系统投资七千万元",  # 套现 inside 一套现代化
        "买粉色送给老婆的，她超喜欢，价格优惠",  # 买粉 inside 买粉色
        "非常感谢携程工号84392的客服人员，帮助解决了信用卡担保的问题",
        "百多辆出租车司机主动奉献爱心，价格全免",  # 出租 inside 出租车, 机主 inside 司机主动
        "最可气的是电话费，我要详细的电话单，服务员只提供了一份，收费48元",
        "赞比亚居民合作自建低价住房，政府提供帮助",  # 1、赞比亚 is no "N赞"
    ],
)
def test_everyday_words_holding_a_keyword_do_not_alert(matcher, text):
    assert not matcher.match("", text).alert, matcher.match("", text).reasons


@pytest.mark.parametrize(
    "title, text",
    [
        ("储户", "城商行储户 存款到期 电话 金额 转化率高"),  # one field, its sector, no sale word
        ("宝妈", "新生儿家庭 父母电话 月龄 一个月更新一次 三毛"),  # a price in words
        ("业主", "新交房小区 业主电话 装修公司抢着要"),  # the buyer named, not the price
        ("Exam takers", "Exam takers 2025, name, phone, ID number, 200k rows."),
    ],
)
def test_the_first_pass_leaves_offers_without_a_sale_word_to_the_score(title, text):
    """The first pass rules a text out only for naming too little data: whether it offers
    that data is for the rules and the learned score to say."""
    result = load_matcher().match(title, text)
    assert not result.reasons[0].startswith("first pass"), result.reasons
    assert result.probability is None or result.probability > 0.0


@pytest.mark.parametrize(
    "text, term, category",
    [
        ("出5件套 身份证 银行卡 手机卡 U盾 营业执照 齐全", "五件套", "identity"),
        ("实名认证的抖音号 一个六十 可租可买", "平台号", "accounts"),
        ("某平台网店出售 带营业执照 可过户", "店铺出售", "accounts"),
        ("Guest name, mobile, home address, check-in dates. 2M rows.", "同住人", "travel"),
    ],
)
def test_kits_platform_accounts_shops_and_english_fields_are_named(matcher, text, term, category):
    result = matcher.match("", text)
    hit = next((h for h in result.hits if h.term == term), None)
    assert hit is not None, [h.term for h in result.hits]
    assert hit.category == category


@pytest.mark.parametrize(
    "text",
    [
        "装修选木地板还是瓷砖？这款手机的续航怎么样，一共花了353块。",
        "小区门口新开了一家面馆，出来打了个电话。",
    ],
)
def test_an_everyday_phone_word_with_one_other_clue_is_decided_by_the_first_pass(text):
    # 手机 and 电话 are fields of a list, and everyday words: alone with a subject (装修, 小区)
    # they do not send forum talk to the full analysis.
    assert load_matcher().match("", text).reasons[0].startswith("first pass")


@pytest.mark.parametrize(
    "text, category",
    [
        # a data file shared through a cloud drive, for a price
        ("某市常住人口 全量数据 阿里云盘链接 付款后发提取码", "identity"),
        ("储户全量 夸克网盘 一手 链接私聊", "finance"),
        ("Chinese citizens full dataset, mega.nz folder, link in bio, 200 USDT", "identity"),
        # an insider's back-office panel rented out, in English
        (
            "Courier panel login for rent, look up any parcel's recipient details, weekly price",
            "logistics",
        ),
        ("logistics panel for rent, 50 USDT per day, DM me", "corporate"),
        ("Selling staff logins to a bank's internal panel, escrow ok", "corporate"),
        # new number ranges and SIMs that receive other people's codes
        ("新号段 能接短信 秒到 一张八块 私聊", "telecom"),
        ("实卡接码 全平台可用 一次两块 量大从优", "telecom"),
        ("虚拟号收码 注册专用 批量出", "telecom"),
        # the kit without 套, and platform accounts by the bundle
        ("银行卡 手机卡 四件齐全 可过人脸 一套八百", "identity"),
        ("四件一套 带U盾 一手 tg私聊", "identity"),
        ("某音号 批量出 已实名 一个三十", "accounts"),
    ],
)
def test_cloud_drive_panel_number_range_and_kit_offers_alert(matcher, text, category):
    assert category in _alerts_through_the_first_pass(matcher, text).categories


@pytest.mark.parametrize(
    "text",
    [
        "电影合集 百度网盘链接 提取码 1234 免费分享",
        "考研课程全套 阿里云盘 提取码在评论区",
        "New album out now, download link in bio",
        "我省常住人口突破五千万 统计局公布全量数据",
        "We are hiring a logistics admin to manage our courier panel and shipments, salary 6000 USD",
        "Admin panel login not working after the update, how to fix?",
        "Track your parcel: enter the tracking number to see sender and receiver details",
        "中国移动新号段上线 月租19元 100G流量 可选靓号 营业厅办理",
        "手机卡不能接短信怎么办 求助",
        "全新四件 床单被罩 纯棉 包邮",
        "全新四件 衬衫外套 一起出 闲置",
        "四件齐全 火锅套餐 鸭肠毛肚",
        "某书号主分享的菜谱真好吃",
        "关注我的抖音号 每天更新美食视频",  # one's own handle to follow
        "欢迎关注我的微博号 每日更新",
        # 关注, 评论, 粉丝, 人气, 热搜 are in every social post; with 每天更新 beside them they
        # read as a terse data row to a model that does not read topic words (seven of eight
        # such posts alerted before these words became weak fields)
        "关注公众号 每天更新 干货分享",
        "求关注 互关 每天更新日常",
        "小说每天更新 求关注 求评论",
        "独家首发 关注我 持续更新",
        "粉丝福利 每日更新 关注不迷路",
        "人气博主 热搜常客 欢迎评论",
        "The final drew 3 million live viewers across platforms, a record for the league.",
        "Streamers say bot viewers distort the rankings, and platforms promise to remove them.",
    ],
)
def test_the_same_words_in_ordinary_posts_do_not_alert(text):
    # films, courses, job adverts, a carrier's plan, bedding, social posts: the words of those
    # offers (网盘 提取码, courier panel, 新号段, 全新四件, 某书号, 抖音号, 关注) in their
    # everyday senses
    result = load_matcher().match("", text)
    assert not result.alert, (result.probability, result.reasons)


@pytest.mark.parametrize(
    "text",
    [
        "抖音刷关注 刷评论 真人粉丝 1毛一个 量大从优",
        "快手涨粉 关注 点赞 评论 一条龙 微信 abc1234",
        "直播间人气 评论 关注 按小时计费 tg联系",
        "小红书 关注 评论 收藏 代做 每单5元",
    ],
)
def test_traffic_offers_made_of_those_words_still_alert_as_traffic(text):
    result = load_matcher().match("", text)
    assert result.alert and "traffic" in result.categories, (result.probability, result.reasons)
