"""Messages of the demo Telegram channel, by message id; the title is the first line.

The channel is down (503) on day 2; messages 135 and 136 are new on day 3.
"""

from __future__ import annotations

from typing import Any

from monitor.demo.content import CHANNEL_TITLE, Entry, listing, negative


def L(message_id: int, categories: str, text: str, **more: Any) -> Entry:  # noqa: N802
    return listing("channel", message_id, categories, CHANNEL_TITLE, _title(text), text, **more)


def N(message_id: int, text: str, **more: Any) -> Entry:  # noqa: N802
    return negative("channel", message_id, CHANNEL_TITLE, _title(text), text, **more)


def _title(text: str) -> str:
    return text.split("\n", 1)[0].strip()


CHANNEL_ENTRIES = [
    L(
        101,
        "identity",
        "🔍 sgk 社工库机器人上线\n每日免费查询3次，支持手机号/身份证/QQ反查\n👉 t.me/sgk_free_bot",
    ),
    N(102, "⚠️ 反诈提醒：近期有人冒充客服索要验证码，任何人问你要验证码都是诈骗！"),
    L(
        103,
        "platform",
        "📦 今日更新 裤子 清单\n"
        "2014.xx-某论坛-600万-sql.rar\n"
        "2020-某视频网站-会员-1100万-txt.zip\n"
        "2022-某点餐App-用户-450万-csv.7z\n"
        "私聊 @shuju_kefu 取链接",
    ),
    L(
        104,
        "finance",
        "💳 信用卡 料 一手 实时\n卡号+姓名+手机+额度，非多手\n"
        "样本：6258071234567896 李* 13711112222\n50U/千条，量大议价 @shuju_kefu",
    ),
    N(105, "📢 频道公告：本频道每日更新，节假日休息，有问题留言。"),
    L(
        106,
        "telecom",
        "📱 三网 机主 查询 ＋ 通话 详单\n机主 300/次，详单 1200/月\n仅接熟人介绍，飞机 @jizhu_cx",
    ),
    L(
        107,
        "logistics",
        "🚚 快递 后台 账号 日租\n某丰 / 某通 网点账号，可查全国面单\n500元/天，押金 2000U\nTG：@kd_liang",
    ),
    N(
        108,
        "📰 新闻：某地警方打掉一个贩卖公民个人信息的犯罪团伙，抓获嫌疑人23名，\n"
        "查获公民个人信息5000余万条。警方提醒广大群众注意保护个人信息。",
    ),
    L(
        109,
        "travel",
        "🏨 某酒店集团 1.3亿 住客 数据\n字段：姓名 身份证 手机 邮箱 入住时间\n"
        "样本：370202198704126052 / 13655558888\n整包 8000U，可拆卖",
    ),
    L(
        110,
        "vehicle",
        "🚗 车险 续保 数据 12月到期 全国\n车主 电话 车牌 车型 VIN\n0.5元/条，1万条起",
    ),
    N(111, "☕ 今天休息一天，明天恢复更新，大家周末愉快～"),
    L(
        112,
        "medical",
        "🏥 医美 整形 客户 资料 3万\n含姓名 电话 项目 消费金额\n做医美推广的老板来，2500元打包",
    ),
    L(
        113,
        "education_jobs",
        "🎓 高考 考生 家长 数据 2026届\n分省分市，含考生姓名 家长电话 分数段\n志愿填报 机构 抢手货 0.8元/条",
    ),
    N(
        114,
        "🔐 科普：怎么查自己的手机号绑定了哪些App？\n打开工信部“一证通查”，输入身份证号即可查询名下号码，\n"
        "不认识的号码及时注销。",
    ),
    L(
        115,
        "real_estate",
        "🏠 二手房 业主 资料 全市 12万\n房东姓名 电话 小区 面积 挂牌价\n中介 朋友 私 @fangdong_zl",
    ),
    L(
        116,
        "platform",
        "🧲 magnet:?xt=urn:btih:3f1a9c0e7b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a\n"
        "2023-某社交平台-用户-2.1亿-手机号对应.txt\n"
        "ed2k://|file|2021-某网盘-会员-900万.sql.gz|4831200512|A1B2C3D4E5F60718293A4B5C6D7E8F90|/",
    ),
    L(
        117,
        "corporate",
        "🏢 某银行 内部 员工 通讯录 全行\n姓名 工号 部门 手机 内线，可验真\n6000U 只出三份",
    ),
    N(118, "📈 今天 BTC 又涨了，USDT 场外价格 7.25，注意防范 U 商跑路。"),
    L(
        119,
        "accounts",
        "🔑 出 实名 抖音号 小红书号 成品号\n一手养号，带实名，20-80元/个\n批发联系 @haoshang_tg",
    ),
    L(
        120,
        "traffic",
        "🔥 直播 人气 在线 1万人 20元\n涨粉 1元50个，点赞 评论 控评 都能做\n自助下单：t.me/liuliang_bot",
    ),
    N(
        121,
        "❗ 提醒：有人冒充本频道客服收钱，请认准唯一客服。\n"
        "另外，不要把自己的身份证、银行卡借给别人办卡，会被认定为帮信罪。",
    ),
    L(
        122,
        "scraping",
        "🕷 Custom scraper for hire\nWe collect user data from top Chinese platforms on demand\n"
        "phone / WeChat / address, delivered as CSV. DM @spider_hire",
    ),
    L(
        123,
        "identity",
        "🆔 s f z 四 件 套 现货\n身份证+银行卡+手机卡+U盾，过人脸\n3000元/套，先验后付\n"
        "样本：110105198803142539 已打码照片",
    ),
    N(
        124,
        "📚 推荐一本书：《个人信息保护法释义》，讲得很清楚，哪些数据处理行为违法，\n"
        "企业合规的同学值得一看。",
    ),
    L(
        125,
        "finance",
        "📊 炒股 客户 名单 资金量100万+\n姓名 手机 开户营业部\n做投资咨询的来，2000元/万条",
    ),
    L(
        126,
        "identity",
        "🤖 新 bot：@chaxun_free_bot\n发送手机号 返回 姓名 身份证 户籍地址\n新用户 免费 5 次，邀请好友再送",
    ),
    N(127, "🌙 晚安，明天见。今日所有订单已发货，没收到的找客服。"),
    L(
        128,
        "platform",
        "☁️ 网盘 分享：某外卖平台 商户 骑手 全量\n链接：https://pan.example.com/s/1aBcDeFg 提取码：8k2q\n"
        "解压密码 付费获取 30U",
    ),
    L(
        129,
        "telecom",
        "📶 接码 平台 各 App 注册 验证码\n1元/条，支持微信 抖音 支付宝\n另出 物联卡 流量卡 10元/张",
    ),
    N(
        130,
        "💡 冷知识：“四件套”在火锅圈指毛肚、鸭肠、黄喉、鹅肠，\n你们吃火锅必点的是哪几样？",
    ),
    L(
        131,
        "logistics",
        "📦 電商 快遞 單號 料 每日更新\n姓名 電話 地址 商品，當天的單\n0.2元/條 TG @kdd_tw",
    ),
    L(
        132,
        "corporate identity",
        "🕵️ 某政务 系统 内部 账号 可查 户籍 信息\n仅限熟人 价格私聊\n"
        "查询样本：王** 440305199207216142 户籍 深圳",
    ),
    N(
        133,
        "🎉 频道开通一周年，感谢大家支持！评论区抽 3 位送会员。",
    ),
    L(
        134,
        "vehicle identity",
        "🚙 车主 身份证 手机号 对应 料 华东地区\n"
        "样本：沪B·7X*** 别克GL8 13801234567\n1万条 600元，可抽查",
    ),
    L(
        135,
        "medical",
        "🍼 月子会所 宝妈 资料 新到 2万\n预产期 电话 住址 医院\n1500元打包，先到先得",
        days=(3,),
    ),
    N(
        136,
        "✅ 频道恢复正常，昨天服务器维护，给大家带来不便请谅解。",
        days=(3,),
    ),
]
