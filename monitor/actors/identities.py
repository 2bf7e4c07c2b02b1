r"""What a listing version names: its seller, and the contacts and payment addresses that
identify whoever is behind it.

Contacts come from two places and both count: the text (what the matcher extracted from the
title and text, `state["contacts"]`, plus e-mail addresses, payment addresses and mobile
numbers given as a way to reach the seller) and the profile fields (the seller's name, a
channel message's signature, a profile block a site file reads into `extra.profile`, the
Telegram channel a message was posted in).

Personal numbers never appear in clear: text is masked before it gets here, and a mobile
number given as a contact is kept as the masked form it was written in plus its keyed hash
(the `pii` hits of the version, monitor/privacy/pii.py), never its digits.

Every pattern here runs in time linear in the text: each starts only where a word starts and
its repetitions are bounded; a field yields at most MAX_CONTACTS contacts.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# Contact kinds: what the extractor finds (monitor/matching/contacts.py; a web link is no one's
# identity), a mobile number (hashed), payment addresses.
TEXT_KINDS = (
    "telegram",
    "qq",
    "wechat",
    "line",
    "whatsapp",
    "signal",
    "email",
    "other",
    "phone",
)
PAYMENT_KINDS = ("trc20", "btc", "eth")
KINDS = TEXT_KINDS + PAYMENT_KINDS
HASHED_KINDS = frozenset({"phone"})  # personal numbers: a keyed hash, shown masked
MAX_CONTACTS = 50
MAX_HANDLE = 200

# Names a site shows for nobody in particular: every guest post is not one seller.
ANONYMOUS = frozenset(
    {
        "",
        "-",
        "guest",
        "anonymous",
        "anon",
        "unknown",
        "deleted",
        "[deleted]",
        "none",
        "null",
        "匿名",
        "匿名用户",
        "游客",
        "访客",
        "未知",
        "佚名",
        "已注销",
    }
)

_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58_INDEX = {char: index for index, char in enumerate(_BASE58)}
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_PAYMENT = re.compile(
    r"(?<![0-9A-Za-z])(?:(T[1-9A-HJ-NP-Za-km-z]{33})|([13][1-9A-HJ-NP-Za-km-z]{25,33})"
    r"|([bB][cC]1[02-9ac-hj-np-zAC-HJ-NP-Z]{11,71})|(0x[0-9a-fA-F]{40}))(?![0-9A-Za-z])"
)
_EMAIL = re.compile(
    r"(?<![\w.+%-])([A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})"
    r"(?:\.[A-Za-z0-9-]{1,63}){0,4}\.[A-Za-z]{2,24})(?![\w-])"
)
# A mobile number is a contact when a contact word comes right before it ("联系 13*…"): a
# number quoted as a sample ("样本 13*…") is someone's data, not the seller's.
_PHONE_LABEL = re.compile(
    r"(?:电话|手机|联系|联络|致电|热线|客服|短信|微信|薇信|威信|vx|wx|v信|tel|phone|call|"
    r"mobile|whatsapp|signal)[^\n\d]{0,6}(?:(?:\+|00)86[\s-]?)?$"
)
_TELEGRAM_POST = re.compile(r"^https?://t\.me/(?:s/)?([A-Za-z][A-Za-z0-9_]{4,31})/\d+")


@dataclass(frozen=True)
class ContactRef:
    """One contact a version names. `value` is what people see (a handle, an address, a
    masked number); `digest` the keyed hash of a personal number, which identifies it."""

    kind: str
    value: str
    digest: str | None = None
    origin: str = "text"  # text | profile

    @property
    def key(self) -> str:
        """What identifies the contact within its kind."""
        return self.digest or self.value

    @property
    def is_payment(self) -> bool:
        return self.kind in PAYMENT_KINDS

    def label(self) -> str:
        return f"{self.kind}:{self.value}"


@dataclass(frozen=True)
class Identities:
    handle: str | None  # the seller's name on its source; None when anonymous or missing
    contacts: tuple[ContactRef, ...]


def seller_handle(seller: Any) -> str | None:
    """The seller's name as a handle: trimmed, at most MAX_HANDLE characters; None for a
    missing or anonymous one (guest, 匿名, ...)."""
    if not isinstance(seller, str):
        return None
    handle = " ".join(seller.split())[:MAX_HANDLE]
    if unicodedata.normalize("NFKC", handle).casefold() in ANONYMOUS:
        return None
    return handle


def identities_of(state: Mapping[str, Any], pii: Iterable[Mapping[str, Any]] = ()) -> Identities:
    """The seller and contacts a listing version names, from its stored state (`contacts`,
    `seller`, `title`, `text`, `url`, `extra`) and the personal numbers masked in it."""
    found: dict[tuple[str, str], ContactRef] = {}

    def add(ref: ContactRef) -> None:
        if len(found) < MAX_CONTACTS:
            found.setdefault((ref.kind, ref.key), ref)

    for ref in text_contacts(state.get("contacts")):
        add(ref)
    title, text = str(state.get("title") or ""), str(state.get("text") or "")
    for field in (title, text):
        for ref in (*payment_addresses(field), *emails(field)):
            add(ref)
    for ref in phone_contacts(pii, (title, text)):
        add(ref)
    for ref in profile_contacts(state):
        add(ref)
    return Identities(seller_handle(state.get("seller")), tuple(found.values()))


def text_contacts(contacts: Any) -> list[ContactRef]:
    """The matcher's contacts, stored as a JSON list of `kind:value`."""
    if isinstance(contacts, str):
        try:
            contacts = json.loads(contacts) if contacts else []
        except ValueError:
            return []
    out = []
    for entry in contacts or []:
        if not isinstance(entry, str) or ":" not in entry:
            continue
        kind, _, value = entry.partition(":")
        value = value.strip().lower()[:MAX_HANDLE]
        # A masked number (13*******00) stands for many numbers: it identifies no one. A
        # mobile number counts through its keyed hash instead (phone_contacts).
        if kind in TEXT_KINDS and value and kind not in HASHED_KINDS and "*" not in value:
            out.append(ContactRef(kind, value))
    return out


