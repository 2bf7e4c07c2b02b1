"""Personal numbers disguised the ways sellers write them, and a scanner that reads what heishi
wrote the way a person would, for tests that plant numbers on hostile pages and check that none
stays readable.

`planted_numbers` makes valid ID, mobile and card numbers written in full-width and other digit
scripts, Chinese numerals, with dots, dashes, spaces of every kind, zero-width characters and
labels glued on; `as_markup` and `in_attribute` put them in a page with tags and character
references between digits. `clear_numbers` and `leaks` read a text with tags dropped,
references decoded, digits of every script folded and separators removed; `store_texts` and
`exports` gather what a store holds and what `heishi export` prints.
"""

from __future__ import annotations

import html
import random
import re
import sqlite3
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

# -- the disguises --------------------------------------------------------------------------

_REGIONS = ("110105", "310104", "440305", "320102", "510107", "330106", "420111", "370202")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHINESE = ("零一二三四五六七八九", "〇幺二三四五六七八九", "零壹贰叁肆伍陆柒捌玖")
_SCRIPTS = {
    "ascii": lambda d: str(d),
    "full width": lambda d: chr(0xFF10 + d),
    "math bold": lambda d: chr(0x1D7CE + d),
    "double struck": lambda d: chr(0x1D7D8 + d),
    "circled": lambda d: "⓪①②③④⑤⑥⑦⑧⑨"[d],
    "superscript": lambda d: "⁰¹²³⁴⁵⁶⁷⁸⁹"[d],
    "arabic-indic": lambda d: chr(0x0660 + d),
}
# Between groups: spaces of every kind, invisible characters, punctuation and symbols (at
# most three different ones, as the masking rule says; any length).
_SEPARATORS = (
    " ",
    "   ",
    "-",
    " - ",
    ".",
    "·",
    "/",
    "—",
    "_",
    "~",
    "\t",
    "\u00a0",
    "\u3000",
    "\u2009",
    "\u200b",
    "\u200b\u200b",
    "\u00ad",
    "\u2060",
    "\ufeff",
    "\u200c\u200d",
    "\u3164",
    "\uffa0",
    "📞",
    "☎",
    " . ",
    "------",
)
_PREFIXES = {
    "phone": ("", "tel", "TEL:", "Tel.", "电话", "电话：", "手机", "手机号:", "mobile:", "☎",
              "+86 ", "+86-", "0086 ", "86", "(+86)", "联系方式 "),
    "id_number": ("", "ID", "ID:", "身份证", "身份证号：", "证件号", "sfz", "No."),
    "bank_card": ("", "卡号", "card:", "银行卡", "卡", "No."),
}  # fmt: skip
_SUFFIXES = ("", "，", "。", " ", "（微信同号）", "！", " 可查", "\n")
_EMPTY_TAGS = (
    "<b></b>",
    "<span></span>",
    "<i></i>",
    "<!---->",
    "<wbr>",
    "<font></font>",
    "<em></em>",
)
_ATTRIBUTES = ("title", "alt", "data-phone", "placeholder", "aria-label", "value")
NAMES = ("张*", "李*", "王*", "赵*", "陈*", "刘*")


@dataclass(frozen=True)
class Planted:
    kind: str
    number: str  # the digits a look-up types (an ID with its X)
    text: str  # as the listing's text reads it
    markup: str  # as the page's HTML writes it


def id_number(rng: random.Random) -> str:
    born = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 55))
    first = rng.choice(_REGIONS) + born.strftime("%Y%m%d") + f"{rng.randrange(1000):03d}"
    check = "10X98765432"[sum(int(d) * w for d, w in zip(first, _ID_WEIGHTS, strict=False)) % 11]
    return first + check


def card_number(rng: random.Random) -> str:
    length = rng.choice((16, 16, 17, 18, 19, 19))
    partial = rng.choice(("62", "4", "5"))
    while len(partial) < length - 1:
        partial += str(rng.randrange(10))
    total = 0
    for i, char in enumerate(reversed(partial)):
        d = int(char) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return partial + str((10 - total % 10) % 10)


