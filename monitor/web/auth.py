"""Who is asking: password hashes, the signed session cookie, CSRF tokens and roles.

Passwords are hashed with scrypt and a per-user salt and compared in constant time. The
session is a signed cookie (HttpOnly, SameSite=Lax) holding a random nonce, the user's name
and the user's session generation when it was issued; every request checks that generation
against the store's, so logging out, a new password, or disabling the user ends every session
already issued, even a copied cookie. Each form carries a CSRF token derived from the nonce,
so a form from another site (which cannot read the cookie) cannot carry a valid one.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer

from monitor import settings

SESSION_COOKIE = "heishi_session"
SESSION_MAX_AGE = 12 * 3600  # a working day; then log in again
ROLE_RANK = {"viewer": 1, "reviewer": 2, "admin": 3}
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024  # scrypt reads all of it; a login form never needs more
COMMON_PASSWORDS_PATH = Path(__file__).with_name("common_passwords.txt")


# --- passwords ---------------------------------------------------------------------------


def hash_password(password: str) -> str:
    """`scrypt$N$r$p$salt$hash`, with a fresh 16-byte salt."""
    salt = os.urandom(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    """Whether `password` matches `stored`; takes as long for an unknown user (stored None)."""
    try:
        scheme, n, r, p, salt, digest = (stored or "").split("$")
        if scheme != "scrypt":
            raise ValueError(scheme)
        params = int(n), int(r), int(p)
        salt_bytes, expected = bytes.fromhex(salt), bytes.fromhex(digest)
    except ValueError:
        _scrypt(password, b"\0" * 16, SCRYPT_N, SCRYPT_R, SCRYPT_P)  # same cost as a real check
        return False
    return hmac.compare_digest(_scrypt(password, salt_bytes, *params), expected)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32
    )


# A log-in name: letters (of any script: 王芳), digits, dots, dashes, @ and underscores; a
# name that Unicode would fold into another (full-width ＡＤＡ for ADA) is not one.
USER_NAME = re.compile(r"[\w.@-]{1,64}")


def is_user_name(name: str) -> bool:
    """Whether `name` may be a user's log-in name: the one check of the log-in page, the
    users page and `heishi users add`."""
    return user_name_problem(name) is None


def user_name_problem(name: str) -> str | None:
    """Why `name` may not be a log-in name (in English, for the command line), or None."""
    if not USER_NAME.fullmatch(name):
        return (
            f"{name!r} is not a user name: use 1 to 64 letters (Chinese too), digits, dots, "
            "dashes, underscores or @"
        )
    folded = unicodedata.normalize("NFKC", name)
    if folded != name:
        return (
            f"{name!r} is not a user name: it holds full-width or other look-alike characters "
            f"that Unicode reads as {folded!r}, and the web page's log-in refuses them"
        )
    return None


def password_problem(
    password: str, name: str | None = None, gettext: Callable[[str], str] = lambda text: text
) -> str | None:
    """Why `password` may not be used (by the user `name`), or None; in the language of
    `gettext` (the web page's), English by default (the command line)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return gettext("the password must have at least %(count)d characters") % {
            "count": MIN_PASSWORD_LENGTH
        }
    if len(password) > MAX_PASSWORD_LENGTH:
        return gettext("the password must have at most %(count)d characters") % {
            "count": MAX_PASSWORD_LENGTH
        }
    lowered = password.lower()
    stem = lowered.strip(_NOT_LETTERS)
    if lowered in common_passwords() or stem in common_passwords():
        return gettext("that password is one of the most common ones: choose another")
    if len(set(lowered)) < 4:
        return gettext("the password must have at least 4 different characters")
    if name and len(name) >= 3 and name.lower() in lowered:
        return gettext("the password must not contain the user's name")
    return None


_NOT_LETTERS = "0123456789 !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"


@functools.cache
def common_passwords() -> frozenset[str]:
    """The deny-list shipped beside this module, lowercased."""
    lines = COMMON_PASSWORDS_PATH.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().lower() for line in lines if line.strip() and not line.startswith("#")
    )


# --- the signing secret ------------------------------------------------------------------


def web_secret(db_path: Path) -> bytes:
    """$HEISHI_WEB_SECRET, else a key file beside the store (heishi.db -> heishi-web.key),
    created once with mode 0600."""
    explicit = settings.current().web_secret
    if explicit:
        return explicit.encode("utf-8")
    from monitor.config import key_file

    return key_file(db_path.parent / f"{db_path.stem}-web.key")


# --- sessions and CSRF -------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    nonce: str  # random, new at each log-in; the CSRF token derives from it
    user: str | None  # None before log-in
    generation: int | None = None  # the user's session generation when it was issued


class Sessions:
    """Signs and reads session cookies, and derives their CSRF tokens."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._serializer = URLSafeTimedSerializer(secret, salt="heishi-session")

    def new(self, user: str | None = None, generation: int | None = None) -> Session:
        return Session(secrets.token_urlsafe(24), user, generation)

    def dump(self, session: Session) -> str:
        return self._serializer.dumps(
            {"n": session.nonce, "u": session.user, "g": session.generation}
        )

    def load(self, cookie: str | None) -> Session | None:
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=SESSION_MAX_AGE)
        except BadSignature:  # also an expired one (SignatureExpired)
            return None
        if not isinstance(data, dict) or not isinstance(data.get("n"), str):
            return None
        user, generation = data.get("u"), data.get("g")
        if not isinstance(user, str) or type(generation) is not int:
            return Session(data["n"], None)  # not logged in (or a cookie older than generations)
        return Session(data["n"], user, generation)

    def csrf_token(self, session: Session) -> str:
        return hmac.new(self._secret, b"csrf:" + session.nonce.encode(), "sha256").hexdigest()

    def csrf_ok(self, session: Session | None, token: str | None) -> bool:
        if session is None or not token:
            return False
        return hmac.compare_digest(self.csrf_token(session), token)


def allowed(role: str | None, needed: str) -> bool:
    """Whether a user of `role` may do what needs `needed` (viewer < reviewer < admin)."""
    return ROLE_RANK.get(role or "", 0) >= ROLE_RANK[needed]
