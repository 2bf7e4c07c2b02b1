"""A listing's counters (views, replies) over time as small inline SVG charts, drawn on the
server: no script, no style attribute, nothing loaded (the pages' CSP allows none)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup, escape

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
        f"<title>{escape(_day(t))}: {v:,} {escape(name)}</title></circle>"
        for t, v in points
    )
    label = escape(name)
    return Markup(
        f'<svg class="counter-chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" role="img" aria-label="{label} over time">'
        f'<line x1="{PAD}" y1="{HEIGHT - LABEL}" x2="{WIDTH - PAD}" y2="{HEIGHT - LABEL}" '
        f'stroke="currentColor" stroke-opacity="0.25"/>'
        f'<polyline points="{" ".join(path)}" fill="none" stroke="currentColor" stroke-width="1.5"/>'
        f"{dots}"
        f'<text x="{PAD}" y="10" font-size="10" fill="currentColor">{high:,} max</text>'
        f'<text x="{WIDTH - PAD}" y="10" font-size="10" text-anchor="end" fill="currentColor">'
        f"{low:,} min</text>"
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


def week_bars(weeks: list[dict[str, Any]]) -> Markup | None:
    """Activity per week as bars: versions seen (listings new or changed) and alerts."""
    if not weeks:
        return None
    high = max(max(w["versions"], w["alerts"]) for w in weeks) or 1
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * LABEL
    slot = inner_w / len(weeks)
    bars = []
    for index, week in enumerate(weeks):
        left = PAD + index * slot
        for offset, (name, value) in enumerate(
            (("versions", week["versions"]), ("alerts", week["alerts"]))
        ):
            tall = inner_h * value / high
            bars.append(
                f'<rect class="bar bar-{name}" x="{left + offset * slot / 2:.1f}" '
                f'y="{LABEL + inner_h - tall:.1f}" width="{max(1.0, slot / 2 - 1):.1f}" '
                f'height="{tall:.1f}" fill="currentColor"><title>week of {escape(week["week"])}: '
                f"{week['new_listings']} new listings, {week['versions']} versions, "
                f"{week['alerts']} alerts</title></rect>"
            )
    return Markup(
        f'<svg class="counter-chart week-chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" role="img" aria-label="activity per week">{"".join(bars)}'
        f'<text x="{PAD}" y="10" font-size="10" fill="currentColor">{high:,} max a week</text>'
        f'<text x="{PAD}" y="{HEIGHT - 2}" font-size="10" fill="currentColor">'
        f"{escape(weeks[0]['week'])}</text>"
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 2}" font-size="10" text-anchor="end" '
        f'fill="currentColor">{escape(weeks[-1]["week"])}</text></svg>'
    )
