"""Normalise listing text for matching, keeping a map back to the original characters.

Sellers obfuscate: full-width characters (ＱＱ：８８６６), traditional characters (身分證),
separators, zero-width characters and emoji inside words (身 份 证, 身-份-证, 身😀份证).
`normalize` undoes those and records, for every normalised character, which original character
it came from, so a match in the normalised text highlights the right span of the original.
Look-alikes, homophones and pinyin (薇信, 扣扣, sfz) are aliases in the keyword lists, matched
against this normalised text.
"""

from __future__ import annotations

import os
import pickle
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain

# Characters that separate nothing in Chinese but are used to split words apart.
_EXTRA_SEPARATORS = frozenset("丨｜•·・‧∙")
# Kept even between Chinese characters: currency signs and handles carry meaning.
_NEVER_DROPPED = frozenset("@¥$€£")
_SURROGATE = re.compile("[\ud800-\udfff]")
_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_BEYOND_LATIN = re.compile("[\u2e80-\U0010ffff]")


@dataclass(frozen=True)
class Normalized:
    """A normalised string and, per character, the index of its original character."""

    original: str
    text: str
    origins: tuple[int, ...]

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that produced text[start:end]."""
        if not self.text or start >= end:
            pos = self.origins[start] if start < len(self.origins) else len(self.original)
            return pos, pos
        return self.origins[start], self.origins[end - 1] + 1

    def original_slice(self, start: int, end: int) -> str:
        """The original characters behind text[start:end]."""
        a, b = self.to_original(start, end)
        return self.original[a:b]


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=65536)
def _fold(char: str) -> str:
    """Full width to half width, compatibility forms, lower case; '' for invisible characters."""
    if char < "\x80":
        return char.lower()
    category = unicodedata.category(char)
    if category in ("Cf", "Mn", "Me", "Cs", "Co"):
        return ""  # zero-width joiners, variation selectors, combining marks, bad surrogates
    return unicodedata.normalize("NFKC", char).lower()


@lru_cache(maxsize=65536)
def is_separator(char: str) -> bool:
    """True for characters sellers put inside words: spaces, punctuation, symbols, emoji."""
    if char in _NEVER_DROPPED:
        return False
    if char in _EXTRA_SEPARATORS:
        return True
    category = unicodedata.category(char)
    return category[0] in "ZPSCM"


def _is_ascii_alnum(char: str) -> bool:
    return char < "\x80" and char.isalnum()


def normalize(original: str) -> Normalized:
    """Normalise `original` for matching: see the module docstring."""
    lowered = original.lower()
    if len(lowered) == len(original) and unicodedata.is_normalized("NFKC", original):
        # Fast path: nothing to fold; invisible characters are dropped as separators below.
        return _compact(original, _simplified(lowered), range(len(original)))
    chars: list[str] = []
    origins: list[int] = []
    for index, char in enumerate(original):
        folded = _fold(char)
        if len(folded) == 1:
            chars.append(folded)
            origins.append(index)
        elif folded:
            chars.extend(folded)
            origins.extend([index] * len(folded))
    return _compact(original, _simplified("".join(chars)), origins)


def _simplified(text: str) -> str:
    """Traditional to simplified, keeping the length (one character for one)."""
    if not _BEYOND_LATIN.search(text):
        return text  # nothing Chinese: skip OpenCC
    # OpenCC takes UTF-8: lone surrogates (bytes mis-decoded with surrogateescape) become '?'.
    safe = text.encode("utf-8", "replace").decode("utf-8") if _SURROGATE.search(text) else text
    converted = _t2s().convert(safe)
    if len(converted) == len(text):
        return converted
    # A phrase conversion changed the length: convert character by character instead.
    out: list[str] = []
    for char in text:
        single = _t2s().convert(char) if not _SURROGATE.match(char) else char
        out.append(single[0] if single else char)
    return "".join(out)


def _compact(original: str, text: str, origins) -> Normalized:
    """Drop separator runs unless they sit between two ASCII letters or digits."""
    if _ASTRAL.search(text):
        return _compact_by_character(original, text, origins)
    pieces: list[str] = []
    spans: list = []
    pos = 0
    n = len(text)
    for match in _separator_runs().finditer(text):
        a, b = match.span()
        if a > pos:
            pieces.append(text[pos:a])
            spans.append(origins[pos:a])
        if 0 < a and b < n and text[a - 1] in _ASCII_ALNUM and text[b] in _ASCII_ALNUM:
            # Keep one separator between English words and numbers ("20 m rows", "1.3").
            pieces.append(text[a] if text[a] in ".,:-/_" and b == a + 1 else " ")
            spans.append((origins[a],))
        pos = b
    if pos == 0:
        return Normalized(original, text, tuple(origins))
    pieces.append(text[pos:])
    spans.append(origins[pos:])
    return Normalized(original, "".join(pieces), tuple(chain.from_iterable(spans)))


def _compact_by_character(original: str, text: str, origins) -> Normalized:
    """_compact for text with characters beyond the BMP (emoji), one character at a time."""
    out_chars: list[str] = []
    out_origins: list[int] = []
    n = len(text)
    i = 0
    while i < n:
        char = text[i]
        if not is_separator(char):
            out_chars.append(char)
            out_origins.append(origins[i])
            i += 1
            continue
        j = i
        while j < n and is_separator(text[j]):
            j += 1
        left = out_chars[-1] if out_chars else ""
        right = text[j] if j < n else ""
        if left and right and _is_ascii_alnum(left) and _is_ascii_alnum(right):
            keep = text[i] if text[i] in ".,:-/_" and j == i + 1 else " "
            out_chars.append(keep)
            out_origins.append(origins[i])
        i = j
    return Normalized(original, "".join(out_chars), tuple(out_origins))


@lru_cache(maxsize=1)
def _separator_runs() -> re.Pattern[str]:
    """A regex for runs of separators (is_separator) in the Basic Multilingual Plane."""
    codes = sorted(code for code, value in _quick_table().items() if value is None)
    ranges: list[tuple[int, int]] = []
    for code in codes:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    parts = [
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in ranges
    ]
    return re.compile("[" + "".join(parts) + "]+")


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")  # emoji and the like: separators
_QUICK_TABLE_VERSION = 1


def quick_text(original: str) -> str:
    """The normalised text without offsets and with every separator dropped, in C speed.

    For the matcher's first pass only: per character the same folding and simplification as
    `normalize` (traditional to simplified one character at a time), so every term that
    `normalize` lets match is found here too, once spaces are taken out of the term.
    """
    return _ASTRAL.sub("", original).translate(_quick_table())


@lru_cache(maxsize=1)
def _quick_table() -> dict[int, str | None]:
    """ord -> folded, simplified character ('' or None to drop); built once, cached on disk."""
    from monitor import config

    path = config.cache_dir() / f"quick-table-v{_QUICK_TABLE_VERSION}.pickle"
    try:
        with path.open("rb") as handle:
            return pickle.load(handle)
    except Exception:  # missing or unreadable: rebuild
        pass
    table: dict[int, str | None] = {}
    cjk = [chr(c) for c in range(0x2E80, 0xA000)]
    simplified = _t2s().convert("\n".join(cjk)).split("\n")
    to_simple = dict(zip(cjk, simplified, strict=False)) if len(simplified) == len(cjk) else {}
    for code in range(0x10000):
        if 0xD800 <= code <= 0xDFFF:
            table[code] = None
            continue
        char = chr(code)
        folded = "".join(
            to_simple.get(c, c) if len(to_simple.get(c, c)) == 1 else c
            for c in _fold(char)
            if not is_separator(c)
        )
        if folded != char:
            table[code] = folded or None
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as handle:
            pickle.dump(table, handle, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
    except OSError:
        pass
    return table


def normalize_term(term: str) -> str:
    """A keyword or alias normalised the same way as listing text."""
    return normalize(term).text
