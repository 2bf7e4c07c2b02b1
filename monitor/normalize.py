"""Normalise listing text for matching, keeping a map back to the original characters.

Sellers obfuscate: full-width characters (ＱＱ：８８６６), traditional characters (身分證),
separators, zero-width characters and emoji inside words (身 份 证, 身-份-证, 身😀份证).
`normalize` undoes those and records, for every normalised character, which original character
it came from, so a match in the normalised text highlights the right span of the original.
Look-alikes, homophones and pinyin (薇信, 扣扣, sfz) are aliases in the keyword lists, matched
against this normalised text.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Characters that separate nothing in Chinese but are used to split words apart.
_EXTRA_SEPARATORS = frozenset("丨｜•·・‧∙")
# Kept even between Chinese characters: currency signs and handles carry meaning.
_NEVER_DROPPED = frozenset("@¥$€£")


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
        return _compact(original, _to_simplified(list(lowered)), list(range(len(original))))
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
    chars = _to_simplified(chars)
    return _compact(original, chars, origins)


def _to_simplified(chars: list[str]) -> list[str]:
    if all(c < "\u2e80" for c in chars):
        return chars  # nothing Chinese: skip OpenCC
    joined = "".join(chars)
    converted = _t2s().convert(joined)
    if len(converted) == len(joined):
        return list(converted)
    # A phrase conversion changed the length: convert character by character instead.
    out: list[str] = []
    for char in chars:
        single = _t2s().convert(char)
        out.append(single[0] if single else char)
    return out


def _compact(original: str, chars: list[str], origins: list[int]) -> Normalized:
    """Drop separator runs unless they sit between two ASCII letters or digits."""
    out_chars: list[str] = []
    out_origins: list[int] = []
    n = len(chars)
    i = 0
    while i < n:
        char = chars[i]
        if not is_separator(char):
            out_chars.append(char)
            out_origins.append(origins[i])
            i += 1
            continue
        j = i
        while j < n and is_separator(chars[j]):
            j += 1
        left = out_chars[-1] if out_chars else ""
        right = chars[j] if j < n else ""
        if left and right and _is_ascii_alnum(left) and _is_ascii_alnum(right):
            # Keep one separator between English words and numbers ("20 m rows", "1.3").
            keep = chars[i] if chars[i] in ".,:-/_" and j == i + 1 else " "
            out_chars.append(keep)
            out_origins.append(origins[i])
        i = j
    return Normalized(original, "".join(out_chars), tuple(out_origins))


def normalize_term(term: str) -> str:
    """A keyword or alias normalised the same way as listing text."""
    return normalize(term).text
