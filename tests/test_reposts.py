"""Near-duplicate signatures: heishi's numpy MinHash is datasketch's, bit for bit."""

from __future__ import annotations

import random
import subprocess
import sys

import numpy as np
from datasketch import MinHash

from monitor import reposts


def _texts() -> list[str]:
    rng = random.Random(5)
    texts = []
    for _ in range(300):
        words = [
            "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(rng.randint(1, 4)))
            for _ in range(rng.randint(3, 60))
        ]
        texts.append(" ".join(words) + f" {rng.randint(1, 99999)}元 QQ{rng.randint(10**5, 10**9)}")
    return texts


def test_signature_values_equal_datasketch_minhash_affine32_seed_1():
    for text in _texts():
        grams = reposts.shingles(f"标题 {text}")
        expected = MinHash(num_perm=reposts.NUM_PERM, seed=1, scheme="affine32")
        expected.update_batch(list(grams))
        found = reposts.signature("标题", text)
        assert found is not None
        assert found.values.dtype == np.uint32
        assert np.array_equal(found.values, expected.hashvalues.astype(np.uint32)), text


def test_similarity_estimates_follow_shared_text():
    base = "出售全国身份证四件套 姓名 电话 住址 一手资源 量大从优 看样私聊 飞机 @abcdef"
    same = reposts.signature("", base)
    repriced = reposts.signature("", base + " 300元")
    other = reposts.signature("", "二手笔记本电脑转让 九成新 电池良好 同城自提 价格可谈")
    assert same is not None and repriced is not None and other is not None
    assert same.similarity(repriced) >= reposts.SAME_TEXT
    assert same.similarity(other) < 0.2
    assert reposts.signature("", "太短") is None  # too few 3-grams to compare


def test_computing_a_signature_does_not_import_datasketch_or_scipy():
    # Importing datasketch loads scipy: most of a second in every crawl process.
    code = (
        "import sys; from monitor import reposts; reposts.signature('标题', '出售身份证四件套 一手 "
        "量大从优 私聊'); print('datasketch' in sys.modules, 'scipy' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "False"]
