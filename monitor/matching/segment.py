"""Word boundaries from a dedicated jieba tokenizer, for short ambiguous keywords.

Single characters like 出 (sell / 出现), 料 (data / 材料) and 收 (buy / 收入) count only when
jieba makes them a word of their own. The tokenizer is private (never jieba's global one); its
dictionary is jieba's own, cut down to the entries that decide those characters' boundaries
(every word containing one of them, plus all single characters), with the keyword terms added
by `add_word` at a high frequency. Cuts are made by monitor.matching.wordcut (exactly jieba's, faster),
built from the tokenizer once and cached in `monitor.config.cache_dir()` with the cut
dictionary, so a warm start neither imports jieba nor loads its dictionary. Only a small window
around each ambiguous hit is segmented, so long texts stay cheap.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.matching.wordcut import WordCut

log = logging.getLogger(__name__)

USER_WORD_FREQ = 50_000
WINDOW = 8
_CJK = re.compile(r"[\u4e00-\u9fff]")


class PrivateDictionary:
    """A private jieba tokenizer over the entries of jieba's dictionary that `keep(word,
    freq)` selects, with `user_words`, and its word cut (monitor.matching.wordcut), which is what cuts
    text. The tokenizer is loaded only to build the word cut when the cache misses."""

    def __init__(
        self,
        name: str,
        keep: Callable[[str, int], bool],
        user_words: list[str],
        cache_dir: Path,
    ) -> None:
        self.name = name
        self.keep = keep
        self.user_words = user_words
        self.cache_dir = Path(cache_dir)
        self._tokenizer: Any = None  # a jieba.Tokenizer, built on first use
        self._wordcut: WordCut | None = None
        self._lock = threading.RLock()  # wordcut() builds the tokenizer while holding it

    def tokenizer(self):
        if self._tokenizer is None:
            with self._lock:
                if self._tokenizer is None:
                    self._tokenizer = private_tokenizer(
                        self.name, self.keep, self.user_words, self.cache_dir
                    )
        return self._tokenizer

    def wordcut(self):
        if self._wordcut is None:
            from monitor.matching.wordcut import cached_wordcut

            key = [jieba_dictionary_stamp(), f"user words at {USER_WORD_FREQ}", *self.user_words]
            with self._lock:
                if self._wordcut is None:
                    self._wordcut = cached_wordcut(self.name, key, self.cache_dir, self.tokenizer)
        return self._wordcut


class WordSegmenter:
    """Decides whether a span of normalised text is a whole jieba word."""

    def __init__(self, boundary_terms: list[str], user_words: list[str], cache_dir: Path) -> None:
        self.boundary_terms = sorted(set(boundary_terms))
        self.user_words = sorted({w for w in user_words if len(w) >= 2 and _CJK.search(w)})
        chars = {c for term in self.boundary_terms for c in term if _CJK.match(c)}
        key = hashlib.sha256(("".join(sorted(chars)) + "|v1").encode()).hexdigest()[:16]
        self.dictionary = PrivateDictionary(
            f"jieba-{key}",
            lambda word, _freq: len(word) == 1 or bool(chars.intersection(word)),
            self.user_words,
            cache_dir,
        )

    def is_word(self, text: str, start: int, end: int) -> bool:
        """True when text[start:end] is one or more whole words of the surrounding text."""
        lo = max(0, start - WINDOW)
        hi = min(len(text), end + WINDOW)
        window = text[lo:hi]
        cuts = {0}
        pos = 0
        for token in self.dictionary.wordcut().cut(window):
            pos += len(token)
            cuts.add(pos)
        return (start - lo) in cuts and (end - lo) in cuts


def private_tokenizer(
    name: str, keep: Callable[[str, int], bool], user_words: list[str], cache_dir: Path
):
    """A jieba tokenizer of its own (never jieba's global one) over the entries of jieba's
    dictionary that `keep(word, freq)` selects, with `user_words` at USER_WORD_FREQ.

    The cut dictionary (`name`.dict), its full total (`name`.json) and jieba's cache of it
    (`name`.cache) live in `cache_dir`, so a warm start only loads the cache. Word
    probabilities are as with jieba's full dictionary, so paths compare as they would there."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    dict_path = cache_dir / f"{name}.dict"
    meta_path = cache_dir / f"{name}.json"
    if not dict_path.exists() or not meta_path.exists():
        total = _write_dictionary(jieba, keep, dict_path)
        meta_path.write_text(json.dumps({"total": total}))
    total = json.loads(meta_path.read_text())["total"]
    tokenizer = jieba.Tokenizer(dictionary=str(dict_path))
    tokenizer.tmp_dir = str(cache_dir)
    tokenizer.cache_file = f"{name}.cache"
    tokenizer.initialize()
    for word in user_words:
        tokenizer.add_word(word, USER_WORD_FREQ)
    tokenizer.total = total + USER_WORD_FREQ * len(user_words)
    return tokenizer


def jieba_dictionary_stamp() -> str:
    """What identifies jieba's installed dictionary here (its path, size and time), found
    without importing jieba (which takes a third of a second)."""
    source = _jieba_dictionary_file()
    try:
        stat = source.stat()
    except OSError:
        return f"{source}:missing"
    return f"{source}:{stat.st_size}:{int(stat.st_mtime)}"


def jieba_dictionary_identity() -> str:
    """jieba's version and its dictionary's size: what decides its words, the same on every
    machine (the stamp also names the file's place and time)."""
    import importlib.metadata

    try:
        version = importlib.metadata.version("jieba")
    except importlib.metadata.PackageNotFoundError:
        version = "missing"
    try:
        size = _jieba_dictionary_file().stat().st_size
    except OSError:
        size = 0
    return f"jieba {version}, dictionary of {size} bytes"


def _jieba_dictionary_file() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("jieba")
    if spec is None or spec.origin is None:
        return Path("jieba-missing") / "dict.txt"
    return Path(spec.origin).with_name("dict.txt")


def _write_dictionary(jieba, keep: Callable[[str, int], bool], path: Path) -> int:
    """Write jieba's entries that `keep` selects; return the full dictionary's total."""
    source = Path(jieba.__file__).with_name("dict.txt")
    total = 0
    kept: list[str] = []
    with source.open(encoding="utf-8") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) < 2:
                continue
            word, freq = parts[0], parts[1]
            total += int(freq)
            if keep(word, int(freq)):
                kept.append(f"{word} {freq}\n")
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text("".join(kept), encoding="utf-8")
    tmp.replace(path)
    log.debug("wrote %d of jieba's words to %s", len(kept), path)
    return max(total, 1)
