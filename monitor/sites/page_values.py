"""Values as pages show them: counts (`1.2K`, `3.4万`) and post dates (`发表于 2024-5-1 12:30`)."""

from __future__ import annotations

import re
from datetime import datetime

_COUNT = re.compile(r"(\d+(?:[.,]\d+)*)\s*([万wWkKmM亿]?)")
_MAX_COUNT = 1e15
_MULTIPLIERS = {"": 1, "k": 1_000, "w": 10_000, "万": 10_000, "m": 1_000_000, "亿": 100_000_000}


def parse_count(text: str | int | None) -> int | None:
    """A count as a page shows it: 1,234 / 1.2K / 3.4万 / 12 回复 -> int."""
    if text is None or isinstance(text, int):
        return text
    found = _COUNT.search(str(text)[:200])
    if not found:
        return None
    try:
        number = float(found.group(1).replace(",", "")) * _MULTIPLIERS[found.group(2).lower()]
    except ValueError:  # "1.2.3"
        return None
    # A page may show anything: no count is larger than this (nor infinite).
    return int(round(number)) if number < _MAX_COUNT else None


_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[\sT]*(\d{1,2}):(\d{2})(?::(\d{2}))?)?"
)


def parse_date(text: str | None) -> str | None:
    """A post date as ISO 8601: ISO strings pass through, `发表于 2024-5-1 12:30` is read."""
    if not text:
        return None
    text = text.strip()
    if _ISO_DAY.match(text):
        return text
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat()
    except ValueError:
        pass
    found = _DATE.search(text)
    if not found:
        return None
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in found.groups())
    try:
        moment = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    if found.group(4) is None:
        return moment.date().isoformat()
    return moment.isoformat()
