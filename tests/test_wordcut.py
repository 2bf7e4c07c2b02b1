"""monitor.matching.wordcut cuts exactly as jieba's precise mode without HMM does, on every text."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from monitor.analysis.search import SearchSegmenter
from monitor.matching.normalize import normalize
from monitor.matching.wordcut import WordCut, cached_wordcut

ROOT = Path(__file__).resolve().parent.parent
KEYWORD_WORDS = ["身份证四件套", "社工库", "银行卡料", "快递单号", "开房记录", "实名手机卡"]


def _corpus() -> list[str]:
    texts: list[str] = []
    for path in [
        ROOT / "tests" / "data" / "listings.jsonl",
        ROOT / "tests" / "data" / "hard_negatives.jsonl",
        ROOT / "tests" / "data" / "public_text.jsonl",
        ROOT.parent / "shared" / "eval" / "dev.jsonl",
    ]:
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                texts.append(f"{record.get('title') or ''}\n{record.get('text') or ''}")
    rng = random.Random(7)
    pieces = [
        *KEYWORD_WORDS,
        *[
            "出售",
            "收",
            "料",
            "一手",
            "量大从优",
            "私聊",
            "飞机",
            "薇信",
            "扣扣",
            "万条",
            "亿",
            "元",
            "可验",
            "看样",
            "全国",
            "实时",
        ],
        "QQ",
        "tg",
        "abc123",
        "v8",
        "3.5w",
        "C++",
        "a-b",
        "100%",
        "#1",
        "&",
        "，",
        "。",
        "！",
        " ",
        "\r\n",
        "\n",
        "\t",
        "🔥",
        "①",
        "é",
        "ｱ",
        "·",
        "々",
        "〇",
    ]
    for _ in range(3000):
        texts.append("".join(rng.choice(pieces) for _ in range(rng.randint(1, 40))))
    for _ in range(1000):  # arbitrary runs of CJK characters, letters and digits
        alphabet = [chr(rng.randint(0x4E00, 0x9FD5)) for _ in range(40)] + list("aZ09._-")
        texts.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60))))
    return texts


@pytest.fixture(scope="module")
def search_segmenter(tmp_path_factory) -> SearchSegmenter:
    return SearchSegmenter(KEYWORD_WORDS, KEYWORD_WORDS, tmp_path_factory.mktemp("cache"))


@pytest.mark.slow
def test_cuts_equal_jiebas_on_raw_and_normalised_texts(search_segmenter):
    tokenizer = search_segmenter.tokenizer()
    cut = search_segmenter.wordcut()
    corpus = _corpus()
    assert len(corpus) > 4000
    word = re.compile(r"\w")
    for n, text in enumerate(corpus):
        for variant in (text, normalize(text).text):
            got = cut.cut(variant)
            assert got == list(tokenizer.cut(variant, HMM=False)), variant
            if n % 8 == 0:
                # The index's words, cut a block at a time with each block's cut kept, are
                # the words of the whole text's cut (one text in eight: each is a second cut).
                assert search_segmenter.words(variant) == [w for w in got if word.search(w)]


@pytest.mark.slow
def test_cuts_equal_jiebas_own_full_dictionary():
    import jieba

    tokenizer = jieba.Tokenizer()  # jieba's whole dictionary, not heishi's cut-down one
    tokenizer.initialize()
    cut = WordCut.from_tokenizer(tokenizer)
    for text in _corpus()[:1500]:
        assert cut.cut(text) == list(tokenizer.cut(text, HMM=False)), text


@pytest.mark.slow
def test_dictionary_words_are_what_jieba_counts(search_segmenter):
    tokenizer = search_segmenter.tokenizer()
    cut = search_segmenter.wordcut()
    for word in ["身份证", "四件套", "银行", "银行卡料", "社工库", "份证", "卡料"]:
        assert cut.is_word(word) == bool(tokenizer.FREQ.get(word)), word


@pytest.mark.slow
def test_cache_is_reused_and_rebuilt_when_its_key_changes(tmp_path, search_segmenter):
    built: list[int] = []

    def tokenizer():
        built.append(1)
        return search_segmenter.tokenizer()

    first = cached_wordcut("test-dict", ["a"], tmp_path, tokenizer)
    again = cached_wordcut("test-dict", ["a"], tmp_path, tokenizer)
    assert len(built) == 1  # the second came from the pickle
    assert again.cut("出售身份证四件套") == first.cut("出售身份证四件套")
    cached_wordcut("test-dict", ["b"], tmp_path, tokenizer)  # new keyword lists: new key
    assert len(built) == 2
    assert len(list(tmp_path.glob("test-dict-*.wordcut"))) == 1  # the stale one is gone
    broken = next(tmp_path.glob("test-dict-*.wordcut"))
    broken.write_bytes(b"not a pickle")
    assert cached_wordcut("test-dict", ["b"], tmp_path, tokenizer).cut("社工库") == ["社工库"]
    assert len(built) == 3
