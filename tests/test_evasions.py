"""Evasions that sellers use to slip past word filters, ported from the test suites of two public
sensitive-word libraries, with the cases those suites say must NOT match.

Each case names the upstream test it comes from:
- houbb/sensitive-word (Java), src/test/java/com/github/houbb/sensitive/word/...
- toolgood/ToolGood.Words (C#), csharp/ToolGood.Words.Test/...
The upstream suites test their own words (fuck, 五星红旗, 中国, assert, 北京); here each evasion is
applied to one of heishi's keywords, and the check is the same: the matcher finds the plain
keyword in the text as written, and its highlight covers the characters as written.
"""

from __future__ import annotations

import pytest

from monitor.matching.matcher import load_matcher
from monitor.matching.normalize import normalize
from tests.helpers import found_terms

HOUBB = "houbb/sensitive-word src/test/java/com/github/houbb/sensitive/word/"
TOOLGOOD = "toolgood/ToolGood.Words csharp/ToolGood.Words.Test/"

# (as written, the keyword term it must be found as, the upstream test it is ported from)
POSITIVE = [
    ("ⓈⓈⓈsⓖgⓖ⒢ⓚ⒦", "社工库", HOUBB + "bs/SensitiveWordBsRepeatTest.java (ⒻⒻⒻfⓤuⓤ⒰cⓒ⒦)"),
    ("Ⓢⓖ⒦", "社工库", HOUBB + "bs/SensitiveWordBsEnglishTest.java (Ⓕⓤc⒦)"),
    ("SgK", "社工库", HOUBB + "bs/SensitiveWordBsTest.java ignoreCaseTest (fuCK)"),
    ("ｓｆｚ", "身份证", HOUBB + "bs/SensitiveWordBsTest.java ignoreWidthTest (ｆｕｃｋ)"),
    ("車主資料", "车主信息", HOUBB + "bs/SensitiveWordBsChineseTest.java (五星紅旗)"),
    ("身@份证", "身份证", HOUBB + "bs/SensitiveWordBsIgnoreCharTest.java (傻@冒)"),
    ("四+件套", "四件套", HOUBB + "bs/SensitiveWordBsIgnoreCharTest.java (狗+东西)"),
    ("<p>社工库</p>", "社工库", HOUBB + "bs/SensitiveWordBsIgnoreCharTest.java (<p>傻逼</p>)"),
    ("开---房---记---录", "开房记录", HOUBB + "bugs/b105/Bug105Test.java (毛---主---席)"),
    ("4件套", "四件套", HOUBB + "bugs/b54/Bug84Test.java (下3滥)"),
    ("3要素", "三要素", HOUBB + "bugs/b54/Bug84Test.java (下3滥)"),
    ("肆件套", "四件套", HOUBB + "data/NumUtilTest.java (壹贰叁肆)"),
    ("玖成新 出售身份证", "身份证", HOUBB + "data/NumUtilTest.java (玖)"),
    ("④件套", "四件套", HOUBB + "data/NumUtilTest.java (①②③④)"),
    ("⑷件套", "四件套", HOUBB + "data/NumUtilTest.java (⑴⑵⑶⑷)"),
    ("⒋件套", "四件套", HOUBB + "data/NumUtilTest.java (⒈⒉⒊⒋)"),
    ("❹件套", "四件套", HOUBB + "data/NumUtilTest.java (❶❷❸❹)"),
    ("➃件套", "四件套", HOUBB + "data/NumUtilTest.java (➀➁➂➃)"),
    ("➍件套", "四件套", HOUBB + "data/NumUtilTest.java (➊➋➌➍)"),
    ("㈣件套", "四件套", HOUBB + "data/NumUtilTest.java (㈠㈡㈢㈣)"),
    ("⓸件套", "四件套", HOUBB + "data/NumUtilTest.java (⓵⓶⓷⓸)"),
    ("㊂要素", "三要素", HOUBB + "data/NumUtilTest.java (㊀㊁㊂)"),
    ("⁴件套", "四件套", HOUBB + "data/NumUtilTest.java (¹²³⁴)"),
    ("₃要素", "三要素", HOUBB + "data/NumUtilTest.java (₁₂₃)"),
    ("４件套", "四件套", HOUBB + "data/NumUtilTest.java (１２３４)"),
    ("ⓈⒻⓏ", "身份证", HOUBB + "data/NumUtilTest.java groupEnglishTest (ⒶⒷⒸ)"),
    ("⒮⒢⒦", "社工库", HOUBB + "data/NumUtilTest.java groupEnglishTest (⒜⒝⒞)"),
    ("ⓚⓕⓙⓛ", "开房记录", HOUBB + "data/NumUtilTest.java groupEnglishTest (ⓐⓑⓒ)"),
    ("sfz2要素", "身份证", HOUBB + "bugs/b20260323/EnglishWordMatchTest.java (1av2)"),
    ("a开房记录b", "开房记录", HOUBB + "bugs/b20260323/EnglishWordMatchTest.java (a弹药b)"),
    ("test微信test", "微信", HOUBB + "bugs/b20260323/EnglishWordMatchTest.java (test微信test)"),
    ("身fen证", "身份证", TOOLGOOD + "PinyinMatchTest/PinyinMatchTest.cs (北Ji, S东)"),
    ("kfjl", "开房记录", TOOLGOOD + "PinyinMatchTest/PinyinMatchTest.cs (BJ)"),
    ("sjt", "四件套", TOOLGOOD + "PinyinMatchTest/PinyinMatchTest.cs (BJ)"),
    ("shenfenzheng", "身份证", TOOLGOOD + "PinyinMatchTest/PinyinMatchTest.cs (Sdong)"),
    ("she gong ku", "社工库", TOOLGOOD + "PinyinMatchTest/PinyinMatchTest.cs (黑 龙 江)"),
    ("shen-fen-zheng", "身份证", TOOLGOOD + "PinyinMatchTest/PinyinMatchTest.cs (黑 龙 江)"),
    ("s[]g[]k", "社工库", TOOLGOOD + "IllegalWords/IllegalWordsTest.cs skip words (al[]l)"),
    ("s.g.k", "社工库", TOOLGOOD + "IllegalWords/IllegalWordsTest.cs skip words (al[]l)"),
    ("s-f-z", "身份证", TOOLGOOD + "IllegalWords/IllegalWordsTest.cs skip words (al[]l)"),
    ("s_g_k", "社工库", TOOLGOOD + "IllegalWords/IllegalWordsTest.cs skip words (al[]l)"),
    ("sssgk", "社工库", TOOLGOOD + "IllegalWords/IllegalWordsTest.cs duplicate words (asssert)"),
    ("fulllz", "fullz", TOOLGOOD + "IllegalWords/IllegalWordsTest.cs duplicate words (allll)"),
    ("sSgk", "社工库", TOOLGOOD + "IssuesTest.cs IssuesTest_65 (fFuck)"),
    ("身身份份证证", "身份证", TOOLGOOD + "IllegalWords/IllegalWordsTest.cs duplicate words"),
    ("【身]份【证", "身份证", TOOLGOOD + "IllegalWords/IllegalWordsTest.cs (我是【中]国【人)"),
    ("四[件套]", "四件套", TOOLGOOD + "IssuesTest.cs IssuesTest_56 (我[爱中]国)"),
    ("🅢🅖🅚", "社工库", HOUBB + "data/NumUtilTest.java groupEnglishTest (negative circled)"),
]

