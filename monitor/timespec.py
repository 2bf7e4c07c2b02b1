"""Durations and `--since` as people write them, parsed in one place.

A duration is `90` or `90s`, `2.5s`, `30m`, `2h`, `1d`, `2w` or a run of them (`1h30m`); the
same parser reads site files (`schedule.interval`), severity.toml and notify.toml, `heishi run`'s
options and every `--since`: `duration_seconds` is its lenient entry point (None for what is
not a duration, for readers that name the file and key themselves), `parse_duration` its
strict one (a HeishiError with a hint), and `format_duration` writes one back. A `--since` is a date (`2026-11-01`), a time (`2026-11-01T08:00`,
`2026-11-01T08:00:00+08:00`) or a duration back from now (`7d`, `24h`); a date or time without
a zone is UTC, the store's zone.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from monitor.errors import HeishiError

_DURATION = re.compile(
    r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s?)?$", re.IGNORECASE
)
DURATION_HINT = "write 90s, 30m, 2h, 1d or 2w (or a run of them: 1h30m)"
SINCE_HINT = "e.g. 7d, 24h, 2026-11-01 or 2026-11-01T08:00:00Z"
STORE_TIME = "%Y-%m-%dT%H:%M:%SZ"


def duration_seconds(text: str | float | int | None) -> float | None:
    """Seconds in a duration (`90`, `90s`, `30m`, `2h`, `1d`, `2w`, `1h30m`), or None when
    `text` is not one. A number is seconds."""
    if isinstance(text, bool) or text is None:
        return None
    if isinstance(text, int | float):
        return float(text)
    found = _DURATION.match(text.strip())
    if not text.strip() or not found or not any(found.groups()):
        return None
    weeks, days, hours, minutes = (int(g or 0) for g in found.groups()[:4])
    return (((weeks * 7 + days) * 24 + hours) * 60 + minutes) * 60 + float(found.group(5) or 0)


def parse_duration(text: str | float | int) -> float:
    """Seconds in a duration longer than zero; HeishiError otherwise."""
    seconds = duration_seconds(text)
    if seconds is None:
        raise HeishiError(f"{text!r} is not a duration", hint=DURATION_HINT)
    if seconds <= 0:
        raise HeishiError(f"{text!r} is not a duration longer than zero")
    return seconds


def format_duration(seconds: float) -> str:
    """A duration as `duration_seconds` reads it back: 90 -> 1m30s, 3600 -> 1h, 2.5 -> 2.5s."""
    if seconds < 60 and seconds != int(seconds):
        return f"{seconds:g}s"
    seconds = int(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


def since_timestamp(text: str, now: datetime | None = None) -> str:
    """`--since` in the store's time format (ISO 8601 UTC): a date or time as written (UTC
    when it names no zone), or a duration counted back from `now`."""
    written = text.strip()
    moment = _moment(written)
    if moment is None:
        seconds = duration_seconds(written)
        if seconds is None or seconds <= 0:
            raise HeishiError(
                f"--since {text!r} is not a date, a time or a duration", hint=SINCE_HINT
            )
        moment = (now or datetime.now(UTC)) - timedelta(seconds=seconds)
    return moment.strftime(STORE_TIME)


def _moment(text: str) -> datetime | None:
    """A date or time (ISO 8601) as an aware UTC datetime, or None. Bare numbers are left to
    the duration parser (`90` is 90 seconds, not a year)."""
    if not text or (text.isdigit() and len(text) != 8):  # 20261101 is a date
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def since_argument(text: str) -> str:
    """argparse `type=` for `--since`: the store's time, or a usage error (exit 2)."""
    import argparse

    try:
        return since_timestamp(text)
    except HeishiError as exc:
        raise argparse.ArgumentTypeError(f"{exc}: {SINCE_HINT}") from None
