"""When each source runs: its site file's interval or cron expression as an APScheduler trigger,
with jitter, and the first run after a (re)start taken from the store.

The rules, in one place (docs/operations.md explains them to operators):
- a source without a `schedule` key runs every `default_interval`;
- jitter delays each run by up to `jitter` seconds, never more than a tenth of the source's
  period, so sources on the same interval do not all hit the network in the same second;
- after a restart, a source whose stored `next_run_at` is still ahead waits for it (no burst),
  unless its schedule now says it should come sooner; a source that fell due while heishi was
  down (or never ran) runs once, soon, at a random moment within its jitter.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.errors import HeishiError, SiteFileError
from monitor.running.sweep import SourceRef
from monitor.timespec import format_duration

log = logging.getLogger(__name__)

JITTER_SHARE = 0.1  # jitter never exceeds this share of a source's period


@dataclass(frozen=True)
class SourceSchedule:
    """A source's schedule as the scheduler uses it."""

    text: str  # as written: "interval 30m", "cron */15 * * * *", "interval 1h (default)"
    interval_seconds: float | None = None
    cron: str | None = None

    @classmethod
    def of_site(cls, site: Any, default_interval: float) -> SourceSchedule:
        """The schedule of a site file (`monitor.sites.Site`), or the default interval."""
        schedule = getattr(site, "schedule", None)
        if schedule is not None and schedule.cron:
            return cls(text=f"cron {schedule.cron}", cron=schedule.cron)
        if schedule is not None and schedule.interval_seconds:
            return cls(
                text=f"every {schedule.text or schedule.interval_seconds}",
                interval_seconds=float(schedule.interval_seconds),
            )
        return cls(
            text=f"every {format_duration(default_interval)} (default)",
            interval_seconds=float(default_interval),
        )

    def period(self, now: datetime | None = None) -> float:
        """Seconds between two runs (for cron: between its next two fire times)."""
        if self.interval_seconds:
            return self.interval_seconds
        now = now or datetime.now(UTC)
        trigger = cron_trigger(self.cron or "")
        first = trigger.get_next_fire_time(None, now)
        second = trigger.get_next_fire_time(first, first + timedelta(seconds=1))
        return (second - first).total_seconds() if first and second else 86400.0

    def jitter(self, max_jitter: float) -> float:
        """Seconds of jitter for this source: `max_jitter`, at most a tenth of its period."""
        return max(0.0, min(max_jitter, self.period() * JITTER_SHARE))

    def trigger(self, max_jitter: float) -> BaseTrigger:
        """The APScheduler trigger (UTC) that fires this source, jitter included."""
        jitter = self.jitter(max_jitter) or None
        if self.cron:
            return cron_trigger(self.cron, jitter=jitter)
        return IntervalTrigger(seconds=self.interval_seconds, timezone=UTC, jitter=jitter)

    def next_after(self, moment: datetime) -> datetime:
        """The first time after `moment` this schedule fires, without jitter."""
        if self.cron:
            trigger = cron_trigger(self.cron)
            fire = trigger.get_next_fire_time(None, moment + timedelta(microseconds=1))
            return fire or moment + timedelta(days=1)
        return moment + timedelta(seconds=self.interval_seconds or 0)


_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def cron_trigger(expression: str, jitter: float | None = None) -> CronTrigger:
    """A five-field crontab expression in the machine's local time. Weekdays are numbered as
    crontab numbers them (0 and 7 Sunday), not as APScheduler 3 does (0 Monday)."""
    minute, hour, day, month, day_of_week = expression.split()
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=_crontab_weekdays(day_of_week),
        jitter=jitter,
    )


def _crontab_weekdays(field: str) -> str:
    """Crontab weekday numbers as names, which APScheduler reads unambiguously."""
    parts = []
    for part in field.split(","):
        base, _, step = part.partition("/")
        if base in ("*", "?") and step:
            parts += [_WEEKDAYS[n] for n in range(0, 7, int(step))]
            continue
        base = re.sub(r"\d+", lambda m: _WEEKDAYS[int(m.group()) % 8], base)
        parts.append(f"{base}/{step}" if step else base)
    return ",".join(dict.fromkeys(parts))


@dataclass(frozen=True)
class Planned:
    """A source the monitor runs, and when."""

    ref: SourceRef
    schedule: SourceSchedule


def load_plans(
    names: Sequence[str] = (), *, sites_dir: Path | None = None, default_interval: float = 3600
) -> dict[str, Planned]:
    """The sources to run, each with its schedule. A broken site file is logged and skipped
    (the other sources still run) unless it is one of the sources asked for by name."""
    from monitor.config import sites_dir as default_sites_dir
    from monitor.running.sources import is_demo
    from monitor.sites import load_site

    directory = sites_dir or default_sites_dir()
    sites: dict[str, Any] = {}
    for path in sorted(Path(directory).glob("*.toml")):
        try:
            site = load_site(path)
        except SiteFileError as exc:
            if path.stem in names:
                raise
            log.error("skipping a site file that cannot be used: %s", exc)
            continue
        if site.name in sites:
            log.error("skipping %s: name %r is already used by another file", path, site.name)
            continue
        sites[site.name] = site
    if names:
        unknown = [name for name in names if name not in sites]
        if unknown:
            raise HeishiError(
                f"unknown source(s): {', '.join(unknown)}",
                hint=f"site files in {directory}: {', '.join(sorted(sites)) or 'none'}",
            )
        chosen = [sites[name] for name in names]
    else:
        chosen = [s for s in sites.values() if s.enabled and not is_demo(s)]
    return {
        site.name: Planned(
            SourceRef(site.name, site.kind, site.url),
            SourceSchedule.of_site(site, default_interval),
        )
        for site in chosen
    }


def first_run_time(
    schedule: SourceSchedule,
    stored_next: datetime | None,
    now: datetime,
    max_jitter: float,
    rng: random.Random | None = None,
) -> datetime:
    """When a source first runs after a (re)start, given the `next_run_at` the store kept.

    Still ahead: that time, or sooner if the schedule now says so (a shortened interval).
    Passed or unknown: once, soon, spread over the source's jitter.
    """
    rng = rng or random.Random()
    if stored_next is not None and stored_next > now:
        return min(stored_next, schedule.next_after(now))
    return now + timedelta(seconds=rng.uniform(0, schedule.jitter(max_jitter)))


def is_due(stored_next: datetime | None, schedule: SourceSchedule, now: datetime) -> bool:
    """For `heishi run --once`: has this source's next run come? A cron job that starts a few
    seconds early must not skip a run, so anything due within a tenth of the period (at most a
    minute) counts as due."""
    if stored_next is None:
        return True
    slack = min(60.0, schedule.period(now) * JITTER_SHARE)
    return stored_next <= now + timedelta(seconds=slack)


def parse_time(text: str | None) -> datetime | None:
    """A store time (ISO 8601 UTC, `...Z`) as an aware datetime."""
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def store_time(moment: datetime | None) -> str | None:
    """An aware datetime as the store writes times (seconds, `Z`)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