# (as written, the keyword term it must NOT be found as, the upstream test it is ported from)
NEGATIVE = [
    ("feedback", "数据库", HOUBB + "bugs/b20260323/EnglishWordMatchTest.java (have: no av)"),
    ("bestseller", "出售", HOUBB + "bugs/b20260323/EnglishWordMatchTest.java (Middlesex)"),
    ("sssgkz", "社工库", TOOLGOOD + "IllegalWords/IllegalWordsTest.cs (zgasssert: no assert)"),
    ("xsfz", "身份证", TOOLGOOD + "IllegalWords/IllegalWordsTest.cs (zgasssert: no assert)"),
    ("ｓｆｚddb", "身份证", TOOLGOOD + "IssuesTest.cs IssuesTest_17 (ａｂｃddb: no abc)"),
    ("A14件套", "四件套", TOOLGOOD + "IssuesTest.cs IssuesTest_20 (A10021003: no 1, 0)"),
    ("证 份 身", "身份证", TOOLGOOD + "PinyinMatchTest/PinyinMatchTest.cs (京 北: no 北京)"),
    ("身份 份证", "身份证", TOOLGOOD + "PinyinMatchTest/PinyinMatchTest.cs (黑龙 龙江)"),
    ("纯棉床上四件套", "四件套", HOUBB + "bs/SensitiveWordBsAllowTest.java (三黄片黄片)"),
]

