"""`heishi stats`: alerts per day by category, source, severity and status, what reviewers
confirm and dismiss per source and keyword, reviewer throughput and time to first triage,
source health over time (monitor/analysis/stats.py)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from monitor.cli.app import add_db_option
from monitor.cli.options import add_since_option
from monitor.vocabulary import (
    ALERT_STATUSES,
    CONFIRMING_STATUSES,
    DISMISSING_STATUSES,
    SEVERITIES,
)

if TYPE_CHECKING:
    from rich.table import Table


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "stats",
        help="trends: alerts per day, confirm/dismiss rates, reviewer throughput, source health",
    )
    add_db_option(parser)
    add_since_option(parser, "alerts raised, runs started and actions taken (default 30d)")
    parser.add_argument(
        "--tz",
        metavar="ZONE",
        help="cut days in this time zone (default $HEISHI_TIME_ZONE, else Asia/Shanghai)",
    )
    parser.add_argument(
        "--keywords",
        type=int,
        default=20,
        metavar="N",
        help="keywords to show, most dismissed first (default 20; all with --json)",
    )
    parser.add_argument("--json", action="store_true", help="print every figure as one JSON object")
    parser.set_defaults(func=cmd_stats)


def cmd_stats(args: argparse.Namespace) -> int:
    from monitor.analysis.stats import collect
    from monitor.config import db_path
    from monitor.store import open_store

    with open_store(db_path(args.db), readonly=True) as store:
        stats = collect(store, since=args.since, timezone=args.tz)
    if args.json:
        print(json.dumps(stats.to_dict(), ensure_ascii=False))
        return 0
    print_stats(stats, keywords=args.keywords)
    return 0


TREND_WIDTH = 16
SHORT = {
    "critical": "crit",
    "medium": "med",
    "acknowledged": "ack",
    "confirmed": "conf",
    "dismissed": "dism",
    "escalated": "esc",
    "resolved": "res",
}


def duration_text(seconds: float | None) -> str:
    """1h30m, 45m, 2d3h; "-" for none."""
    if seconds is None:
        return "-"
    minutes = int(round(seconds / 60))
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    parts = [
        f"{days}d" if days else "",
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
    ]
    return "".join(p for p in parts if p)[:6] or "0m"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _table(title: str, *columns: str, names: Sequence[str] = ()) -> Table:
    """A figures table: the first column names (never cut), the others numbers."""
    from rich.table import Table

    made = Table(title=title, title_justify="left", box=None, header_style="bold underline")
    widest = max([len(columns[0]), *(len(n) for n in names)])
    made.add_column(columns[0], no_wrap=True, min_width=min(widest, 30))
    for column in columns[1:]:
        made.add_column(column, justify="right", no_wrap=True)
    return made


def print_stats(stats: Any, keywords: int = 20) -> None:
    from monitor.render import SEVERITY_STYLE, console, plain, sparkline

    out = console()
    first = stats.first_triage
    out.print(
        plain(f"{stats.total} alert(s) since {stats.since} (days in {stats.timezone})", "bold")
    )
    out.print(
        plain(
            f"first triage after {duration_text(first.median_seconds)} (median), "
            f"{duration_text(first.p90_seconds)} (90%); {first.untriaged} not triaged yet"
        )
    )

    # A trend is at most TREND_WIDTH characters: several days a character over long ranges.
    per_char = max(1, -(-len(stats.days) // TREND_WIDTH))
    buckets = [stats.days[i : i + per_char] for i in range(0, len(stats.days), per_char)]

    def trend(counts: dict[str, int]) -> str:
        return sparkline([sum(counts.get(day, 0) for day in bucket) for bucket in buckets])

    statuses = [s for s in ALERT_STATUSES if stats.totals["status"].get(s)]
    per_day = _table(
        "Alerts per day (days without alerts left out)",
        "day",
        "alerts",
        *(SHORT.get(s, s) for s in (*SEVERITIES, *statuses)),
    )
    for day in (d for d in stats.days if stats.per_day.get(d)):
        cells = [stats.by_day["severity"].get(s, {}).get(day, 0) for s in SEVERITIES]
        cells += [stats.by_day["status"].get(s, {}).get(day, 0) for s in statuses]
        per_day.add_row(
            plain(day),
            plain(stats.per_day.get(day, 0), style="bold"),
            *(plain(n or "·", style="dim" if not n else "") for n in cells),
        )
    out.print(per_day)

    by_category = _table(
        "By category", "category", "alerts", "trend", names=list(stats.totals["category"])
    )
    for name, count in stats.totals["category"].items():
        by_category.add_row(plain(name), plain(count), plain(trend(stats.by_day["category"][name])))
    out.print(by_category)
    by_severity = _table("By severity", "severity", "alerts", "trend")
    for name in SEVERITIES:
        if name in stats.totals["severity"]:
            by_severity.add_row(
                plain(name, style=SEVERITY_STYLE.get(name, "")),
                plain(stats.totals["severity"][name]),
                plain(trend(stats.by_day["severity"][name])),
            )
    out.print(by_severity)

    verdicts = {v.name: v for v in stats.verdicts_by_source}
    by_source = _table(
        "By source",
        "source",
        "alerts",
        "trend",
        "conf",
        "dism",
        "dism %",
        names=list(stats.totals["source"]),
    )
    for name, count in stats.totals["source"].items():
        v = verdicts.get(name)
        by_source.add_row(
            plain(name),
            plain(count),
            plain(trend(stats.by_day["source"][name])),
            plain(v.confirmed if v else 0),
            plain(v.dismissed if v else 0),
            plain(_rate(v.dismiss_rate) if v else "-"),
        )
    out.print(by_source)

    rules = _table(
        "Keywords (which rules produce dismissed alerts)",
        "keyword",
        "alerts",
        "confirmed",
        "dismissed",
        "dismissed %",
        names=[v.name for v in stats.verdicts_by_keyword[:keywords]],
    )
    for v in stats.verdicts_by_keyword[:keywords]:
        rules.add_row(
            plain(v.name), plain(v.alerts), plain(v.confirmed), plain(v.dismissed),
            plain(_rate(v.dismiss_rate), style="bold red" if (v.dismiss_rate or 0) >= 0.5 else ""),
        )  # fmt: skip
    if len(stats.verdicts_by_keyword) > keywords:
        rules.caption = f"{len(stats.verdicts_by_keyword) - keywords} more: --keywords N or --json"
    out.print(rules)
    if stats.dismiss_reasons:
        reasons = _table(
            "Why alerts were dismissed", "reason", "alerts", names=list(stats.dismiss_reasons)
        )
        for reason, count in stats.dismiss_reasons.items():
            reasons.add_row(plain(reason), plain(count))
        out.print(reasons)

    reviewers = _table(
        "Reviewers (first: alerts they triaged first; wait: median time those waited)",
        "reviewer",
        "actions",
        "trend",
        "conf",
        "esc",
        "dism",
        "other",
        "first",
        "wait",
        names=[r.name for r in stats.reviewers],
    )
    for r in stats.reviewers:
        decided = (*CONFIRMING_STATUSES, *DISMISSING_STATUSES)
        known = sum(r.by_status.get(s, 0) for s in decided)
        reviewers.add_row(
            plain(r.name),
            plain(r.actions),
            plain(trend(r.per_day)),
            plain(r.by_status.get("confirmed", 0)),
            plain(r.by_status.get("escalated", 0)),
            plain(r.by_status.get("dismissed", 0)),
            plain(r.actions - known),
            plain(r.first_triages),
            plain(duration_text(r.median_first_triage_seconds)),
        )
    out.print(reviewers)

    health = _table(
        "Source health (listings read per day)",
        "source",
        "now",
        "runs",
        "ok",
        "failed",
        "listings",
        "errors",
        "trend",
        names=[s.source for s in stats.source_health],
    )
    for s in stats.source_health:
        items = {d["day"]: d["items"] for d in s.days}
        health.add_row(
            plain(s.source),
            plain((s.health or "-").replace("_", " ")),
            plain(s.runs),
            plain(s.ok),
            plain(s.failed, style="red" if s.failed else ""),
            plain(s.items),
            plain(s.errors),
            plain(trend(items)),
        )
    out.print(health)
