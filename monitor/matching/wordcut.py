"""jieba's precise mode without HMM, computed over an Aho-Corasick automaton of its dictionary.

`WordCut.cut(text)` returns exactly `list(tokenizer.cut(text, HMM=False))` for the jieba
tokenizer it was made from (tests/test_wordcut.py checks it on thousands of texts): the same
blocks, the same dictionary words, the same most probable route with the same floating point
arithmetic and tie-break. It is faster because the dictionary words in a block are found by one
C pass of pyahocorasick instead of a Python loop over every prefix of every position, and each
word's log probability is computed once, when the automaton is built, not at every use.

Built once from the tokenizer and cached as a pickle (`name`-`key`.wordcut), so a warm start
loads in a few tens of milliseconds instead of jieba's half a second of `marshal.load`.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import pickle
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from monitor.matching.keyword_scope import utf8_letters

log = logging.getLogger(__name__)

FORMAT = "wordcut-v3"  # v3: the automaton over UTF-8 bytes
# jieba's block and whitespace patterns (jieba.re_han_default, jieba.re_skip_default).
_IN_BLOCK = re.compile("[\u4e00-\u9fd5a-zA-Z0-9+#&\\._%\\-]+", re.U)
_HAN = re.compile(f"({_IN_BLOCK.pattern})", re.U)
_SKIP = re.compile("(\r\n|\\s)", re.U)


class WordCut:
    """Segments text as a given jieba tokenizer does with `cut(text, HMM=False)`."""

    def __init__(self, automaton: Any, logtotal: float) -> None:
        # reversed word, as its UTF-8 bytes (keyword_scope.utf8_letters) -> (length in
        # characters, log(freq) - log(total)). Over bytes, because pyahocorasick searches a
        # node's children one by one: over characters the root has every character of
        # jieba's dictionary (tens of thousands), over bytes a few dozen (5.5 -> 1.5 us a
        # 16-character window); UTF-8 is self-synchronising, so the words found are the same.
        self.automaton = automaton
        self.logtotal = logtotal

    @classmethod
    def from_tokenizer(cls, tokenizer: Any) -> WordCut:
        import ahocorasick

        logtotal = math.log(tokenizer.total)
        automaton = ahocorasick.Automaton()
        for word, freq in tokenizer.FREQ.items():
            # A word with other characters never lies inside a block, so jieba never meets
            # it; a zero frequency marks a prefix, not a word. Reversed: see _cut_block.
            if freq and _IN_BLOCK.fullmatch(word):
                key = utf8_letters(word[::-1])
                automaton.add_word(key, (len(word), math.log(freq) - logtotal))
        automaton.make_automaton()
        return cls(automaton, logtotal)

    def is_word(self, text: str) -> bool:
        """Whether `text` is a dictionary word (jieba: `FREQ.get(text)` is non-zero)."""
        return self.automaton.get(utf8_letters(text[::-1]), None) is not None

    def cut(self, text: str) -> list[str]:
        """`list(tokenizer.cut(text, HMM=False))`."""
        out: list[str] = []
        # A capturing split alternates text between blocks (even) and blocks (odd).
        for index, piece in enumerate(_HAN.split(text)):
            if not piece:
                continue
            if index % 2:
                out += self._cut_block(piece)
            else:
                for part in _SKIP.split(piece):
                    if part and _SKIP.match(part):
                        out.append(part)
                    else:
                        out.extend(part)
        return out

    def _cut_block(self, block: str) -> list[str]:
        """jieba's __cut_DAG_NO_HMM: the most probable route through the dictionary words.

        The automaton holds every word reversed and runs over the reversed block, so the
        words come out by start position, last first: the order in which jieba's calc()
        fills its route, so the route is computed in the same pass."""
        size = len(block)
        if size == 1:
            return [block]
        value = [0.0] * (size + 1)
        route = list(range(size + 1))
        single = 0.0 - self.logtotal  # log(1) - log(total): a character no word starts at
        current = size  # the start position being decided; those above it are done
        best, best_end = 0.0, 0
        reversed_block = block[::-1]
        data = utf8_letters(reversed_block)
        # A block's characters are ASCII (one byte) or CJK (three): the character a match's
        # last byte belongs to.
        of_byte: list[int] | None = None
        width = 1 if len(data) == size else 3 if len(data) == 3 * size else 0
        if not width:
            of_byte = []
            for index, char in enumerate(reversed_block):
                of_byte.extend((index,) * len(char.encode("utf-8")))
        for reversed_end, (length, logp) in self.automaton.iter(data):
            start = size - 1 - (of_byte[reversed_end] if of_byte else reversed_end // width)
            if start != current:
                if current < size:
                    value[current], route[current] = best, best_end
                for idx in range(current - 1, start, -1):
                    value[idx] = single + value[idx + 1]
                current = start
                best_end = start + length - 1
                best = logp + value[best_end + 1]
                continue
            end = start + length - 1
            score = logp + value[end + 1]
            # max() over (score, end) tuples: a tie goes to the longer word
            if score > best or (score == best and end > best_end):
                best, best_end = score, end
        if current < size:
            value[current], route[current] = best, best_end
        for idx in range(current - 1, -1, -1):
            value[idx] = single + value[idx + 1]
        out: list[str] = []
        letters = ""  # runs of single ASCII letters and digits are joined, as jieba does
        idx = 0
        while idx < size:
            end = route[idx] + 1
            word = block[idx:end]
            if end - idx == 1 and word.isascii() and word.isalnum():
                letters += word
            else:
                if letters:
                    out.append(letters)
                    letters = ""
                out.append(word)
            idx = end
        if letters:
            out.append(letters)
        return out


def cached_wordcut(
    name: str, key_parts: list[str], cache_dir: Path, tokenizer: Callable[[], Any]
) -> WordCut:
    """The WordCut for `tokenizer()` (built only when the cache misses), cached in `cache_dir`
    under `name` and a key of `key_parts` (what the tokenizer's dictionary depends on)."""
    key = hashlib.sha256("\n".join([FORMAT, name, *key_parts]).encode()).hexdigest()[:16]
    path = Path(cache_dir) / f"{name}-{key}.wordcut"
    if path.exists():
        try:
            with path.open("rb") as handle:
                loaded = pickle.load(handle)  # heishi's own cache file, like jieba's marshal
            if isinstance(loaded, WordCut):
                return loaded
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError) as exc:
            log.warning("word cut cache %s unreadable (%s); rebuilding it", path, exc)
    cut = WordCut.from_tokenizer(tokenizer())
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with tmp.open("wb") as handle:
        pickle.dump(cut, handle, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)
    for stale in Path(cache_dir).glob(f"{name}-*.wordcut"):
        if stale != path:
            stale.unlink(missing_ok=True)  # built for keyword lists no longer in use
    return cut
