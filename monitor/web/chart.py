"""A listing's counters (views, replies) over time as small inline SVG charts, drawn on the
server: no script, no style attribute, nothing loaded (the pages' CSP allows none)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup, escape

from monitor.web.i18n import _
from monitor.web.labels import label as shown_label

WIDTH, HEIGHT, PAD = 320, 84, 6
LABEL = 14  # room for the value labels above and dates below


def counter_charts(observations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One chart per counter the listing has: {"name", "first", "last", "svg"}."""
    charts = []
    for name in ("views", "replies"):
        points = [
            (moment, row[name])
            for row in observations
            if row.get(name) is not None and (moment := _moment(row.get("seen_at"))) is not None
        ]
        if points:
            charts.append(
                {
                    "name": name,
                    "first": points[0][1],
                    "last": points[-1][1],
                    "svg": _svg(name, points),
                }
            )
    return charts


def _moment(text: str | None) -> float | None:
    try:
        return datetime.fromisoformat((text or "").replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _svg(name: str, points: list[tuple[float, int]]) -> Markup:
    times = [t for t, _ in points]
    values = [v for _, v in points]
    t0, t1 = min(times), max(times)
    low, high = min(values), max(values)
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * LABEL

    def x(t: float) -> float:
        return PAD + (inner_w * (t - t0) / (t1 - t0) if t1 > t0 else inner_w / 2)

    def y(v: int) -> float:
        return LABEL + (inner_h * (high - v) / (high - low) if high > low else inner_h / 2)

    # A counter holds its value until the next sweep saw it move: a step line.
    path = []
    for index, (t, v) in enumerate(points):
        if index:
            path.append(f"{x(t):.1f},{y(points[index - 1][1]):.1f}")
        path.append(f"{x(t):.1f},{y(v):.1f}")
    dots = "".join(
        f'<circle cx="{x(t):.1f}" cy="{y(v):.1f}" r="2.5" fill="currentColor">'
        f"<title>{escape(_day(t))}: {v:,} {escape(shown_label(name))}</title></circle>"
        for t, v in points
    )
    label = escape(_("%(counter)s over time") % {"counter": shown_label(name)})
    most = escape(_("max %(count)s") % {"count": f"{high:,}"})
    least = escape(_("min %(count)s") % {"count": f"{low:,}"})
    return Markup(
        f'<svg class="counter-chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" role="img" aria-label="{label}">'
        f'<line x1="{PAD}" y1="{HEIGHT - LABEL}" x2="{WIDTH - PAD}" y2="{HEIGHT - LABEL}" '
        f'stroke="currentColor" stroke-opacity="0.25"/>'
        f'<polyline points="{" ".join(path)}" fill="none" stroke="currentColor" stroke-width="1.5"/>'
        f"{dots}"
        f'<text x="{PAD}" y="10" font-size="10" fill="currentColor">'
        f"{most}</text>"
        f'<text x="{WIDTH - PAD}" y="10" font-size="10" text-anchor="end" fill="currentColor">'
        f"{least}</text>"
        f'<text x="{PAD}" y="{HEIGHT - 2}" font-size="10" fill="currentColor">{escape(_day(t0))}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 2}" font-size="10" text-anchor="end" '
        f'fill="currentColor">{escape(_day(t1))}</text>'
        "</svg>"
    )


def _day(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M")


def price_chart(prices: list[dict[str, Any]]) -> Markup | None:
    """Prices an actor asked over time, one dot per price (a listing's first and each
    changed one), in its most used currency; None when it never named a price."""
    by_currency: dict[str, list[tuple[float, float]]] = {}
    for row in prices:
        moment = _moment(row.get("seen_at"))
        if moment is not None and row.get("price") is not None:
            by_currency.setdefault(row.get("currency") or "?", []).append((moment, row["price"]))
    if not by_currency:
        return None
    currency, points = max(by_currency.items(), key=lambda item: len(item[1]))
    times = [t for t, _ in points]
    values = [v for _, v in points]
    t0, t1, low, high = min(times), max(times), min(values), max(values)
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * LABEL

    def x(t: float) -> float:
        return PAD + (inner_w * (t - t0) / (t1 - t0) if t1 > t0 else inner_w / 2)

    def y(v: float) -> float:
        return LABEL + (inner_h * (high - v) / (high - low) if high > low else inner_h / 2)

    dots = "".join(
        f'<circle cx="{x(t):.1f}" cy="{y(v):.1f}" r="2.5" fill="currentColor">'
        f"<title>{escape(_day(t))}: {v:,.2f} {escape(currency)}</title></circle>"
        for t, v in points
    )
    return Markup(
        f'<svg class="counter-chart price-chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" role="img" aria-label="prices asked over time ({escape(currency)})">'
        f'<line x1="{PAD}" y1="{HEIGHT - LABEL}" x2="{WIDTH - PAD}" y2="{HEIGHT - LABEL}" '
        f'stroke="currentColor" stroke-opacity="0.25"/>{dots}'
        f'<text x="{PAD}" y="10" font-size="10" fill="currentColor">{high:,.0f} '
        f"{escape(currency)} max</text>"
        f'<text x="{WIDTH - PAD}" y="10" font-size="10" text-anchor="end" fill="currentColor">'
        f"{low:,.0f} min</text>"
        f'<text x="{PAD}" y="{HEIGHT - 2}" font-size="10" fill="currentColor">{escape(_day(t0))}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 2}" font-size="10" text-anchor="end" '
        f'fill="currentColor">{escape(_day(t1))}</text>'
        "</svg>"
    )


# --- the statistics page's charts ----------------------------------------------------------

# Fill colours by value (severities and statuses as the queue shows them), then a palette for
# sources and categories. Presentation attributes, not styles: the CSP allows them.
COLOURS = {
    "low": "#98a2b3",
    "medium": "#f79009",
    "high": "#d92d20",
    "critical": "#7a271a",
    "open": "#2e62d9",
    "acknowledged": "#7d8799",
    "confirmed": "#c4320a",
    "escalated": "#7a271a",
    "dismissed": "#c7ccd4",
    "resolved": "#12b76a",
    "ok": "#12b76a",
    "failed": "#d92d20",
}
PALETTE = (
    "#2e62d9", "#f79009", "#12b76a", "#9e77ed", "#d92d20", "#0e9384",
    "#ee46bc", "#667085", "#b54708", "#4e5ba6", "#66c61c", "#155b75",
)  # fmt: skip
BARS_HEIGHT, AXIS = 180, 18


def colour_of(value: str, index: int) -> str:
    return COLOURS.get(value) or PALETTE[index % len(PALETTE)]


def stacked_bars(
    days: list[str],
    series: list[tuple[str, dict[str, int]]],
    *,
    label: str,
    width: int = 720,
    height: int = BARS_HEIGHT,
    fluid: bool = False,
    dates: bool = True,
    shown: Callable[[str], str] = str,
) -> Markup:
    """One bar per day, stacked by series (name, {day: count}); each segment carries its
    day, series and count (data-* and a tooltip naming the series as `shown` says), and the
    axis its largest total. `fluid` charts take their container's width (the height follows);
    small ones go without `dates`."""
    totals = [sum(counts.get(day, 0) for _, counts in series) for day in days]
    top = max(totals, default=0) or 1
    base = height - (AXIS if dates else 2)  # the axis line
    inner_h = base - AXIS
    slot = (width - 2 * PAD) / max(len(days), 1)
    bar = max(1.0, slot * 0.8)
    most = escape(_("max %(count)s") % {"count": f"{top:,}"})
    parts = [
        f'<svg class="stats-chart{" fluid" if fluid else ""}" viewBox="0 0 {width} {height}" '
        + ('width="100%" ' if fluid else f'width="{width}" height="{height}" ')
        + f'role="img" aria-label="{escape(label)}">',
        f'<line x1="{PAD}" y1="{base}" x2="{width - PAD}" y2="{base}" '
        'stroke="currentColor" stroke-opacity="0.3"/>',
        f'<text x="{PAD}" y="11" font-size="10" fill="currentColor">{most}</text>',
    ]
    for index, day in enumerate(days):
        x = PAD + index * slot + (slot - bar) / 2
        y: float = base
        for number, (name, counts) in enumerate(series):
            count = counts.get(day, 0)
            if not count:
                continue
            tall = inner_h * count / top
            y -= tall
            parts.append(
                f'<rect class="seg" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{tall:.1f}" '
                f'fill="{colour_of(name, number)}" data-day="{escape(day)}" '
                f'data-series="{escape(name)}" data-value="{count}">'
                f"<title>{escape(day)} · {escape(shown(name))}: {count:,}</title></rect>"
            )
    step = max(1, -(-len(days) // 8))  # at most about 8 dates under the axis
    for index in range(0, len(days) if dates else 0, step):
        x = PAD + index * slot + slot / 2
        parts.append(
            f'<text x="{x:.1f}" y="{height - 4}" font-size="10" text-anchor="middle" '
            f'fill="currentColor">{escape(days[index][5:])}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def share_bar(share: float | None, *, width: int = 120, height: int = 12) -> Markup:
    """A small horizontal bar for a share from 0 to 1 (a dismiss rate); empty for none."""
    if share is None:
        return Markup("")
    share = min(max(share, 0.0), 1.0)
    fill = "#d92d20" if share >= 0.5 else "#f79009" if share >= 0.2 else "#12b76a"
    return Markup(
        f'<svg class="share-bar" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{share * 100:.0f}%" data-value="{share:.3f}">'
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="currentColor" '
        'fill-opacity="0.08"/>'
        f'<rect x="0" y="0" width="{width * share:.1f}" height="{height}" fill="{fill}"/></svg>'
    )