def phone_number(rng: random.Random) -> str:
    return "1" + rng.choice("3456789") + "".join(str(rng.randrange(10)) for _ in range(9))


def _chunks(digits: list[str], kind: str, rng: random.Random) -> list[str]:
    style = rng.random()
    if style < 0.3:
        return ["".join(digits)]
    if style < 0.6:
        sizes = {"phone": (3, 4, 4), "id_number": (6, 8, 4)}.get(kind, (4,) * 5)
    elif style < 0.75:
        sizes = (1,) * len(digits)
    else:
        cuts = sorted(rng.sample(range(1, len(digits)), rng.randrange(1, 4)))
        sizes = tuple(b - a for a, b in zip([0, *cuts], [*cuts, len(digits)], strict=False))
    out, pos = [], 0
    for size in sizes:
        if pos < len(digits):
            out.append("".join(digits[pos : pos + size]))
            pos += size
    if pos < len(digits):
        out[-1] += "".join(digits[pos:])
    return out


def written(kind: str, number: str, rng: random.Random) -> tuple[str, list[str], str, str]:
    """(prefix, the number's chunks with their separators, suffix, separator style)."""
    script = rng.choice([*_SCRIPTS, "chinese", "mixed", "ascii", "ascii"])
    chinese = rng.choice(_CHINESE)

    def glyph(char: str) -> str:
        if char == "X":
            return rng.choice("XxＸｘ")
        d = int(char)
        chosen = rng.choice([*_SCRIPTS, "chinese"]) if script == "mixed" else script
        return chinese[d] if chosen == "chinese" else _SCRIPTS[chosen](d)

    digits = [glyph(c) for c in number]
    chunks = _chunks(digits, kind, rng)
    one = rng.choice(_SEPARATORS)
    pieces: list[str] = []
    for i, chunk in enumerate(chunks):
        if i:
            pieces.append(one if rng.random() < 0.7 else rng.choice(_SEPARATORS))
        pieces.append(chunk)
    return rng.choice(_PREFIXES[kind]), pieces, rng.choice(_SUFFIXES), script


def as_markup(pieces: list[str], rng: random.Random) -> str:
    """The number's pieces as a hostile page writes them: tags between digits, character
    references, chunks in their own elements, spaces as runs or &nbsp;."""
    out = []
    for piece in pieces:
        if piece.strip(" \t\u00a0") == "" and piece:
            out.append(rng.choice(("&nbsp;", "  &nbsp; ", piece, "&#32;")))
            continue
        chars = []
        for char in piece:
            roll = rng.random()
            if roll < 0.15:
                chars.append(f"&#{ord(char)};")
            elif roll < 0.25:
                chars.append(f"&#x{ord(char):x};")
            else:
                chars.append(html.escape(char))
            if rng.random() < 0.2:
                chars.append(rng.choice(_EMPTY_TAGS))
        text = "".join(chars)
        out.append(f"<span>{text}</span>" if rng.random() < 0.3 else text)
    return "".join(out)


def plant(kind: str, number: str, rng: random.Random) -> Planted:
    prefix, pieces, suffix, _ = written(kind, number, rng)
    text = prefix + "".join(pieces) + suffix
    markup = html.escape(prefix) + as_markup(pieces, rng) + html.escape(suffix)
    return Planted(kind, number, text, markup)


def planted_numbers(count: int, seed: int) -> list[Planted]:
    rng = random.Random(seed)
    made: dict[str, Planted] = {}
    makers = (("phone", phone_number), ("id_number", id_number), ("bank_card", card_number))
    while len(made) < count:
        kind, make = makers[len(made) % 3]
        number = make(rng)
        if number not in made:
            made[number] = plant(kind, number, rng)
    return list(made.values())


