"""Normalise listing text for matching, keeping a map back to the original characters.

Sellers obfuscate: full-width characters (ＱＱ：８８６６), traditional characters (身分證),
separators, zero-width characters and emoji inside words (身 份 证, 身-份-证, 身😀份证),
enclosed and styled numerals and letters (④件套, ⑷, ⒋, ❹, ⓿, Ⅳ, ⒮⒢⒦, 🅢, 𝐬𝐟𝐳), financial
numerals (肆件套, 玖, 壹佰万), accents and tone marks on Latin letters (shēnfènzhèng), Cyrillic
and Greek look-alikes inside a Latin word (ѕgk), doubled characters (身身份份证证),
separators between single letters (s.g.k, s-f-z, s_g_k) and an @ inside a word (身@份证,
s@g@k). `normalize` undoes those and records, for every normalised character, which original characters it came from, so a match in the normalised
text highlights the words as written. Look-alikes, homophones, pinyin and digits for numerals
(薇信, 扣扣, sfz, shenfenzheng, 4件套) are variants in the keyword lists (monitor.matching.keywords),
matched against this normalised text; a Latin word with repeated letters (sssgk) is looked up
by the matcher with its repeats removed.
"""

from __future__ import annotations

import os
import pickle
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from operator import itemgetter

# Characters that separate nothing in Chinese but are used to split words apart.
_EXTRA_SEPARATORS = frozenset("丨｜•·・‧∙")
# Kept even between Chinese characters: currency signs and handles carry meaning.
_NEVER_DROPPED = frozenset("@¥$€£")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_BEYOND_LATIN = re.compile("[\u2e80-\U0010ffff]")