# Ordinary texts that the upstream suites keep free of any finding: they must not alert here.
ORDINARY = [
    ("生日快乐", HOUBB + "bugs/b29/Bug29Test.java"),
    (
        "以个人账户或现金收取资金、现场或即时交付本金即给予部分提成、分红、利息;",
        HOUBB + "bugs/b55/Bug55Test.java",
    ),
    ("我受到了威胁救救我", HOUBB + "bugs/b31/BugWeixieTest.java"),
    ("his is sha ash", TOOLGOOD + "IssuesTest.cs IssuesTest_57_3"),
    ("高高兴兴上学去，干干净净过新年", "reduplicated words (AABB) collapse harmlessly"),
]


@pytest.fixture(scope="module")
def matcher():
    return load_matcher().without_model()  # the rules alone (the model: tests/test_model.py)


@pytest.mark.parametrize("written, term, upstream", POSITIVE, ids=[c[0] for c in POSITIVE])
def test_an_evasion_is_normalised_so_the_plain_keyword_is_found(matcher, written, term, upstream):
    found = found_terms(matcher, written)
    assert term in found, f"{written!r} should be found as {term} ({upstream}); found {found}"
    # The highlight is the word as written: every character of it comes from the text.
    for surface in found[term]:
        assert surface and surface in written


@pytest.mark.parametrize("written, term, upstream", NEGATIVE, ids=[c[0] for c in NEGATIVE])
def test_a_lookalike_that_upstream_refuses_is_not_matched(matcher, written, term, upstream):
    assert term not in found_terms(matcher, written), upstream


@pytest.mark.parametrize("text, upstream", ORDINARY, ids=[c[0][:12] for c in ORDINARY])
def test_ordinary_text_from_the_upstream_suites_does_not_alert(matcher, text, upstream):
    assert not matcher.match("", text).alert, upstream


def test_the_highlight_of_a_collapsed_word_covers_every_character_as_written():
    norm = normalize("出售身身份份证证四件套")
    start = norm.text.index("身份证")
    assert norm.original_slice(start, start + 3) == "身身份份证证"
    norm = normalize("查 s.g.k 机器人")
    start = norm.text.index("sgk")
    assert norm.original_slice(start, start + 3) == "s.g.k"


def test_normalising_keeps_what_carries_meaning():
    assert normalize("TG@xinliao_demo").text == "tg@xinliao_demo"  # a handle keeps its @
    assert normalize("mail: user@qq.com").text == "mail user@qq.com"
    assert normalize("谢谢你，妈妈").text == "谢谢你妈妈"  # one doubled character is a word
    assert normalize("队伍 大陆 收拾").text == "队伍大陆收拾"  # 伍 陆 拾 outside numerals
    assert normalize("伍件套 拾万条").text == "五件套十万条"
    assert normalize("e-mail t.me/abc_def").text == "e-mail t.me/abc_def"


@pytest.mark.parametrize(
    "title, text",
    [
        ("出 ⓈⓈⓈsⓖgⓖ⒢ⓚ⒦", "查询机器人 飞机 @sgk_bot_demo 包月"),
        ("身身份份证证", "出售 身身份份证证 正反面 一套五十 QQ：⑧⑧⑥⑥⑦"),
        ("肆件套", "出肆件套 全套 价格私聊 薇：sijiantao_demo"),
        ("kfjl", "查kfjl 一次两百 飞机@cha_kfjl_demo"),
        ("she gong ku", "she gong ku query bot, selling lookups, dm @sgk_demo_bot"),
    ],
)
def test_a_listing_written_with_evasions_still_alerts_through_the_first_pass(matcher, title, text):
    quick = matcher.match(title, text)
    full = matcher.match(title, text, first_pass=False)
    assert full.alert and quick.alert and quick.score == full.score
