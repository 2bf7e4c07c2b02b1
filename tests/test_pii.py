"""PII masking: valid numbers only, however they are written; same length; keyed digests;
a masked form that keeps few digits."""

from __future__ import annotations

import hashlib
import hmac
import sys
import unicodedata
from datetime import date

import pytest

from monitor.matching.digit_runs import DIGIT
from monitor.privacy.pii import (
    MaskSettingError,
    digest_of,
    id_birth_date_ok,
    id_checksum_ok,
    luhn_ok,
    mask_keep,
    mask_markup,
    mask_pii,
    mask_segments,
)
from monitor.settings import from_environment

SECRET = b"k" * 32
ID = "11010519491231002X"  # valid check digit
PHONE = "13800138000"
CARD = "6222021234567890128"  # Luhn valid, 19 digits


def test_valid_checksums_and_birth_dates():
    assert id_checksum_ok(ID)
    assert not id_checksum_ok("110105194912310021")
    assert id_birth_date_ok(ID)
    assert not id_birth_date_ok("110105194902300021")  # 30 February
    assert not id_birth_date_ok("110105209901010021", today=date(2026, 1, 1))  # not born yet
    assert luhn_ok(CARD)
    assert not luhn_ok("6222021234567890123")


def test_id_phone_and_card_are_masked_to_the_same_length_keeping_two_digits_each_end():
    text = f"样本：张三 {ID} 手机{PHONE} 卡号{CARD} 完"
    masked, hits = mask_pii(text, SECRET)
    assert len(masked) == len(text)
    assert "11**************2X" in masked
    assert "13*******00" in masked
    assert "62***************28" in masked
    assert [h.kind for h in hits] == ["id_number", "phone", "bank_card"]
    for hit in hits:
        assert masked[hit.start : hit.end] == hit.masked
        assert len(hit.masked) == hit.end - hit.start


def test_teams_may_keep_more_digits_up_to_the_old_form():
    assert mask_keep(from_environment({})) == (2, 2)
    assert mask_keep(from_environment({"HEISHI_PII_MASK_KEEP": "6,4"})) == (6, 4)
    assert mask_keep(from_environment({"HEISHI_PII_MASK_KEEP": "0"})) == (0, 0)
    masked, _ = mask_pii(f"{ID} {PHONE}", SECRET, keep=(6, 4))
    assert masked == "110105********002X 138001*8000"
    masked, _ = mask_pii(PHONE, SECRET, keep=(0, 0))
    assert masked == "*" * 11
    for bad in ("7,4", "2,5", "two", "1,2,3", "-1,2"):
        with pytest.raises(MaskSettingError, match="HEISHI_PII_MASK_KEEP"):
            mask_keep(from_environment({"HEISHI_PII_MASK_KEEP": bad}))


def test_digest_is_hmac_of_the_digits_and_matches_a_typed_number():
    _, hits = mask_pii(f"电话 {PHONE}", SECRET)
    expected = hmac.new(SECRET, PHONE.encode(), hashlib.sha256).hexdigest()
    assert hits[0].digest == expected
    assert digest_of("phone", "+86 138-0013-8000", SECRET) == expected
    assert digest_of("phone", "0086 138 0013 8000", SECRET) == expected
    _, id_hits = mask_pii(ID, SECRET)
    assert id_hits[0].digest == digest_of("id_number", ID.lower(), SECRET)
    assert digest_of("phone", PHONE, b"other") != expected


def test_invalid_numbers_qq_numbers_prices_dates_and_volumes_are_left_alone():
    text = (
        "身份证110105194912310021 QQ:13912345678 扣扣 1391 2345 678 价格15000元 "
        "订单6222021234567890123 2024-05-01 13:30:00 共300万条 500元/万条 "
        "编号213800138000 电话 138-./+0013-./+8000 1380013800 12800138000"
    )
    masked, hits = mask_pii(text, SECRET)
    assert masked == text
    assert hits == []


DISGUISES = {
    "full-width digits": "１３８００１３８０００",
    "dots": "138.0013.8000",
    "dashes and spaces": "138 - 0013 - 8000",
    "a label glued on": "tel13800138000",
    "an ID glued to its label": "ID11010519491231002X",
    "an ID in three groups": "110105 19491231 002X",
    "a lowercase check letter": "11010519491231002x",
    "zero-width spaces": "138\u200b0013\u200b8000",
    "a soft hyphen and a word joiner": "138\u00ad0013\u20608000",
    "no-break and ideographic spaces": "138\u00a00013\u30008000",
    "Hangul fillers (letters that draw nothing)": "138\u31640013\uffa08000",
    "a digit per space": "1 3 8 0 0 1 3 8 0 0 0",
    "runs of spaces": "138      0013        8000",
    "Chinese numerals": "幺三八零零幺三八零零零",
    "circled and superscript digits": "①③⑧⓪⓪①③⑧⓪⓪⓪",
    "mathematical digits": "𝟏𝟑𝟖𝟎𝟎𝟏𝟑𝟖𝟎𝟎𝟎",
    "a country code": "+86 138 0013 8000",
    "a country code glued on": "008613800138000",
    "emoji between groups": "138📞0013📞8000",
    "a card in groups": "6222 0212 3456 7890 128",
}


@pytest.mark.parametrize("written", list(DISGUISES.values()), ids=list(DISGUISES))
def test_a_disguised_number_is_masked_where_it_was_written(written):
    text = f"联系人：张先生{written}，随时联系"
    masked, hits = mask_pii(text, SECRET)
    assert len(hits) == 1 and len(masked) == len(text)
    digits = "".join(str(unicodedata.digit(c, 0)) for c in masked if DIGIT.match(c))
    digits = digits.removeprefix("0086").removeprefix("86")  # a country code is kept
    assert len(digits) <= 4  # two at each end at most, wherever they are
    number = {"id_number": ID, "phone": PHONE, "bank_card": CARD}[hits[0].kind]
    assert hits[0].digest == digest_of(hits[0].kind, number, SECRET)
    assert mask_pii(masked, SECRET) == (masked, [])  # masking twice changes nothing


def test_two_numbers_next_to_each_other_are_both_masked():
    masked, hits = mask_pii(f"{PHONE} 13912345678，{PHONE[:3]} {PHONE[3:]} {CARD}", SECRET)
    assert [h.kind for h in hits] == ["phone", "phone", "phone", "bank_card"]
    assert masked == "13*******00 13*******78，13* ******00 62***************28"


def test_a_number_split_across_text_nodes_is_masked_in_each():
    masked, hits = mask_segments(["手机139", "", "1234", "5678 完"], SECRET)
    assert masked == ["手机13*", "", "****", "**78 完"]
    assert len(hits) == 1 and hits[0].digest == digest_of("phone", "13912345678", SECRET)
    assert mask_segments(["价格 800", "元"], SECRET) == (["价格 800", "元"], [])


def test_markup_is_read_as_a_browser_shows_it():
    masked, hits = mask_markup("电话 &#49;&#x33;9<b></b>1234<i>5678</i> &amp; 更多", SECRET)
    assert masked == "电话 &#49;&#x33;*<b></b>****<i>**78</i> &amp; 更多"
    assert len(hits) == 1


def test_empty_text():
    assert mask_pii("", SECRET) == ("", [])


def test_the_list_of_other_digit_characters_is_the_unicode_database_s():
    """monitor.matching.digit_runs lists the characters with a digit value that \\d misses; a newer
    Unicode may add some."""
    missed = [
        hex(code)
        for code in range(sys.maxunicode + 1)
        if unicodedata.digit(chr(code), None) is not None and not DIGIT.match(chr(code))
    ]
    assert missed == []