def _extra_folds() -> dict[str, str]:
    """Numerals and letters that NFKC leaves alone or wraps in brackets: what they stand for."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    folds: dict[str, str] = {}
    for first, values in (
        (0x249C, letters),  # ⒜..⒵ (NFKC: "(a)")
        (0x1F150, letters),  # 🅐..🅩 negative circled
        (0x1F170, letters),  # 🅰..🆉 negative squared
        (0x1F1E6, letters),  # regional indicators 🇦..🇿
        (0x3220, "一二三四五六七八九十"),  # ㈠..㈩ (NFKC: "(一)")
    ):
        folds.update({chr(first + i): value for i, value in enumerate(values)})
    for first, start, count in (
        (0x2474, 1, 20),  # ⑴..⒇ (NFKC: "(1)")
        (0x2488, 1, 20),  # ⒈..⒛ (NFKC: "1.")
        (0x24EB, 11, 10),  # ⓫..⓴
        (0x24F5, 1, 10),  # ⓵..⓾
        (0x2776, 1, 10),  # ❶..❿
        (0x2780, 1, 10),  # ➀..➉
        (0x278A, 1, 10),  # ➊..➓
    ):
        folds.update({chr(first + i): str(start + i) for i in range(count)})
    folds["⓿"] = "0"
    # Roman numerals (NFKC: "iv"): Ⅳ件套 is 4件套.
    for first in (0x2160, 0x2170):  # Ⅰ..Ⅻ, ⅰ..ⅻ
        folds.update({chr(first + i): str(1 + i) for i in range(12)})
    # Latin letters with accents or tone marks (NFKC keeps them): pinyin written with its
    # tones (shēnfènzhèng) is the plain pinyin.
    for code in chain(range(0xC0, 0x250), range(0x1E00, 0x1F00)):
        base = unicodedata.normalize("NFD", chr(code))
        if (
            len(base) > 1
            and base[0] in _ASCII_ALNUM
            and all(unicodedata.combining(c) for c in base[1:])
        ):
            folds[chr(code)] = base[0].lower()
    # Financial numerals (大写数字) that mean nothing else; 伍 陆 拾 are words too (队伍,
    # 大陆, 收拾) and are read as numerals only next to another numeral (_numeral_context).
    folds.update(dict(zip("壹贰貳叁叄肆柒捌玖佰仟", "一二二三三四七八九百千", strict=True)))
    return folds


_EXTRA_FOLD = _extra_folds()
# The keys of _EXTRA_FOLD as ranges (a class of ranges is searched many times faster).
_EXTRA_CHARS = re.compile(
    "[\u00c0-\u024f\u1e00-\u1eff\u2160-\u216b\u2170-\u217b"
    "\u2474-\u24b5\u24eb-\u24ff\u2776-\u2793\u3220-\u3229壹贰貳叁叄肆柒捌玖佰仟"
    "\U0001f150-\U0001f169\U0001f170-\U0001f189\U0001f1e6-\U0001f1ff]"
)


def _astral_letters() -> dict[int, str]:
    """Letters and digits beyond the BMP, for quick_fold (which drops every other astral
    character): styled mathematical letters (𝐬𝐠𝐤, 𝓼𝓰𝓴), enclosed ones (🄢, 🅢, 🆂)."""
    table = {ord(c): v for c, v in _EXTRA_FOLD.items() if ord(c) > 0xFFFF}
    for code in chain(range(0x1D400, 0x1D800), range(0x1F100, 0x1F1E6)):
        if code in table:
            continue
        folded = "".join(
            c for c in unicodedata.normalize("NFKC", chr(code)).lower() if c in _ASCII_ALNUM
        )
        if folded:
            table[code] = folded
    return table


_ASTRAL_LETTERS = _astral_letters()
_NUMERAL_WORDS = re.compile(
    "(?<=[0-9零一二两三四五六七八九十百千万])[伍陆陸拾]|[伍陆陸拾](?=[0-9一二三四五六七八九十百千万亿件条元块])"
)
_NUMERAL_CHARS = re.compile("[伍陆陸拾]")
_NUMERAL_OF = {"伍": "五", "陆": "六", "陸": "六", "拾": "十"}
_CJK_CHAR = "\u3400-\u4dbf\u4e00-\u9fff"
# Characters the refinements below delete from the normalised text:
# - an @ between two Chinese characters (身@份证) or inside a short Latin word (s@gk, s@g@k; a
#   handle after @ has at least five letters, so tg@handle keeps its @), and the @s of a
#   Latin word holding several (shen@fen@zheng, _AT_CHAIN);
# - the separators between single Latin letters (s.g.k, s-f-z, s_g_k, v x);
# - the second of each doubled Chinese character in a run of two or more (身身份份证证).
_AT_INSIDE = (
    f"(?<=[{_CJK_CHAR}])@(?=[{_CJK_CHAR}])"
    "|(?<=[a-z])@(?=[a-z]{1,3}(?:@[a-z]{1,3}){0,8}(?![a-z0-9@.]))"
)
_SPACED_LETTERS = re.compile(r"(?<![a-z0-9])[a-z](?:[ .\-_/:,][a-z](?![a-z0-9])){1,30}")
_DOUBLED_RUN = re.compile(f"(?:([{_CJK_CHAR}])\\1{{1,2}}){{2,}}")
_SPACED_HINT = re.compile(r"[a-z][ .\-_/:,][a-z](?![a-z0-9])(?<![a-z0-9].{3})")
_AT_REGEX = re.compile(_AT_INSIDE)
# ... and every @ of a Latin word holding two or more (shen@fen@zheng): an address or a handle
# has one.
_AT_CHAIN = re.compile(r"(?<![a-z0-9@.])[a-z]{1,12}(?:@[a-z]{1,12}){2,8}(?![a-z0-9@.])")
_MASK_RUN = re.compile(r"\*{1,12}")


# Cyrillic and Greek letters drawn like Latin ones, read as Latin inside a Latin word
# (ѕgk, ful1z with a Cyrillic у): a word of those scripts alone is left as it is.
_CONFUSABLES = {
    "a": "аα", "b": "в", "c": "сϲ", "d": "ԁ", "e": "еε", "h": "һн", "i": "іι", "j": "ј",
    "k": "кκ", "l": "ӏ", "m": "м", "o": "оο", "p": "рρ", "q": "ԛ", "s": "ѕ", "t": "тτ",
    "u": "υ", "v": "ν", "w": "ԝ", "x": "хχ", "y": "у",
}  # fmt: skip
_CONFUSABLE_TABLE = {ord(c): latin for latin, cs in _CONFUSABLES.items() for c in cs}
_CONFUSABLE_SET = "".join(chr(code) for code in _CONFUSABLE_TABLE)
# The same letters as a class: one regex search finds one faster than a set checks each
# character of the text (normalize and the first pass ask it of every text).
_CONFUSABLE_ANY = re.compile(f"[{_CONFUSABLE_SET}]")
# Words of Latin or look-alike letters, one separator apart (Ѕ.G.K), read together.
_MIXED_WORD = re.compile(
    f"[a-z{_CONFUSABLE_SET}]{{1,40}}(?:[ .\\-_][a-z{_CONFUSABLE_SET}]{{1,40}}){{0,20}}"
)


def _latinised(text: str) -> str:
    """Confusable letters read as Latin in the words that also hold Latin letters, or stand
    one separator from one (before separators are dropped, so that a Cyrillic word after a
    Latin one stays apart: fullz с)."""
    if not _CONFUSABLE_ANY.search(text):
        return text

    def fix(match: re.Match[str]) -> str:
        word = match.group(0)
        return word.translate(_CONFUSABLE_TABLE) if re.search("[a-z]", word) else word

    return _MIXED_WORD.sub(fix, text)


@dataclass
class Normalized:
    """A normalised string and, per character, the index of its original character.

    `ends`, when set, holds per character the end of its original span where that is more
    than one character (a doubled 身身 normalised to 身). Never changed once made (hashable
    as a frozen dataclass is)."""

    original: str
    text: str
    origins: tuple[int, ...]
    ends: tuple[int, ...] | None = None

    # Written out so that mypyc compiles it: @dataclass's own __init__ is interpreted, and a
    # frozen one sets each field through object.__setattr__ (3,000 instructions a text).
    def __init__(
        self,
        original: str,
        text: str,
        origins: tuple[int, ...],
        ends: tuple[int, ...] | None = None,
    ) -> None:
        self.original = original
        self.text = text
        self.origins = origins
        self.ends = ends

    def __hash__(self) -> int:
        return hash((self.original, self.text, self.origins, self.ends))

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that produced text[start:end]."""
        if not self.text or start >= end:
            pos = self.origins[start] if start < len(self.origins) else len(self.original)
            return pos, pos
        last = self.ends[end - 1] if self.ends is not None else self.origins[end - 1] + 1
        return self.origins[start], last

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
    extra = _EXTRA_FOLD.get(char)
    if extra is not None:
        return extra
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
    if (
        len(lowered) == len(original)
        and unicodedata.is_normalized("NFKC", original)
        and not _EXTRA_CHARS.search(original)
    ):
        # Fast path: nothing to fold; invisible characters are dropped as separators below.
        return _refine(_compact(original, _latinised(_simplified(lowered)), None))
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
    return _refine(_compact(original, _latinised(_simplified("".join(chars))), origins))