def profile_contacts(state: Mapping[str, Any]) -> list[ContactRef]:
    """Contacts in the profile fields: the seller's name (`TG@laowang`), a signature, a
    profile block (`extra.profile`), and the Telegram channel a message was posted in."""
    out: list[ContactRef] = []
    extra = _extra(state.get("extra"))
    fields = [state.get("seller"), extra.get("author_signature"), extra.get("profile")]
    for field in fields:
        if isinstance(field, str) and field.strip():
            field = field[:2000]
            for kind, value in _extracted(field):
                out.append(ContactRef(kind, value, origin="profile"))
            for ref in (*payment_addresses(field), *emails(field)):
                out.append(ContactRef(ref.kind, ref.value, origin="profile"))
    posted_in = _TELEGRAM_POST.match(str(state.get("url") or ""))
    if posted_in:
        out.append(ContactRef("telegram", posted_in.group(1).lower(), origin="profile"))
    return out


@lru_cache(maxsize=4096)
def _extracted(field: str) -> tuple[tuple[str, str], ...]:
    """The extractor's contacts in one profile field (seller names repeat: cached)."""
    from monitor.matching.extract import extract_normalized
    from monitor.matching.normalize import normalize

    found = extract_normalized([normalize(field)]).contacts
    return tuple(
        (c.kind, c.value.lower())
        for c in found
        if c.kind in TEXT_KINDS and c.kind not in HASHED_KINDS and "*" not in c.value
    )


def _extra(extra: Any) -> dict[str, Any]:
    if isinstance(extra, str):
        try:
            extra = json.loads(extra) if extra else {}
        except ValueError:
            return {}
    return extra if isinstance(extra, dict) else {}


def payment_addresses(text: str) -> list[ContactRef]:
    """USDT (TRC-20), Bitcoin and Ethereum addresses whose checksum holds (an Ethereum
    address has none to check: 0x and 40 hex digits)."""
    out: list[ContactRef] = []
    for match in _PAYMENT.finditer(text):
        if len(out) >= MAX_CONTACTS:
            break
        tron, legacy, segwit, eth = match.groups()
        if tron and _base58check(tron, b"\x41"):
            out.append(ContactRef("trc20", tron))
        elif legacy and _base58check(legacy, b"\x00" if legacy[0] == "1" else b"\x05"):
            out.append(ContactRef("btc", legacy))
        elif segwit and _bech32_ok(segwit.lower()):
            out.append(ContactRef("btc", segwit.lower()))
        elif eth:
            out.append(ContactRef("eth", eth.lower()))
    return out


def emails(text: str) -> list[ContactRef]:
    if "@" not in text:
        return []
    out: list[ContactRef] = []
    for match in _EMAIL.finditer(text):
        if len(out) >= MAX_CONTACTS:
            break
        out.append(ContactRef("email", match.group(1).lower()))
    return out


def phone_contacts(pii: Iterable[Mapping[str, Any]], fields: Iterable[str]) -> list[ContactRef]:
    """Mobile numbers written right after a contact word, as their masked form and keyed hash
    (the version's pii hits: `kind`, `masked`, `digest`)."""
    texts = [f for f in fields if f]
    out = []
    for hit in pii:
        if hit.get("kind") != "phone" or not hit.get("digest") or not hit.get("masked"):
            continue
        masked = str(hit["masked"])
        if any(_labelled(text, masked) for text in texts):
            out.append(ContactRef("phone", masked, str(hit["digest"])))
    return out


def _labelled(text: str, masked: str) -> bool:
    start = text.find(masked)
    for _ in range(MAX_CONTACTS):
        if start < 0:
            return False
        before = unicodedata.normalize("NFKC", text[max(0, start - 12) : start]).lower()
        if _PHONE_LABEL.search(before):
            return True
        start = text.find(masked, start + 1)
    return False


def _base58check(address: str, version: bytes) -> bool:
    """A 25-byte Base58Check address with this version byte and a good checksum."""
    number = 0
    for char in address:
        number = number * 58 + _BASE58_INDEX[char]
    try:
        raw = number.to_bytes(25, "big")
    except OverflowError:
        return False
    payload, checksum = raw[:21], raw[21:]
    if payload[:1] != version:
        return False
    return hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] == checksum


def _bech32_ok(address: str) -> bool:
    """A bech32 or bech32m `bc1` address whose checksum holds (BIP 173 and 350)."""
    hrp, _, data = address.rpartition("1")
    if hrp != "bc" or len(data) < 7:
        return False
    values = [_BECH32.find(char) for char in data]
    if min(values) < 0:
        return False
    checksum = 1
    for value in [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp] + values:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value
        for bit, generator in enumerate(
            (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
        ):
            if (top >> bit) & 1:
                checksum ^= generator
    return checksum in (1, 0x2BC830A3)
