"""The statistics page (/stats): alerts per day by severity, status, source or category as a
stacked bar chart, confirm and dismiss rates per source and keyword, dismissal reasons,
reviewer throughput and time to first triage, source health per day, days cut in the viewer's time zone. Charts
are SVG drawn here (monitor/web/chart.py): no script, nothing loaded, the page's CSP
unchanged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from monitor.analysis.stats import DIMENSIONS, Stats, collect
from monitor.errors import HeishiError
from monitor.timespec import since_timestamp
from monitor.vocabulary import ALERT_STATUSES, DISMISS_REASONS, SEVERITIES
from monitor.web.chart import colour_of, share_bar, stacked_bars
from monitor.web.endpoint import Context, endpoint
from monitor.web.i18n import _
from monitor.web.labels import label

RANGES = ("7d", "30d", "90d", "365d")
MAX_SERIES = 10  # sources or categories drawn apart; the rest are summed as "other"
KEYWORDS_SHOWN = 30


@endpoint("viewer")
def stats_page(ctx: Context) -> Response:
    since_text = ctx.param("since", "30d")[:40]
    by = ctx.param("by", "severity")
    by = by if by in DIMENSIONS else "severity"
    problem = None
    try:
        since = since_timestamp(since_text)
    except HeishiError:
        problem = _("“%(since)s” is not a date or a duration such as 7d: showing 30 days.") % {
            "since": since_text
        }
        since_text, since = "30d", since_timestamp("30d")
    # Days are cut where the viewer lives (their time zone, else the install's) unless ?tz=.
    zone = ctx.param("tz")[:64] or ctx.locale.zone_name
    try:
        with ctx.store() as store:
            stats = collect(store, since=since, timezone=zone)
    except HeishiError as exc:
        return ctx.refuse(400, str(exc))
    series = chart_series(stats, by)
    series_label = _series_label(by)
    return ctx.render(
        "stats.html",
        stats=stats,
        by=by,
        dimensions=DIMENSIONS,
        ranges=RANGES,
        since_text=since_text,
        problem=problem,
        chart=stacked_bars(
            stats.days,
            series,
            label=_("Alerts per day by %(dimension)s") % {"dimension": label(by)},
            width=1200,
            height=240,
            fluid=True,
            shown=series_label,
        ),
        series_label=series_label,
        legend=[(name, colour_of(name, i), sum(c.values())) for i, (name, c) in enumerate(series)],
        reasons=DISMISS_REASONS,
        share_bar=share_bar,
        health=[(s, _health_chart(stats, s)) for s in stats.source_health],
        reviewer_charts={
            r.name: stacked_bars(
                stats.days,
                [("actions", r.per_day)],
                label=_("%(name)s: actions per day") % {"name": r.name},
                width=240,
                height=40,
                dates=False,
                shown=label,
            )
            for r in stats.reviewers
        },  # fmt: skip
        keywords=stats.verdicts_by_keyword[:KEYWORDS_SHOWN],
        more_keywords=max(0, len(stats.verdicts_by_keyword) - KEYWORDS_SHOWN),
        verdicts={v.name: v for v in stats.verdicts_by_source},
        overall=_overall_rate(stats),
    )


def chart_series(stats: Stats, by: str) -> list[tuple[str, dict[str, int]]]:
    """The series of the main chart: severities and statuses in their own order, sources and
    categories largest first, past MAX_SERIES summed as "other" (labelled where shown)."""
    per_value = stats.by_day[by]
    if by == "severity":
        order = [s for s in reversed(SEVERITIES) if s in per_value]
    elif by == "status":
        order = [s for s in ALERT_STATUSES if s in per_value]
    else:
        order = list(stats.totals[by])
    series = [(name, per_value[name]) for name in order[:MAX_SERIES]]
    rest = order[MAX_SERIES:]
    if rest:
        other: dict[str, int] = {}
        for name in rest:
            for day, count in per_value[name].items():
                other[day] = other.get(day, 0) + count
        series.append(("other", other))
    return series


def _series_label(by: str) -> Callable[[str], str]:
    """How the main chart names its series: severities, statuses and categories by their
    translated labels, sources by their own names (forum_a stays forum_a)."""
    if by != "source":
        return label
    return lambda name: label(name) if name == "other" else name


def _health_chart(stats: Stats, source: Any) -> Any:
    ok = {d["day"]: d["ok"] for d in source.days}
    failed = {d["day"]: d["failed"] for d in source.days}
    other = {d["day"]: d["runs"] - d["ok"] - d["failed"] for d in source.days}
    return stacked_bars(
        stats.days,
        [("ok", ok), ("failed", failed), ("partial or other", other)],
        label=_("%(source)s: runs per day") % {"source": source.source},
        width=240,
        height=40,
        dates=False,
        shown=label,
    )


def _overall_rate(stats: Stats) -> float | None:
    confirmed = sum(v.confirmed for v in stats.verdicts_by_source)
    dismissed = sum(v.dismissed for v in stats.verdicts_by_source)
    return dismissed / (confirmed + dismissed) if confirmed + dismissed else None
