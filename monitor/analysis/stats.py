"""The figures team leads ask for first, from the store (SQL in monitor/store/stats.py):
alerts per day by category, source, severity and status; confirm and dismiss rates per source
and per keyword; why alerts were dismissed; reviewer throughput and time to first triage;
source health per day. `collect()` gathers them for `heishi stats`, the web page's /stats and
the API's /api/stats; days are cut in a time zone (default Asia/Shanghai, where the team works).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.config import time_zone_name
from monitor.errors import HeishiError
from monitor.store import Store
from monitor.store import stats as queries

DEFAULT_SINCE_DAYS = 30
DIMENSIONS = ("severity", "status", "source", "category")


@dataclass
class Verdicts:
    """Alerts of one source or keyword, and what reviewers made of them."""

    name: str
    alerts: int
    confirmed: int
    dismissed: int
    dismiss_rate: float | None  # dismissed / (confirmed + dismissed); None: none decided


@dataclass
class Reviewer:
    name: str
    actions: int
    by_status: dict[str, int]
    per_day: dict[str, int]
    first_triages: int  # alerts this reviewer was the first to triage
    median_first_triage_seconds: float | None


@dataclass
class FirstTriage:
    triaged: int
    untriaged: int
    median_seconds: float | None
    p90_seconds: float | None
    by_severity: dict[str, float | None]  # median seconds


@dataclass
class SourceDays:
    source: str
    health: str | None  # the source's state now
    runs: int
    ok: int
    failed: int
    items: int
    errors: int
    days: list[dict[str, Any]]  # {day, runs, ok, failed, items, errors}


@dataclass
class Stats:
    since: str
    timezone: str
    utc_offset_minutes: int
    days: list[str]  # every day from `since` to today, in the time zone
    total: int
    per_day: dict[str, int]
    # dimension -> value -> day -> alerts
    by_day: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    # dimension -> value -> alerts
    totals: dict[str, dict[str, int]] = field(default_factory=dict)
    verdicts_by_source: list[Verdicts] = field(default_factory=list)
    verdicts_by_keyword: list[Verdicts] = field(default_factory=list)
    dismiss_reasons: dict[str, int] = field(default_factory=dict)
    reviewers: list[Reviewer] = field(default_factory=list)
    first_triage: FirstTriage | None = None
    source_health: list[SourceDays] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def timezone_offset(name: str | None = None, at: datetime | None = None) -> tuple[str, int]:
    """The time zone (`name`, else $HEISHI_TIME_ZONE, else Asia/Shanghai) and its offset
    from UTC in minutes at `at` (now)."""
    name = name or time_zone_name()
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise HeishiError(
            f"{name!r} is not a time zone", hint="use a name such as Asia/Shanghai or UTC"
        ) from None
    offset = (at or datetime.now(UTC)).astimezone(zone).utcoffset() or timedelta(0)
    return name, int(offset.total_seconds() // 60)


def default_since(now: datetime | None = None) -> str:
    moment = (now or datetime.now(UTC)) - timedelta(days=DEFAULT_SINCE_DAYS)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def collect(
    store: Store,
    *,
    since: str | None = None,
    timezone: str | None = None,
    now: datetime | None = None,
) -> Stats:
    """Every figure for alerts raised (runs started, actions taken) since `since` (a store
    time; default 30 days ago), days cut in `timezone`."""
    now = now or datetime.now(UTC)
    since = since or default_since(now)
    zone, offset = timezone_offset(timezone, now)
    params: dict[str, Any] = {"since": since, "utc_offset_minutes": offset}

    def read(sql: str) -> list[dict[str, Any]]:
        return store.stats.rows(sql, **params)

    stats = Stats(
        since=since,
        timezone=zone,
        utc_offset_minutes=offset,
        days=_days(since, now, offset),
        total=0,
        per_day={},
    )
    for dimension in DIMENSIONS:
        stats.by_day[dimension] = {}
        stats.totals[dimension] = {}
    for row in read(queries.ALERTS_PER_DAY):
        dimension, value, day, count = row["dimension"], row["value"], row["day"], row["alerts"]
        stats.by_day[dimension].setdefault(value, {})[day] = count
        stats.totals[dimension][value] = stats.totals[dimension].get(value, 0) + count
        if dimension == "severity":
            stats.per_day[day] = stats.per_day.get(day, 0) + count
            stats.total += count
    for dimension in DIMENSIONS:
        stats.totals[dimension] = dict(
            sorted(stats.totals[dimension].items(), key=lambda kv: (-kv[1], kv[0]))
        )
    stats.days = sorted(set(stats.days) | set(stats.per_day))
    stats.verdicts_by_source = [
        _verdicts(row, "source") for row in read(queries.VERDICTS_BY_SOURCE)
    ]
    stats.verdicts_by_keyword = [
        _verdicts(row, "term") for row in read(queries.VERDICTS_BY_KEYWORD)
    ]
    stats.dismiss_reasons = {
        row["reason"] or "(none given)": row["alerts"] for row in read(queries.DISMISS_REASONS)
    }
    first = read(queries.FIRST_TRIAGE)
    stats.first_triage = _first_triage(first)
    stats.reviewers = _reviewers(read(queries.REVIEWER_ACTIONS), first)
    health_now = {row["name"]: row.get("health") for row in store.runs.sources()}
    stats.source_health = _source_health(read(queries.SOURCE_HEALTH), health_now)
    return stats


def _days(since: str, now: datetime, offset: int) -> list[str]:
    """Every day from `since` to `now`, in the zone `offset` minutes from UTC (at most a
    year of them: a longer range lists only the days with alerts)."""
    shift = timedelta(minutes=offset)
    try:
        start = (datetime.fromisoformat(since.replace("Z", "+00:00")) + shift).date()
    except ValueError:
        return []
    end = (now + shift).date()
    if (end - start).days > 366 or end < start:
        return []
    return [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]


def _verdicts(row: dict[str, Any], name: str) -> Verdicts:
    return Verdicts(
        name=row[name] or "",
        alerts=row["alerts"],
        confirmed=row["confirmed"] or 0,
        dismissed=row["dismissed"] or 0,
        dismiss_rate=row["dismiss_rate"],
    )


def median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (`share` 0.9: the value 90% of them are at or below)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-int(share * 100) * len(ordered) // 100))
    return float(ordered[min(rank, len(ordered)) - 1])


def _first_triage(rows: list[dict[str, Any]]) -> FirstTriage:
    waits = [r["seconds"] for r in rows if r["seconds"] is not None]
    by_severity: dict[str, list[float]] = {}
    for row in rows:
        if row["seconds"] is not None:
            by_severity.setdefault(row["severity"], []).append(row["seconds"])
    return FirstTriage(
        triaged=len(waits),
        untriaged=len(rows) - len(waits),
        median_seconds=median(waits),
        p90_seconds=percentile(waits, 0.9),
        by_severity={s: median(v) for s, v in sorted(by_severity.items())},
    )


def _reviewers(actions: list[dict[str, Any]], first: list[dict[str, Any]]) -> list[Reviewer]:
    found: dict[str, Reviewer] = {}
    for row in actions:
        reviewer = found.setdefault(row["reviewer"], Reviewer(row["reviewer"], 0, {}, {}, 0, None))
        reviewer.actions += row["actions"]
        reviewer.by_status[row["status"]] = (
            reviewer.by_status.get(row["status"], 0) + row["actions"]
        )
        reviewer.per_day[row["day"]] = reviewer.per_day.get(row["day"], 0) + row["actions"]
    waits: dict[str, list[float]] = {}
    for row in first:
        if row["reviewer"] is not None and row["seconds"] is not None:
            waits.setdefault(row["reviewer"], []).append(row["seconds"])
    for name, seconds in waits.items():
        waiting = found.get(name)
        if waiting is not None:
            waiting.first_triages = len(seconds)
            waiting.median_first_triage_seconds = median(seconds)
    return sorted(found.values(), key=lambda r: (-r.actions, r.name))


def _source_health(rows: list[dict[str, Any]], health_now: dict[str, Any]) -> list[SourceDays]:
    found: dict[str, SourceDays] = {}
    for row in rows:
        source = found.setdefault(
            row["source"],
            SourceDays(row["source"], health_now.get(row["source"]), 0, 0, 0, 0, 0, []),
        )
        for key in ("runs", "ok", "failed", "items", "errors"):
            setattr(source, key, getattr(source, key) + (row[key] or 0))
        source.days.append({k: row[k] for k in ("day", "runs", "ok", "failed", "items", "errors")})
    for name, health in health_now.items():
        if name not in found:
            found[name] = SourceDays(name, health, 0, 0, 0, 0, 0, [])
    return sorted(found.values(), key=lambda s: s.source)
