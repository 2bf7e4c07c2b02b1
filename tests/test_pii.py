"""PII masking: checksum-valid numbers only, same length, keyed digests."""

from __future__ import annotations

import hashlib
import hmac

from monitor.pii import digest_of, id_checksum_ok, luhn_ok, mask_pii

SECRET = b"k" * 32
ID = "11010519491231002X"  # valid check digit
PHONE = "13800138000"
CARD = "6222021234567890128"  # Luhn valid, 19 digits


def test_valid_checksums():
    assert id_checksum_ok(ID)
    assert not id_checksum_ok("110105194912310021")
    assert luhn_ok(CARD)
    assert not luhn_ok("6222021234567890123")


def test_id_phone_and_card_are_masked_to_the_same_length():
    text = f"样本：张三 {ID} 手机{PHONE} 卡号{CARD} 完"
    masked, hits = mask_pii(text, SECRET)
    assert len(masked) == len(text)
    assert "110105********002X" in masked
    assert "138****8000" in masked
    assert "622202*********0128" in masked
    assert [h.kind for h in hits] == ["id_number", "phone", "bank_card"]
    for hit in hits:
        assert masked[hit.start : hit.end] == hit.masked
        assert len(hit.masked) == hit.end - hit.start


def test_digest_is_hmac_of_the_digits_and_matches_a_typed_number():
    _, hits = mask_pii(f"电话 {PHONE}", SECRET)
    expected = hmac.new(SECRET, PHONE.encode(), hashlib.sha256).hexdigest()
    assert hits[0].digest == expected
    assert digest_of("phone", "+86 138-0013-8000", SECRET) == expected
    _, id_hits = mask_pii(ID, SECRET)
    assert id_hits[0].digest == digest_of("id_number", ID.lower(), SECRET)
    assert digest_of("phone", PHONE, b"other") != expected


def test_invalid_numbers_qq_numbers_and_prices_are_left_alone():
    text = "身份证110105194912310021 QQ:13912345678 价格15000元 订单6222021234567890123"
    masked, hits = mask_pii(text, SECRET)
    assert masked == text
    assert hits == []


def test_empty_text():
    assert mask_pii("", SECRET) == ("", [])
