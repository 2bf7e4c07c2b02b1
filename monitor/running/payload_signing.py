"""HMAC-SHA256 signatures on what heishi puts in Redis for distributed sweeps.

Everyone who can write to the Redis of a distributed sweep could otherwise feed workers and the
writer whatever they like. Every queued request, every item on the stream and every sweep
record is signed with a key shared by the machines of one installation
(`HEISHI_DISTRIBUTED_KEY_FILE`, made by `heishi distributed keygen FILE`); what does not verify
is counted, logged without its contents and dropped, never decoded further. A signature binds
its payload to a purpose and a sweep id, so a request signed for one sweep is refused in
another.

What signing does not stop: whoever can write to that Redis can still delete, delay or replay
signed entries and change plain counters (stats, the duplicate filter). Redis AUTH, TLS and a
private network keep such people out; see README.md, "Crawling on several machines".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
from pathlib import Path
from typing import Any

from monitor import settings as monitor_settings
from monitor.errors import HeishiError

log = logging.getLogger(__name__)

KEY_SETTING = "HEISHI_DISTRIBUTED_KEY_FILE"
MIN_KEY_BYTES = 32
_MAGIC = b"hs1."
_MAC_LENGTH = 43  # base64url of 32 bytes, unpadded
_HEX_KEY = re.compile(r"^[0-9a-fA-F]+$")


class DistributedKeyError(HeishiError):
    """The shared key of distributed sweeps is missing or unusable."""


class BadSignature(ValueError):
    """A payload from Redis that was not signed with this installation's key."""


def key_path(settings: Any = None) -> Path | None:
    """The key file: the Scrapy setting, else $HEISHI_DISTRIBUTED_KEY_FILE (None: not set)."""
    value = settings.get(KEY_SETTING) if settings is not None else None
    return Path(value) if value else monitor_settings.current().distributed_key_file


def read_key(path: Path) -> bytes:
    """The key in `path` (hex, as `heishi distributed keygen` writes it)."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise DistributedKeyError(
            f"{path}: the distributed key file does not exist",
            hint=f"create it with `heishi distributed keygen {path}` and copy it to every machine",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DistributedKeyError(f"{path}: cannot read the distributed key: {exc}") from None
    if not _HEX_KEY.match(text) or len(text) % 2 or len(text) < 2 * MIN_KEY_BYTES:
        raise DistributedKeyError(
            f"{path}: not a distributed key (at least {MIN_KEY_BYTES} bytes written as hex)",
            hint=f"make one with `heishi distributed keygen {path}`",
        )
    if path.stat().st_mode & 0o077:
        log.warning("%s: the distributed key is readable by other users (chmod 600 it)", path)
    return bytes.fromhex(text)


def load_signer(settings: Any = None) -> Signer:
    """The signer of this installation; distributed sweeps refuse to start without a key."""
    path = key_path(settings)
    if path is None:
        raise DistributedKeyError(
            f"distributed crawling needs a shared key: {KEY_SETTING} is not set",
            hint=f"`heishi distributed keygen FILE`, copy FILE to every machine and set "
            f"{KEY_SETTING}=FILE there",
        )
    return Signer(read_key(path))


def generate_key_file(path: Path) -> None:
    """A new random key in `path` (mode 0600); never overwrites an existing file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise DistributedKeyError(
            f"{path} exists already; a new key would lock out every machine that has it",
            hint="delete it first to rotate the key (then copy the new one everywhere)",
        ) from None
    with os.fdopen(fd, "w") as handle:
        handle.write(os.urandom(MIN_KEY_BYTES).hex() + "\n")


def fingerprint(payload: bytes) -> str:
    """What a rejected payload is logged as: its length and hash, never its contents."""
    return f"{len(payload)} bytes, sha256 {hashlib.sha256(payload).hexdigest()[:16]}"


class Signer:
    """Signs and verifies payloads for one purpose ("request", "item", ...) of one sweep."""

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise DistributedKeyError(f"the distributed key is shorter than {MIN_KEY_BYTES} bytes")
        self._key = key

    def mac(self, purpose: str, sweep: str, payload: bytes) -> str:
        """The signature (base64url, 43 characters) of `payload` for `purpose` in `sweep`."""
        message = purpose.encode() + b"\0" + sweep.encode() + b"\0" + payload
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def valid(self, purpose: str, sweep: str, payload: bytes, mac: str | bytes | None) -> bool:
        if mac is None:
            return False
        if isinstance(mac, bytes):
            mac = mac.decode("ascii", "replace")
        return hmac.compare_digest(self.mac(purpose, sweep, payload), mac)

    def wrap(self, purpose: str, sweep: str, payload: bytes) -> bytes:
        """`payload` with its signature in front, for a single Redis value."""
        return _MAGIC + self.mac(purpose, sweep, payload).encode("ascii") + b"." + payload

    def unwrap(self, purpose: str, sweep: str, blob: bytes) -> bytes:
        """The payload of a value made by `wrap`; BadSignature when it is not ours."""
        head = len(_MAGIC) + _MAC_LENGTH
        if not blob.startswith(_MAGIC) or blob[head : head + 1] != b".":
            raise BadSignature("not signed")
        payload = blob[head + 1 :]
        if not self.valid(purpose, sweep, payload, blob[len(_MAGIC) : head]):
            raise BadSignature("bad signature")
        return payload
