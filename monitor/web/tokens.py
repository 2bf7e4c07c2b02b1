"""API tokens: made at random, shown once, kept only as their SHA-256 (monitor/store/
api_tokens.py). A token is `heishi_` and 43 URL-safe characters (32 random bytes)."""

from __future__ import annotations

import hashlib
import re
import secrets

PREFIX = "heishi_"
SHOWN_CHARS = 12  # the start of a token kept in clear, to tell a user's tokens apart
_SHAPE = re.compile(r"^heishi_[A-Za-z0-9_-]{43}$")


def new_token() -> tuple[str, str, str]:
    """(token, its hash, its first characters)."""
    token = PREFIX + secrets.token_urlsafe(32)
    return token, token_hash(token), token[:SHOWN_CHARS]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_token(text: str) -> bool:
    """Whether `text` has a token's shape (anything else is refused before any look-up)."""
    return bool(_SHAPE.match(text))
