"""Mask personal numbers quoted in listings, keeping keyed hashes for later look-ups.

ID numbers (18 characters: GB 11643 check digit and a birth date that exists and has passed),
mainland mobile numbers (11 digits starting 13-19, with or without +86/0086) and bank cards
(16-19 digits starting 3-6, Luhn verified) are found however a seller writes them
(monitor/matching/digit_runs.py: any digit script, separators, prefixes such as `tel`), and every digit
but the first and last few (`HEISHI_PII_MASK_KEEP`, default 2 and 2) is replaced by `*` where
it was written, so the text keeps its length and offsets stay valid. Each number gets an
HMAC-SHA256 digest of its digits with the install secret. Digits that fail their checks,
phone-like numbers labelled as QQ numbers, prices, dates and volumes are left alone.

`mask_segments` masks several strings read as one (the text nodes of a page: a number split
by tags is still a number); `markup=True` also reads tags and character references inside
each string (`139<b></b>12345678`, `&#49;37…`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from monitor import settings
from monitor.errors import HeishiError
from monitor.matching.digit_runs import (
    BOUNDARY,
    PAD,
    Number,
    find_numbers,
    has_enough_digits,
    markup_view,
    replace_positions,
)

KINDS = ("id_number", "phone", "bank_card")
KEEP_SETTING = "HEISHI_PII_MASK_KEEP"
DEFAULT_KEEP = (2, 2)  # digits kept at the start and at the end of a masked number
MAX_KEEP = (6, 4)  # the most a team may keep: the region of an ID, the last four digits
SHORTEST = 11  # a mobile number: fewer digits in a text and there is nothing to mask

_QQ_LABEL = re.compile(r"(?:qq|扣扣|企鹅|q号)[\W_]*$", re.I)
_PHONE = re.compile(r"1[3-9]\d{9}")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


class MaskSettingError(HeishiError):
    """HEISHI_PII_MASK_KEEP is not two small numbers."""


@dataclass(frozen=True)
class PiiHit:
    kind: str  # id_number | phone | bank_card
    masked: str  # the number as written, hidden digits replaced by '*'
    digest: str  # hex HMAC-SHA256 of the digits with the install secret
    start: int  # span of the number as written (in mask_segments: in the joined text)
    end: int
    key: str = ""  # key_fingerprint of the secret that made the digest


@lru_cache(maxsize=8)
def key_fingerprint(secret: bytes) -> str:
    """Names a secret without revealing it (an HMAC of a fixed text): the store keeps the
    fingerprints of the keys that hashed its numbers, so a look-up with another key fails
    loudly instead of finding nothing."""
    return hmac.new(
        secret, b"heishi: the key that hashed personal data", hashlib.sha256
    ).hexdigest()[:16]


def mask_keep(given: settings.Settings | None = None) -> tuple[int, int]:
    """Digits a masked number keeps at its start and end: $HEISHI_PII_MASK_KEEP (`2,2`, or
    one number for both), at most 6 and 4."""
    raw = (given or settings.current()).pii_mask_keep
    if not raw:
        return DEFAULT_KEEP
    parts = [p.strip() for p in raw.split(",")]
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise MaskSettingError(
            f"{KEEP_SETTING}={raw!r}: expected LEADING,TRAILING digits to keep, e.g. 2,2"
        )
    lead, tail = int(parts[0]), int(parts[1])
    if lead > MAX_KEEP[0] or tail > MAX_KEEP[1]:
        raise MaskSettingError(
            f"{KEEP_SETTING}={raw!r}: at most {MAX_KEEP[0]} leading and {MAX_KEEP[1]} "
            "trailing digits may be kept"
        )
    return lead, tail


def id_checksum_ok(number: str) -> bool:
    """The ISO 7064 check digit of an 18-character mainland ID number is right."""
    number = number.upper()
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17]


def id_birth_date_ok(number: str, today: date | None = None) -> bool:
    """The birth date inside an ID number exists, is after 1900 and has passed."""
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return date(1900, 1, 1) <= born <= (today or date.today())


def luhn_ok(digits: str) -> bool:
    """The Luhn check of a card number passes."""
    if not digits.isdigit():
        return False
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def number_kind(digits: str) -> tuple[str, int] | None:
    """(kind, leading digits that are a country code) when `digits` is a valid number."""
    length = len(digits)
    if length == 18 and digits[0] != "0" and id_checksum_ok(digits) and id_birth_date_ok(digits):
        return "id_number", 0
    if 16 <= length <= 19 and "3" <= digits[0] <= "6" and luhn_ok(digits):
        return "bank_card", 0
    if length == 11 and _PHONE.fullmatch(digits):
        return "phone", 0
    if length == 13 and digits.startswith("86") and _PHONE.fullmatch(digits, 2):
        return "phone", 2
    if length == 15 and digits.startswith("0086") and _PHONE.fullmatch(digits, 4):
        return "phone", 4
    return None


def canonical_digits(kind: str, number: str) -> str:
    """The digits that are hashed: full width folded, separators and +86 dropped, X upper."""
    folded = unicodedata.normalize("NFKC", number).upper()
    digits = re.sub(r"[^0-9X]", "", folded)
    if kind == "phone" and len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    elif kind == "phone" and len(digits) == 15 and digits.startswith("0086"):
        digits = digits[4:]
    if kind != "id_number":
        digits = digits.replace("X", "")
    return digits


def digest_of(kind: str, number: str, secret: bytes) -> str:
    """The digest a number typed by a user would have in the store (for look-ups)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    return _digest(canonical_digits(kind, number), secret)


