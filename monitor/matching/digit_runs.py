"""Numbers as sellers write them: digits of any script, split by separators, found in a text
with the position of every digit, so each can be masked where it was written.

The rule (README, "Personal data"):
- A digit is any character that stands for one: ASCII, any Unicode decimal digit (full width
  `１`, Arabic-Indic, mathematical `𝟏`), a digit with a compatibility form (superscript `¹`,
  circled `①`) or a Chinese numeral (`〇一二…九`, `幺`, `壹贰叁…`).
- Digits written next to each other form a group. Groups separated only by separators form a
  run: spaces of any kind and any length, line breaks, invisible characters (zero-width
  characters, soft hyphen, combining marks, Hangul fillers) and tag or text-node boundaries in
  a page, without limit; punctuation and symbols (`.-/()+*·` and emoji), repeated at will, of at most 3
  different characters between two groups. A letter or an ideograph ends a run, so `tel13800138000` and `ID110105…` still read as numbers.
- A number is one group or several consecutive whole groups of a run whose digits, taken
  together, are a valid number of a kind (monitor.privacy.pii decides); a trailing `X` may end an ID.
  Numbers never start or end inside a group: `213800138000` (12 digits) holds no phone.

`markup_view` reads a string as markup (tags count as boundaries, `&#49;` as the digit it
encodes); views keep the original's length, so positions in a view are positions in the
original.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

# Chinese numerals sellers spell numbers with (两 and 十 are not digits of a written number).
CHINESE_DIGITS = {
    **dict.fromkeys("〇零", 0),
    **dict.fromkeys("一壹幺", 1),
    **dict.fromkeys("二贰貳", 2),
    **dict.fromkeys("三叁參", 3),
    **dict.fromkeys("四肆", 4),
    **dict.fromkeys("五伍", 5),
    **dict.fromkeys("六陆陸", 6),
    **dict.fromkeys("七柒", 7),
    **dict.fromkeys("八捌", 8),
    **dict.fromkeys("九玖", 9),
}
# Characters with a single-digit value that are not decimal digits (\d): superscripts,
# subscripts, circled and parenthesised digits... (tests/test_pii.py checks this list against
# the running Python's Unicode database).
OTHER_DIGIT_RANGES = (
    "\u00b2\u00b3\u00b9\u1369-\u1371\u19da\u2070\u2074-\u2079\u2080-\u2089\u2460-\u2468"
    "\u2474-\u247c\u2488-\u2490\u24ea\u24f5-\u24fd\u24ff\u2776-\u277e\u2780-\u2788"
    "\u278a-\u2792\U00010a40-\U00010a43\U00010e60-\U00010e68\U00011052-\U0001105a"
    "\U0001f100-\U0001f10a"
)
DIGIT_CLASS = "[\\d" + OTHER_DIGIT_RANGES + "".join(CHINESE_DIGITS) + "]"
CHECK_LETTERS = "XxＸｘ"
# Different punctuation and symbol characters allowed between two groups of one number.
MAX_SEPARATORS = 3
# Stands for nothing: pads a view where one original character sequence reads as fewer.
PAD = "\ue000"
BOUNDARY = "\x00"  # a tag or a text-node boundary: separates, like a space

# Letters that draw nothing (Hangul fillers): separators, as spaces are.
BLANK_LETTERS = "\u115f\u1160\u3164\uffa0"

DIGIT = re.compile(DIGIT_CLASS)
# Digits and the separators between them, and a check letter that may end an ID.
_SEPARATOR = r"[\W_" + BLANK_LETTERS + "]"
_RUN = re.compile(
    DIGIT_CLASS
    + r"(?:" + _SEPARATOR + "*+" + DIGIT_CLASS + r")*+"
    + r"(?:" + _SEPARATOR + "*+[" + CHECK_LETTERS + "])?"
)  # fmt: skip
_MARKUP = re.compile(
    r"<[^<>]*>|&(?:#[0-9]{1,8};?|#[xX][0-9a-fA-F]{1,7};?|[A-Za-z][A-Za-z0-9]{1,31};)"
)


@dataclass(frozen=True)
class Number:
    """A number found in a view: its kind, its digits as hashed, and where each one is."""

    kind: str
    digits: str  # ASCII digits (and X) of the number itself (no +86)
    positions: tuple[int, ...]  # view position of each digit, in order


# kind, digits to skip at the start (a country code), or None: not a number of any kind.
Classify = Callable[[str], tuple[str, int] | None]


def has_enough_digits(text: str, minimum: int) -> bool:
    """The cheap test before anything else: at least `minimum` digit characters."""
    if len(text) < minimum:
        return False
    if text.isascii():
        return sum(map(text.count, "0123456789")) >= minimum
    return len(DIGIT.findall(text)) >= minimum


@lru_cache(maxsize=4096)
def _value(char: str) -> int | None:
    value = unicodedata.digit(char, None)
    return value if value is not None else CHINESE_DIGITS.get(char)


@lru_cache(maxsize=4096)
def _counted(char: str) -> bool:
    """A separator that counts against MAX_SEPARATORS (punctuation, symbols), as opposed to
    spaces, boundaries and invisible characters, which separate freely."""
    if char.isspace() or char == BOUNDARY or char in BLANK_LETTERS:
        return False
    return unicodedata.category(char) not in ("Cf", "Cc", "Mn", "Me", "Mc")


def find_numbers(
    view: str, classify: Classify, *, shortest: int = 11, longest: int = 19
) -> list[Number]:
    """Every number in `view`: runs read left to right, at each group the longest candidate
    of whole groups that `classify` accepts (ID over card over phone at equal length)."""
    found: list[Number] = []
    for match in _RUN.finditer(view):
        if match.end() - match.start() < shortest:
            continue  # most runs: a price, a date, a count
        for digits, positions, starts, check in _runs(match.group(), match.start()):
            found += _numbers(digits, positions, starts, check, classify, longest)
    return found


def _runs(text: str, base: int) -> list[tuple[str, list[int], list[int], int | None]]:
    """The runs inside one regex match: (digits, their positions, group starts, position of
    a trailing check letter)."""
    runs: list[tuple[str, list[int], list[int], int | None]] = []
    digits: list[str] = []
    positions: list[int] = []
    starts: list[int] = []
    counted: set[str] = set()
    gap = True  # the next digit starts a group
    check = None
    for offset, char in enumerate(text):
        if "0" <= char <= "9":
            value: int | None = ord(char) - 48
        elif char in CHECK_LETTERS:  # only ever the last character of a match
            if len(counted) <= MAX_SEPARATORS:
                check = base + offset
            break
        elif char == PAD:
            continue
        else:
            value = _value(char)
        if value is None:
            gap = True
            if _counted(char):
                counted.add(char)
            continue
        if gap:
            if len(counted) > MAX_SEPARATORS and digits:
                runs.append(("".join(digits), positions, starts, None))
                digits, positions, starts = [], [], []
            starts.append(len(digits))
            gap = False
            counted.clear()
        digits.append(chr(48 + value))
        positions.append(base + offset)
    if digits:
        runs.append(("".join(digits), positions, starts, check))
    return runs


def _numbers(
    digits: str,
    positions: list[int],
    starts: list[int],
    check: int | None,
    classify: Classify,
    longest: int,
) -> list[Number]:
    ends = starts[1:] + [len(digits)]
    last = len(starts) - 1
    found = []
    i = 0
    while i <= last:
        best: tuple[int, str, int, bool] | None = None  # (j, kind, skip, with check)
        for j in range(i, last + 1):
            length = ends[j] - starts[i]
            if length > longest:
                break
            candidate = digits[starts[i] : ends[j]]
            if check is not None and j == last and length == 17:
                verdict = classify(candidate + "X")
                if verdict is not None:
                    best = (j, verdict[0], verdict[1], True)
                    continue
            if length >= 11:
                verdict = classify(candidate)
                if verdict is not None:
                    best = (j, verdict[0], verdict[1], False)
        if best is None:
            i += 1
            continue
        j, kind, skip, with_check = best
        a, b = starts[i] + skip, ends[j]
        number_digits = digits[a:b]
        where = tuple(positions[a:b])
        if with_check:
            assert check is not None
            number_digits += "X"
            where += (check,)
        found.append(Number(kind, number_digits, where))
        i = j + 1
    return found


def markup_view(text: str) -> tuple[str, dict[int, int]]:
    """`text` read as markup, with the same length: each tag becomes boundaries, each
    character reference its character followed by PADs. Also returns, for each reference,
    its start and end, so a masked reference is replaced whole."""
    if "<" not in text and "&" not in text:
        return text, {}
    pieces: list[str] = []
    references: dict[int, int] = {}
    pos = 0
    for match in _MARKUP.finditer(text):
        a, b = match.span()
        pieces.append(text[pos:a])
        token = match.group()
        if token[0] == "<":
            pieces.append(BOUNDARY * (b - a))
        else:
            decoded = html.unescape(token)[:1] or BOUNDARY
            pieces.append(decoded + PAD * (b - a - 1))
            references[a] = b
        pos = b
    pieces.append(text[pos:])
    return "".join(pieces), references


def replace_positions(text: str, hidden: Sequence[int], references: dict[int, int]) -> str:
    """`text` with the characters at `hidden` replaced by '*' (a whole character reference
    when one starts there)."""
    if not hidden:
        return text
    chars = list(text)
    for pos in hidden:
        chars[pos] = "*"
        end = references.get(pos)
        if end is not None:
            for rest in range(pos + 1, end):
                chars[rest] = ""
    return "".join(chars)
