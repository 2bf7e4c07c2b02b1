"""Mask personal numbers quoted in listings, keeping keyed hashes for later look-ups.

ID numbers (18 digits, checksum verified), mainland mobile numbers and bank cards (Luhn
verified) are replaced by a masked form of the same length, so offsets into the text stay
valid; each gets an HMAC-SHA256 digest of its digits with the install secret. Digits that fail
their checksum, QQ numbers and prices are left alone.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass, replace

KINDS = ("id_number", "phone", "bank_card")

_ID = re.compile(
    r"(?<![0-9A-Za-z])([1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])\d{2}\d{3}[\dXx])(?![0-9A-Za-z])"
)
_PHONE = re.compile(r"(?<![0-9A-Za-z])(?:\+?86[- ]?)?(1[3-9]\d[- ]?\d{4}[- ]?\d{4})(?!\d)")
_CARD = re.compile(r"(?<![0-9A-Za-z])([3-6]\d{3}(?:[ -]?\d{4}){2,3}(?:[ -]?\d{1,3})?)(?!\d)")
_QQ_LABEL = re.compile(r"(?:qq|扣扣|企鹅|q号)[:：\s]*$", re.I)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


@dataclass(frozen=True)
class PiiHit:
    kind: str  # id_number | phone | bank_card
    masked: str
    digest: str  # hex HMAC-SHA256 of the digits with the install secret
    start: int
    end: int
    key: str = ""  # key_fingerprint of the secret that made the digest


def key_fingerprint(secret: bytes) -> str:
    """Names a secret without revealing it (an HMAC of a fixed text): the store keeps the
    fingerprints of the keys that hashed its numbers, so a look-up with another key fails
    loudly instead of finding nothing."""
    return hmac.new(
        secret, b"heishi: the key that hashed personal data", hashlib.sha256
    ).hexdigest()[:16]


def id_checksum_ok(number: str) -> bool:
    """The ISO 7064 check digit of an 18-character mainland ID number is right."""
    number = number.upper()
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17]


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


def canonical_digits(kind: str, number: str) -> str:
    """The digits that are hashed: full width folded, separators and +86 dropped, X upper."""
    folded = unicodedata.normalize("NFKC", number).upper()
    digits = re.sub(r"[^0-9X]", "", folded)
    if kind == "phone" and len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    if kind != "id_number":
        digits = digits.replace("X", "")
    return digits


def digest_of(kind: str, number: str, secret: bytes) -> str:
    """The digest a number typed by a user would have in the store (for look-ups)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    digits = canonical_digits(kind, number)
    return hmac.new(secret, digits.encode("ascii"), hashlib.sha256).hexdigest()


def _mask(text: str, keep_head: int, keep_tail: int) -> str:
    """Replace digits between the first keep_head and last keep_tail digits with '*'."""
    positions = [i for i, c in enumerate(text) if c.isdigit() or c in "xX"]
    hidden = set(positions[keep_head : len(positions) - keep_tail])
    return "".join("*" if i in hidden else c for i, c in enumerate(text))


def find_pii(text: str, secret: bytes) -> list[PiiHit]:
    """Checksum-valid ID numbers, mobile numbers and bank cards in `text`."""
    hits: list[PiiHit] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in taken)

    for match in _ID.finditer(text):
        number = match.group(1)
        if id_checksum_ok(number):
            a, b = match.span(1)
            taken.append((a, b))
            hits.append(
                PiiHit(
                    "id_number", _mask(number, 6, 4), digest_of("id_number", number, secret), a, b
                )
            )
    for match in _CARD.finditer(text):
        a, b = match.span(1)
        raw = match.group(1)
        digits = re.sub(r"\D", "", raw)
        if not 16 <= len(digits) <= 19 or not luhn_ok(digits) or not free(a, b):
            continue
        taken.append((a, b))
        hits.append(
            PiiHit("bank_card", _mask(raw, 6, 4), digest_of("bank_card", raw, secret), a, b)
        )
    for match in _PHONE.finditer(text):
        a, b = match.span(1)
        if not free(a, b) or _QQ_LABEL.search(text[max(0, a - 8) : a]):
            continue
        raw = match.group(1)
        taken.append((a, b))
        hits.append(PiiHit("phone", _mask(raw, 3, 4), digest_of("phone", raw, secret), a, b))
    if hits:
        key = key_fingerprint(secret)
        hits = [replace(hit, key=key) for hit in hits]
    return sorted(hits, key=lambda h: h.start)


def mask_pii(text: str, secret: bytes) -> tuple[str, list[PiiHit]]:
    """`text` with personal numbers masked (same length) and the hits found."""
    if not text:
        return text, []
    hits = find_pii(text, secret)
    if not hits:
        return text, []
    parts: list[str] = []
    pos = 0
    for hit in hits:
        parts.append(text[pos : hit.start])
        parts.append(hit.masked)
        pos = hit.end
    parts.append(text[pos:])
    return "".join(parts), hits
