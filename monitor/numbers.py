"""Whole numbers typed by people (web query strings and paths, command-line options): ASCII
digits only, and never larger than SQLite's INTEGER, so they can be bound to a query.

`str.isdigit()` and `int()` accept far more than a person means: `"²".isdigit()` is true and
`int("²")` fails, `int("٣")` is 3, and `int()` of a long enough run of digits raises, or
makes a number SQLite cannot bind. Every number heishi takes from a person goes through here.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

SQLITE_MAX_INTEGER = 2**63 - 1
_MAX_DIGITS = len(str(SQLITE_MAX_INTEGER))


class NotANumber(ValueError):
    """The text is not a whole number in the range asked for."""


def whole_number(
    text: str | None,
    *,
    minimum: int = 1,
    maximum: int = SQLITE_MAX_INTEGER,
    clamp: bool = False,
) -> int:
    """`text` as an int in [minimum, maximum]: ASCII digits only, no sign, no spaces.
    With `clamp`, a number above `maximum` (however many digits) is `maximum`; otherwise it,
    like anything else out of range or not a number, raises NotANumber."""
    problem = NotANumber(f"{_shown(text)} is not a whole number from {minimum} to {maximum}")
    if not text or not text.isascii() or not text.isdigit():
        raise problem
    digits = text.lstrip("0") or "0"
    value = int(digits) if len(digits) <= _MAX_DIGITS else maximum + 1  # int() of 5,000 raises
    if value > maximum and clamp:
        return maximum
    if not minimum <= value <= maximum:
        raise problem
    return value


def number_or(text: str | None, default: int, **limits: int | bool) -> int:
    """`whole_number(text, ...)`, or `default` when `text` is not one (query strings)."""
    try:
        return whole_number(text, **limits)  # type: ignore[arg-type]
    except NotANumber:
        return default


def whole_number_argument(
    minimum: int = 1, maximum: int = SQLITE_MAX_INTEGER
) -> Callable[[str], int]:
    """An argparse `type=` that takes a whole number in [minimum, maximum]; anything else
    is a usage error (exit 2) naming the value."""

    def parse(text: str) -> int:
        try:
            return whole_number(text, minimum=minimum, maximum=maximum)
        except NotANumber as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = "whole number"  # argparse names the type in its message
    return parse


def _shown(text: str | None) -> str:
    """The text for an error message: quoted, and cut short when long."""
    text = text or ""
    return repr(text if len(text) <= 30 else text[:30] + "…")