def in_attribute(planted: Planted, rng: random.Random) -> str:
    """An element that carries the number in an attribute only."""
    name = rng.choice(_ATTRIBUTES)
    value = "".join(
        f"&#{ord(c)};" if c.isdigit() and rng.random() < 0.2 else html.escape(c, quote=True)
        for c in planted.text.strip()
    )
    if name == "value":
        return f'<input type="text" value="{value}">'
    if name == "alt":
        return f'<img alt="{value}" src="/nothing.png">'
    return f'<span {name}="{value}">联系方式</span>'


# -- reading what heishi wrote, as a person would --------------------------------------------

_BLANK = "\u115f\u1160\u3164\uffa0"  # letters that draw nothing: read as spaces
_CHINESE_VALUES = {c: i for digits in _CHINESE for i, c in enumerate(digits)}
_TAG = re.compile(r"<[^<>]*>")
_ATTRIBUTE_VALUE = re.compile(r"""=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+))""")
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_DIGIT_RUN = re.compile(r"[0-9X]{11,}")


def readable(text: str) -> str:
    """`text` as a reader sees it, every digit folded to ASCII and separators dropped (letters
    kept: they end a number)."""
    text = _JSON_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    for _ in range(3):
        text = html.unescape(_TAG.sub(_tag_values, text))
    out = []
    for char in unicodedata.normalize("NFKC", text):
        value = unicodedata.digit(char, None)
        if value is None:
            value = _CHINESE_VALUES.get(char)
        if value is not None:
            out.append(str(value))
        elif char.isalnum() and char not in _BLANK:
            out.append(char.upper())
    return "".join(out)


def _tag_values(tag: re.Match[str]) -> str:
    """A tag reads as nothing (it splits no number), its attribute values each as a word of
    their own (ƎvalueƎ: a letter on each side, so no value joins the text around it)."""
    values = ["".join(v) for v in _ATTRIBUTE_VALUE.findall(tag.group())]
    return "".join(f"Ǝ{value}Ǝ" for value in values)


def clear_numbers(text: str, numbers: set[str]) -> set[str]:
    """Which of `numbers` can be read in `text`."""
    found = set()
    for run in _DIGIT_RUN.findall(readable(text)):
        for length in (11, 16, 17, 18, 19):
            for start in range(len(run) - length + 1):
                if run[start : start + length] in numbers:
                    found.add(run[start : start + length])
    return found


def leaks(artefacts: dict[str, str], numbers: set[str]) -> dict[str, list[str]]:
    found = {name: sorted(clear_numbers(text, numbers)) for name, text in artefacts.items()}
    return {name: numbers[:5] for name, numbers in found.items() if numbers}


# -- what heishi wrote ----------------------------------------------------------------------


def store_texts(db: Path) -> dict[str, str]:
    """Every value of every table (search index included) and every search term."""
    texts: dict[str, str] = {}
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            values = []
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, bytes):
                        value = value.decode("utf-8", "ignore")
                    values.append(str(value))
            texts[f"table {table}"] = "\n".join(values)
        conn.execute("CREATE VIRTUAL TABLE temp.terms USING fts5vocab(main, listing_search, row)")
        texts["search terms"] = "\n".join(r[0] for r in conn.execute("SELECT term FROM terms"))
    finally:
        conn.close()
    return texts


def exports(db: Path) -> dict[str, str]:
    """`heishi export` of alerts and of every listing in each format, written to files in
    `<store folder>/exports/` (the CLI's own code, called in this process: a subprocess per
    export costs a second and a half each)."""
    from monitor.cli import main

    folder = db.parent / "exports"
    folder.mkdir(exist_ok=True)
    out = {}
    for what in (["--what", "alerts"], ["--what", "listings", "--all-listings"]):
        for form in ("csv", "jsonl", "stix", "misp"):
            path = folder / f"{what[1]}.{form}"
            code = main(["export", "--db", str(db), "--format", form, *what, "-o", str(path)])
            assert code == 0, f"heishi export {form} {what[1]} exited {code}"
            out[f"export {form} {what[1]}"] = path.read_text(encoding="utf-8-sig")
    return out