def _refine(norm: Normalized) -> Normalized:
    """Numerals in context (伍件套), then the deletions of _AT_INSIDE's comment, if any."""
    text = norm.text
    if _NUMERAL_CHARS.search(text) and _NUMERAL_WORDS.search(text):
        text = _NUMERAL_WORDS.sub(lambda m: _NUMERAL_OF[m.group(0)], text)
        norm = Normalized(norm.original, text, norm.origins, norm.ends)
    drop: set[int] = set()
    extend: dict[int, int] = {}  # kept index -> the deleted index whose span it takes over
    if "@" in text:
        for match in _AT_REGEX.finditer(text):
            drop.add(match.start())
        for match in _AT_CHAIN.finditer(text) if text.count("@") > 1 else ():
            drop.update(i for i in range(match.start(), match.end()) if text[i] == "@")
    if _SPACED_HINT.search(text):
        for match in _SPACED_LETTERS.finditer(text):
            drop.update(range(match.start() + 1, match.end(), 2))
    for match in _DOUBLED_RUN.finditer(text) if _CJK_DOUBLE.search(text) else ():
        i = match.start()
        while i < match.end():
            j = i + 1
            while j < match.end() and text[j] == text[i]:
                drop.add(j)
                j += 1
            extend[i] = j - 1
            i = j
    if not drop:
        return norm
    origins = norm.origins
    ends = norm.ends or tuple(o + 1 for o in origins)
    kept = [i for i in range(len(text)) if i not in drop]
    new_ends = tuple(ends[extend.get(i, i)] for i in kept)
    return Normalized(
        norm.original,
        "".join(text[i] for i in kept),
        tuple(origins[i] for i in kept),
        new_ends if extend or norm.ends is not None else None,
    )


def _simplified(text: str) -> str:
    """Traditional to simplified, keeping the length (one character for one)."""
    if not _BEYOND_LATIN.search(text) or _traditional_characters().isdisjoint(text):
        return text  # nothing Chinese, or nothing traditional: skip OpenCC
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


