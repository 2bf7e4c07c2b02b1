"""Did a number appear in any listing? Answered from the keyed hashes in `pii_hashes`.

The number typed is normalised and checked the way masking treats numbers in listings
(monitor/privacy/pii.py): only a number the masker would have hashed can be in the store. The clear
number is used only to compute its digest; what is reported shows it masked.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

from monitor.errors import HeishiError
from monitor.privacy.pii import canonical_digits, find_pii, key_fingerprint, mask_keep

KIND_NAMES = {"phone": "mobile number", "id_number": "ID number", "bank_card": "bank card number"}
# What a person may type around the digits: spaces, dashes, dots, brackets, +86.
_ALLOWED = re.compile(r"[0-9Xx +\-().]+")


class LookupInputError(HeishiError):
    """The number given to `heishi lookup` is not a valid number of its kind."""


class LookupKeyError(HeishiError):
    """The key given to `heishi lookup` did not hash this store's numbers."""


@dataclass
class Sighting:
    listing_id: int
    source: str
    site_id: str
    title: str | None
    url: str | None
    status: str
    versions: int
    first_seen: str | None
    last_seen: str | None
    in_current_version: bool
    masked_as_written: list[str]


@dataclass
class LookupResult:
    kind: str
    masked: str
    found: bool
    listings: int = 0
    versions: int = 0
    sources: list[str] = field(default_factory=list)
    first_seen: str | None = None
    last_seen: str | None = None
    sightings: list[Sighting] = field(default_factory=list)
    # Keys other than this one that hashed numbers here (None: hashed before keys were
    # recorded): numbers they hashed cannot be found with this key.
    other_keys: int = 0
    key_checked: bool = True  # False: the store cannot tell which key hashed its numbers

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def checked_number(kind: str, number: str, secret: bytes) -> tuple[str, str]:
    """(masked form, digest) of a number typed by a user, or LookupInputError when it is not
    one that masking would have found as `kind`."""
    name = KIND_NAMES[kind]
    folded = unicodedata.normalize("NFKC", number).strip()
    if not folded or not _ALLOWED.fullmatch(folded):
        raise LookupInputError(
            f"not a {name}: only digits, spaces, dashes and +86 may be given",
            hint="e.g. heishi lookup --phone 13800138000",
        )
    digits = canonical_digits(kind, folded)
    hits = find_pii(digits, secret, mask_keep())
    whole = [h for h in hits if h.start == 0 and h.end == len(digits)]
    if not whole:
        raise LookupInputError(f"not a valid {name}: {_why_invalid(kind, digits)}")
    hit = whole[0]
    if hit.kind != kind:
        flag = {"phone": "--phone", "id_number": "--id", "bank_card": "--card"}[hit.kind]
        raise LookupInputError(
            f"this reads as a {KIND_NAMES[hit.kind]}, not a {name}",
            hint=f"heishi stores it as a {KIND_NAMES[hit.kind]}: look it up with {flag}",
        )
    return hit.masked, hit.digest


def _why_invalid(kind: str, digits: str) -> str:
    if kind == "phone":
        return "a mainland mobile number has 11 digits starting 13-19 (with or without +86)"
    if kind == "id_number":
        if len(digits) != 18:
            return f"an ID number has 18 characters, this has {len(digits)}"
        return "its check digit or date is wrong"
    if not 16 <= len(digits) <= 19:
        return f"a bank card number has 16 to 19 digits, this has {len(digits)}"
    return "its Luhn check fails"


def lookup(
    store: Any, kind: str, number: str, secret: bytes, key_source: str = "the key given"
) -> LookupResult:
    """Where a number appeared, found by its keyed hash; works on a read-only store.
    Refused (LookupKeyError) when the store knows the keys that hashed its numbers and
    `secret` is none of them: it would find nothing and look like an answer."""
    masked, digest = checked_number(kind, number, secret)
    keys = checked_key(store, secret, key_source)
    return found_number(store, kind, masked, digest, keys, key_fingerprint(secret))


def checked_key(store: Any, secret: bytes, key_source: str) -> list[str | None]:
    """The fingerprints of the keys that hashed this store's numbers; LookupKeyError when
    the store knows them and `secret` is none of them."""
    # None (a store older than the table): nothing to check.
    keys = store.pii_keys.fingerprints() or []
    mine = key_fingerprint(secret)
    known = [k for k in keys if k is not None]
    if known and mine not in known and None not in keys:
        raise LookupKeyError(
            f"{key_source} is not the key this store's numbers were hashed with "
            f"(its fingerprint is {mine}; the store's: {', '.join(known)})",
            hint="set HEISHI_SECRET_FILE to the key file the crawls that wrote it use",
        )
    return keys


def found_number(
    store: Any, kind: str, masked: str, digest: str, keys: list[str | None], mine: str
) -> LookupResult:
    """The listings that quoted the number with this digest, as a LookupResult."""
    rows = store.analyst.pii_sightings(kind, digest)
    sightings = [
        Sighting(
            listing_id=r["listing_id"],
            source=r["source"],
            site_id=r["site_id"],
            title=r["title"],
            url=r["url"],
            status=r["status"],
            versions=r["versions"],
            first_seen=r["first_seen"],
            last_seen=r["last_seen"],
            in_current_version=bool(r["in_current_version"]),
            masked_as_written=sorted(set((r["masked_as_written"] or "").split(",")) - {""}),
        )
        for r in rows
    ]
    return LookupResult(
        kind=kind,
        masked=masked,
        found=bool(sightings),
        listings=len(sightings),
        versions=sum(s.versions for s in sightings),
        sources=sorted({s.source for s in sightings}),
        first_seen=min((s.first_seen for s in sightings if s.first_seen), default=None),
        last_seen=max((s.last_seen for s in sightings if s.last_seen), default=None),
        sightings=sightings,
        other_keys=len([k for k in keys if k != mine]),
        key_checked=mine in keys,
    )
