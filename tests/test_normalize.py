"""Normalisation undoes sellers' obfuscations and maps every character back to the original."""

from __future__ import annotations

import pytest

from monitor.matching.normalize import normalize


@pytest.mark.parametrize(
    "written, expected",
    [
        ("身 份 证", "身份证"),
        ("身-份-证", "身份证"),
        ("身😀份证", "身份证"),
        ("身\u200b份\u200d证", "身份证"),
        ("身・份｜证", "身份证"),
        ("ＱＱ：８８６６", "qq:8866"),
        ("個人資料 身分證", "个人资料身分证"),
        ("SFZ", "sfz"),
        ("Selling ID, 20M rows", "selling id 20m rows"),
        ("5.38亿", "5.38亿"),
        ("¥ 800", "¥800"),
    ],
)
def test_obfuscations_are_undone(written, expected):
    assert normalize(written).text == expected


def test_every_normalised_span_maps_back_to_the_original_characters():
    original = "出售 個人資料：身 😀份-證，ＱＱ８８６６"
    norm = normalize(original)
    start = norm.text.index("身份证")
    assert norm.original_slice(start, start + 3) == "身 😀份-證"
    q = norm.text.index("qq")
    assert norm.original_slice(q, q + 6) == "ＱＱ８８６６"


def test_empty_and_binary_text_normalise_without_error():
    assert normalize("").text == ""
    junk = bytes(range(256)).decode("latin-1") + "\udcff\x00\ufffe"
    norm = normalize(junk)
    assert len(norm.origins) == len(norm.text)