def _compact(original: str, text: str, origins: list[int] | None) -> Normalized:
    """Drop separator runs unless they sit between two ASCII letters or digits. `origins`
    None: text[i] came from original[i] (text as long as the original)."""
    if _ASTRAL.search(text):
        identity = list(range(len(text))) if origins is None else origins
        return _compact_by_character(original, text, identity)
    # split with the runs captured: text between runs and runs alternate (no match objects).
    parts = _separator_split().split(text)
    if len(parts) == 1:
        return Normalized(original, text, tuple(range(len(text)) if origins is None else origins))
    pieces: list[str] = []
    # The kept characters' origins, typed so that mypyc slices and appends natively.
    kept_origins: list[int] = []
    pos = 0
    n = len(text)
    for i in range(0, len(parts) - 1, 2):
        kept = parts[i]
        a = pos + len(kept)
        b = a + len(parts[i + 1])
        if kept:
            pieces.append(kept)
            kept_origins.extend(range(pos, a) if origins is None else origins[pos:a])
        if b == a + 1 and text[a] == "/" and a > 0 and text[a - 1].isdigit():
            pieces.append("/")  # a price per unit: 0.8/条
            kept_origins.append(a if origins is None else origins[a])
        elif a > 0 and b < n and text[a - 1] in _ASCII_ALNUM and text[b] in _ASCII_ALNUM:
            if (
                text[a] == "*"
                and text[a - 1].isdigit()
                and text[b].isdigit()
                and _MASK_RUN.fullmatch(text, a, b)
            ):
                pieces.append(text[a:b])  # a masked number keeps its stars: 138****5621
                kept_origins.extend(range(a, b) if origins is None else origins[a:b])
            else:
                # Keep one separator between English words and numbers ("20 m rows", "1.3").
                pieces.append(text[a] if text[a] in ".,:-/_" and b == a + 1 else " ")
                kept_origins.append(a if origins is None else origins[a])
        pos = b
    pieces.append(parts[-1])
    kept_origins.extend(range(pos, n) if origins is None else origins[pos:])
    return Normalized(original, "".join(pieces), tuple(kept_origins))


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
        if j == i + 1 and char == "/" and left.isdigit():
            out_chars.append("/")
            out_origins.append(origins[i])
        elif left.isdigit() and right.isdigit() and _MASK_RUN.fullmatch(text, i, j):
            out_chars.extend(text[i:j])
            out_origins.extend(origins[i:j])
        elif left and right and _is_ascii_alnum(left) and _is_ascii_alnum(right):
            keep = text[i] if text[i] in ".,:-/_" and j == i + 1 else " "
            out_chars.append(keep)
            out_origins.append(origins[i])
        i = j
    return Normalized(original, "".join(out_chars), tuple(out_origins))


@lru_cache(maxsize=1)
def _separator_split() -> re.Pattern[str]:
    """_separator_runs captured, for re.split."""
    return re.compile("(" + _separator_runs().pattern + ")")


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
_QUICK_TABLE_VERSION = 4
# Latin letters repeated (sssgk: the matcher looks such words up without repeats) or a run of
# doubled Chinese characters (normalize collapses those).
_LATIN_DOUBLE = re.compile(r"([a-z])\1")
_CJK_DOUBLE = re.compile(f"([{_CJK_CHAR}])\\1")
_QUICK_REPEATS = re.compile(r"([^\W\d_])\1+")
# A run's first group, as the replacement of re.sub: the same as the template r"\1", which
# Python 3.11 expands in Python code (re._subx) at every match; itemgetter is C.
FIRST_GROUP = itemgetter(1)


def quick_text(original: str) -> str:
    """The normalised text without offsets and with every separator dropped, in C speed.

    For the matcher's first pass only: per character the same folding and simplification as
    `normalize` (traditional to simplified one character at a time), so every term that
    `normalize` lets match is found here too, once spaces are taken out of the term. Where
    `normalize` deletes an @ or doubled characters, the text is followed by a copy without
    them (a superset of what it finds).
    """
    quick = quick_fold(original)
    copies = quick_copies(quick)
    return quick + "\n" + copies if copies else quick


def quick_copies(quick: str) -> str:
    """What quick_text adds to a folded text: copies without the @ and the repeated letters
    that `normalize` or the matcher see through ('' when there are none)."""
    copies = []
    if _CONFUSABLE_ANY.search(quick):
        copies.append(quick.translate(_CONFUSABLE_TABLE))
    if "@" in quick and (_AT_REGEX.search(quick) or quick.count("@") > 1):
        unchained = _AT_CHAIN.sub(lambda m: m.group(0).replace("@", ""), quick)
        without_at = _AT_REGEX.sub("", unchained)
        if without_at != quick:
            copies.append(without_at)
    if _LATIN_DOUBLE.search(quick) or (_CJK_DOUBLE.search(quick) and _DOUBLED_RUN.search(quick)):
        copies.append(_QUICK_REPEATS.sub(FIRST_GROUP, quick))
    return "\n".join(copies)


@lru_cache(maxsize=1)
def _traditional_characters() -> frozenset[str]:
    """Chinese characters that simplify to another (from the quick table): a text with none
    of them needs no OpenCC."""
    return frozenset(
        chr(code)
        for code, value in _quick_table().items()
        if 0x3400 <= code <= 0x9FFF and value and len(value) == 1 and value >= "\u3400"
    )


def quick_fold(original: str) -> str:
    """quick_text without the copies: the form of a keyword surface in the first pass."""
    if _ASTRAL.search(original):
        original = _ASTRAL.sub("", original.translate(_ASTRAL_LETTERS))
    return original.translate(_quick_list())


@lru_cache(maxsize=1)
def _quick_list() -> list[int | str | None]:
    """_quick_table as a list indexed by code point, every character of the BMP in it (itself
    when it does not change): str.translate then never meets a missing key, whose KeyError
    it would raise and clear for every character a dict leaves alone (twice as slow)."""
    table = _quick_table()
    return [table.get(code, code) for code in range(0x10000)]


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