def _digest(digits: str, secret: bytes) -> str:
    return hmac.new(secret, digits.encode("ascii"), hashlib.sha256).hexdigest()


def _numbers(view: str) -> list[Number]:
    """Valid numbers in a view, without phone-like numbers labelled as QQ numbers."""
    numbers = []
    for number in find_numbers(view, number_kind):
        if number.kind == "phone":
            before = view[max(0, number.positions[0] - 12) : number.positions[0]]
            if _QQ_LABEL.search(unicodedata.normalize("NFKC", before)):
                continue
        numbers.append(number)
    return numbers


def _hidden(number: Number, keep: tuple[int, int]) -> Sequence[int]:
    lead, tail = keep
    return number.positions[lead : len(number.positions) - tail]


def _hits(numbers: list[Number], masked: str, secret: bytes, keep: tuple[int, int]) -> list[PiiHit]:
    key = key_fingerprint(secret) if numbers else ""
    hits = []
    for number in numbers:
        start, end = number.positions[0], number.positions[-1] + 1
        hits.append(
            PiiHit(
                number.kind,
                _readable(masked[start:end]),
                _digest(number.digits, secret),
                start,
                end,
                key,
            )
        )
    return hits


def _readable(masked: str) -> str:
    """A masked number as shown: no padding or boundaries from a markup view."""
    return masked.replace(PAD, "").replace(BOUNDARY, " ")


def find_pii(text: str, secret: bytes, keep: tuple[int, int] | None = None) -> list[PiiHit]:
    """Valid ID numbers, mobile numbers and bank cards in `text`, in order."""
    return mask_pii(text, secret, keep)[1]


def mask_pii(
    text: str, secret: bytes, keep: tuple[int, int] | None = None
) -> tuple[str, list[PiiHit]]:
    """`text` with personal numbers masked (same length) and the hits found."""
    if not text or not has_enough_digits(text, SHORTEST):
        return text, []
    numbers = _numbers(text)
    if not numbers:
        return text, []
    keep = keep or DEFAULT_KEEP
    masked = replace_positions(text, [p for n in numbers for p in _hidden(n, keep)], {})
    return masked, _hits(numbers, masked, secret, keep)


def mask_markup(
    text: str, secret: bytes, keep: tuple[int, int] | None = None
) -> tuple[str, list[PiiHit]]:
    """`mask_pii` for a string that may hold markup: tags separate, references are read as
    the characters they encode, and a masked reference is replaced whole."""
    masked, hits = mask_segments([text], secret, keep, markup=True)
    return masked[0], hits


def mask_segments(
    segments: Sequence[str],
    secret: bytes,
    keep: tuple[int, int] | None = None,
    *,
    markup: bool = False,
) -> tuple[list[str], list[PiiHit]]:
    """Strings read in order as one text (each boundary separates, like a tag), each masked
    in place: a number split across them is found and masked in every one it touches."""
    originals = list(segments)
    if not has_enough_digits("".join(originals), SHORTEST):
        return originals, []
    views: list[str] = []
    references: list[dict[int, int]] = []
    for original in originals:
        view, refs = markup_view(original) if markup else (original, {})
        views.append(view)
        references.append(refs)
    joined = BOUNDARY.join(views)
    numbers = _numbers(joined)
    if not numbers:
        return originals, []
    keep = keep or DEFAULT_KEEP
    starts = []
    offset = 0
    for view in views:
        starts.append(offset)
        offset += len(view) + 1
    hidden: list[list[int]] = [[] for _ in originals]
    segment = 0
    for pos in sorted(p for n in numbers for p in _hidden(n, keep)):
        while segment + 1 < len(starts) and starts[segment + 1] <= pos:
            segment += 1
        hidden[segment].append(pos - starts[segment])
    masked = [
        replace_positions(original, positions, refs)
        for original, positions, refs in zip(originals, hidden, references, strict=True)
    ]
    masked_view = replace_positions(joined, [p for n in numbers for p in _hidden(n, keep)], {})
    return masked, _hits(numbers, masked_view, secret, keep)


# The fields of a listing a person writes; `extra` is masked at any depth.
LISTING_FIELDS = ("text", "title", "seller", "price_text")


def mask_listing(listing: Any, secret: bytes, keep: tuple[int, int] | None = None) -> list[PiiHit]:
    """Mask personal numbers in a listing in place (its text fields and every string in
    `extra`, however deep); the hits found, in order."""
    hits: list[PiiHit] = []
    for field in LISTING_FIELDS:
        value = listing.get(field)
        if value and isinstance(value, str):
            listing[field], found = mask_pii(value, secret, keep)
            hits += found
    extra = listing.get("extra")
    if isinstance(extra, dict):
        listing["extra"] = _masked_value(extra, secret, keep, hits)
    return hits


def _masked_value(
    value: Any, secret: bytes, keep: tuple[int, int] | None, hits: list[PiiHit]
) -> Any:
    if isinstance(value, str):
        text, found = mask_pii(value, secret, keep)
        hits += found
        return text
    if isinstance(value, dict):
        return {name: _masked_value(inner, secret, keep, hits) for name, inner in value.items()}
    if isinstance(value, list | tuple):
        return [_masked_value(inner, secret, keep, hits) for inner in value]
    return value
