"""Rendering for people: sweep tables, alerts with highlighted matches, field diffs (rich).

Titles, texts, sellers, contacts, URLs and errors come from hostile pages. Each reaches rich
through `plain()` (or `printable()`): control characters and bidi overrides cannot move the
cursor, recolour or retitle the terminal, or reorder what is shown, and rich never reads them
as markup (`[bold]`, `[link=...]`) or emoji codes.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console, Group
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from monitor.alerting.diffing import BoundedDiff
from monitor.vocabulary import SOURCE_ALERT_KINDS

# C0 controls but tab and newline, DEL, C1 controls (U+009B is CSI on some terminals), the
# bidi marks, embeddings, overrides and isolates, and the line and paragraph separators.
_UNSAFE_FOR_TERMINALS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]"
)
REPLACEMENT = "\ufffd"  # one for one, so match spans into the text stay right
HIT_STYLE = "bold black on yellow"
STATUS_STYLE = {
    "ok": "green",
    "partial": "yellow",
    "failed": "bold red",
    "crashed": "bold red",
    "running": "cyan",
    "busy": "yellow",
    "interrupted": "yellow",
}
SEVERITY_STYLE = {
    "low": "dim",
    "medium": "yellow",
    "high": "bold red",
    "critical": "bold white on red",
}
KIND_TITLES = {
    "new": "New listings",
    "changed": "Changed listings",
    "removed": "Removed listings",
    "relisted": "Relisted listings",
    "reposted": "Reposted offers (same offer elsewhere)",
    "retrohunt": "Found by a retro-hunt (matched by changed keyword rules)",
    "actor_seen": "Watched actors and contacts seen again",
    "source_failing": "Sources failing",
    "source_changed_shape": "Sources whose pages changed shape",
}


def printable(value: Any) -> str:
    """`value` as text a terminal shows as it is: each control character (but tab and
    newline) and each bidi control replaced by U+FFFD."""
    text = "" if value is None else str(value)
    return _UNSAFE_FOR_TERMINALS.sub(REPLACEMENT, text)


def plain(value: Any, style: str = "") -> Text:
    """`value` (a title, a seller, a URL ...) as rich Text: printable, and never read as
    markup or emoji; for every string that came from a page or a person."""
    return Text(printable(value), style=style)


def console(**options: Any) -> Console:
    """A rich Console for heishi's output; emoji codes are not expanded (`:warning:` in a
    title stays text even inside markup)."""
    return Console(emoji=False, **options)


def highlighted(text: str, spans: Iterable[tuple[int, int]], limit: int | None = None) -> Text:
    """`text` with each (start, end) span highlighted; cut around the first span to `limit`."""
    spans = sorted((s, e) for s, e in spans if 0 <= s < e <= len(text))
    offset = 0
    if limit and len(text) > limit:
        first = spans[0][0] if spans else 0
        offset = max(0, min(first - limit // 4, len(text) - limit))
        text = text[offset : offset + limit]
    rendered = plain(text.replace("\n", " "))
    for start, end in spans:
        start, end = start - offset, end - offset
        if end > 0 and start < len(text):
            rendered.stylize(HIT_STYLE, max(0, start), min(len(text), end))
    if offset:
        rendered = Text("…") + rendered
    return rendered


def sweep_table(results: Sequence[Any], title: str | Text = "Sweep") -> Group:
    """One row per source swept (status, counts, timing); problems listed under the table."""
    table = Table(
        title=title, title_justify="left", box=None, padding=(0, 1), header_style="bold underline"
    )
    table.add_column("source", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for column in ("listings", "new", "changed", "removed", "relisted", "pages", "time"):
        table.add_column(column, justify="right", no_wrap=True)
    problems = []
    for result in results:
        run = result.run or {}
        table.add_row(
            plain(result.source),
            plain(result.status, style=STATUS_STYLE.get(result.status, "")),
            str(run.get("items") or 0),
            str(run.get("new") or 0),
            str(run.get("changed") or 0),
            str(run.get("removed") or 0),
            str(run.get("relisted") or 0),
            str(run.get("pages") or 0),
            f"{result.seconds:.1f}s",
        )
        if result.error:
            line = plain(f"  {result.source}: ", style="bold")
            line.append(printable(result.error), style=STATUS_STYLE.get(result.status, ""))
            line.append(printable(f"  (log: {result.log_path})"), style="dim")
            problems.append(line)
    return Group(table, *problems)


def _money(alert: dict[str, Any]) -> str:
    parts = []
    if alert.get("price_text"):
        parts.append(f"price {alert['price_text']}")
    if alert.get("volume_text"):
        parts.append(f"volume {alert['volume_text']}")
    return "  ".join(parts)


_DIFF_TOKEN = re.compile(r"\d+(?:\.\d+)?|[A-Za-z_]+|\s+|.", re.S)
CHANGE_SHOWN = 400  # characters of one removed or added stretch shown in a terminal


def inline_diff(
    old: str | None, new: str | None, context: int = 12, differ: BoundedDiff | None = None
) -> Text:
    """What changed between two texts, word by word: `old→new`, removals red and struck,
    additions green, unchanged stretches cut to a little context and changed ones to
    CHANGE_SHOWN characters. `differ` bounds the work (hostile text: monitor/alerting/diffing.py)."""
    old_tokens = _DIFF_TOKEN.findall(old or "")
    new_tokens = _DIFF_TOKEN.findall(new or "")
    out = Text()
    opcodes = (differ or BoundedDiff()).opcodes(old_tokens, new_tokens)
    for index, (op, i1, i2, j1, j2) in enumerate(opcodes):
        removed = printable("".join(old_tokens[i1:i2]).replace("\n", " "))
        added = printable("".join(new_tokens[j1:j2]).replace("\n", " "))
        if op != "equal":
            removed, added = _cut(removed), _cut(added)
        if op == "equal":
            if len(removed) > 2 * context:
                head = removed[:context] if index else ""
                tail = removed[-context:] if index < len(opcodes) - 1 else ""
                removed = f"{head}…{tail}"
            out.append(removed)
            continue
        if removed:
            out.append(removed if added else f"-{removed}", style="red strike")
        if removed and added:
            out.append("→", style="dim")
        if added:
            out.append(added if removed else f"+{added}", style="bold green")
    return out


def _cut(changed: str) -> str:
    if len(changed) <= CHANGE_SHOWN:
        return changed
    return f"{changed[:CHANGE_SHOWN]}…(+{len(changed) - CHANGE_SHOWN} characters)"


def diff_table(diff: dict[str, list[Any]], differ: BoundedDiff | None = None) -> Table:
    """A field-level diff: short fields as old -> new, long text as an inline diff."""
    table = Table(show_header=False, box=None, padding=(0, 1))
    table.add_column("field", style="cyan", no_wrap=True)
    table.add_column("change", overflow="fold")
    differ = differ or BoundedDiff()
    for name, (old, new) in diff.items():
        if name in ("title", "text") and old and new:
            table.add_row(plain(name), inline_diff(old, new, differ=differ))
        else:
            change = plain(_short(old), style="red")
            change.append(" -> ")
            change.append(_short(new), style="green")
            table.add_row(plain(name), change)
    return table


def _short(value: Any, limit: int = 70) -> str:
    if value is None:
        return "—"
    if isinstance(value, str) and value.startswith("["):
        with contextlib.suppress(ValueError, TypeError):
            value = ", ".join(str(v) for v in json.loads(value))
    text = printable(value).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def alert_panel(alert: dict[str, Any], hits: Sequence[dict[str, Any]]) -> Panel:
    """One alert: title and text with the matched words highlighted, where, what, how much."""
    title_spans = [(h["start"], h["end"]) for h in hits if h.get("field") == "title"]
    text_spans = [(h["start"], h["end"]) for h in hits if h.get("field") == "text"]
    title = alert.get("listing_title") or alert.get("title") or ""
    body: list[Any] = [highlighted(title, title_spans)]
    meta = Text()
    meta.append(f"#{alert['id']} ", style="dim")
    severity = alert.get("severity") or ""
    meta.append(printable(severity), style=SEVERITY_STYLE.get(severity, ""))
    meta.append(printable(f"  {alert.get('source')}"), style="cyan")
    if alert.get("listing_id"):
        meta.append(printable(f"  listing {alert['listing_id']}"))
        if alert.get("site_id"):
            meta.append(printable(f" ({alert.get('source')}:{alert['site_id']})"), style="dim")
    if alert.get("seller"):
        meta.append(printable(f"  seller {alert['seller']}"), style="bold")
    categories = _categories(alert)
    if categories:
        meta.append(printable("  " + ", ".join(categories)), style="magenta")
    money = _money(alert)
    if money:
        meta.append(printable("  " + money), style="bold")
    body.append(meta)
    text = alert.get("listing_text") or ""
    if text and alert["kind"] not in SOURCE_ALERT_KINDS:
        body.append(highlighted(text, text_spans, limit=140))
    if alert.get("summary"):
        body.append(plain(alert["summary"], style="dim"))
    if alert.get("diff"):
        body.append(diff_table(json.loads(alert["diff"])))
    if alert.get("url"):
        body.append(plain(alert["url"], style="dim underline"))
    return Panel(Group(*body), expand=True, border_style="dim")


def alert_line(alert: dict[str, Any], hits: Sequence[dict[str, Any]]) -> Text:
    """One alert in a line: id, severity, source, categories, price and volume, then the
    title with its matched words highlighted."""
    line = Text()
    line.append(f"#{alert['id']:<4}", style="dim")
    severity = alert.get("severity") or ""
    line.append(printable(f"{severity:<9}"), style=SEVERITY_STYLE.get(severity, ""))
    line.append(printable(f"{alert.get('source') or ''}  "), style="cyan")
    title = alert.get("listing_title") or alert.get("title") or ""
    line.append_text(
        highlighted(title, [(h["start"], h["end"]) for h in hits if h["field"] == "title"])
    )
    categories = _categories(alert)
    if categories:
        line.append(printable("  " + ", ".join(categories)), style="magenta")
    money = "  ".join(filter(None, [alert.get("price_text"), alert.get("volume_text")]))
    if money:
        line.append(printable(f"  {money}"), style="bold")
    return line


def _categories(alert: dict[str, Any]) -> list[str]:
    found = json.loads(alert["categories"]) if alert.get("categories") else []
    return [str(c) for c in found] if isinstance(found, list) else []


def print_alerts(console: Console, alerts: Sequence[dict[str, Any]], store: Any) -> None:
    """Alerts grouped by kind, in the order a reviewer reads them."""
    if not alerts:
        console.print("[dim]no alerts[/dim]")
        return
    # Known kinds in reading order, then any other kind under its own name: never dropped.
    others = {a["kind"]: a["kind"] for a in alerts if a["kind"] not in KIND_TITLES}
    for kind, heading in {**KIND_TITLES, **others}.items():
        group = [a for a in alerts if a["kind"] == kind]
        if not group:
            continue
        console.rule(plain(f"{heading} ({len(group)})", style="bold"), align="left")
        if kind.startswith("source_"):
            for alert in group:
                line = plain(f"  {alert['source']}", style="bold red")
                line.append(f" #{alert['id']} ", style="dim")
                line.append(printable(alert.get("summary") or ""))
                console.print(line, highlight=False)
            continue
        for alert in sorted(group, key=lambda a: a["id"]):
            hits = (
                store.listings.matches_of_version(alert["version_id"])
                if alert.get("version_id")
                else []
            )
            console.print(alert_line(alert, hits), highlight=False)
            if alert.get("diff"):
                console.print(Padding(diff_table(json.loads(alert["diff"])), (0, 0, 0, 6)))


def versions_view(versions: Sequence[dict[str, Any]]) -> Table:
    """A listing's versions, each with what changed against the one before."""
    table = Table(title="Versions", title_justify="left")
    table.add_column("v", justify="right")
    table.add_column("seen")
    table.add_column("price")
    table.add_column("volume")
    table.add_column("changes")
    differ = BoundedDiff()  # one work budget for the whole history
    for version in versions:
        diff = json.loads(version["diff"]) if version.get("diff") else None
        table.add_row(
            plain(version["version"]),
            plain(version.get("seen_at") or ""),
            plain(version.get("price_text") or "—"),
            plain(version.get("volume_text") or "—"),
            diff_table(diff, differ) if diff else Text("first seen", style="dim"),
        )
    return table


_BARS = "▁▂▃▄▅▆▇█"
COUNTERS = ("views", "replies")


def sparkline(values: Sequence[int | None]) -> str:
    """Values as a line of block characters, lowest to highest (blank where unknown)."""
    known = [v for v in values if v is not None]
    if not known:
        return ""
    low, high = min(known), max(known)
    span = (high - low) or 1
    return "".join(
        " " if v is None else _BARS[round((v - low) / span * (len(_BARS) - 1))] for v in values
    )


def counters_view(observations: Sequence[dict[str, Any]]) -> Table:
    """A listing's views and replies as they moved between sweeps, with a sparkline."""
    table = Table(title="Counters", title_justify="left")
    table.add_column("seen")
    table.add_column("views", justify="right")
    table.add_column("replies", justify="right")
    for row in observations:
        table.add_row(
            row["seen_at"],
            "" if row.get("views") is None else str(row["views"]),
            "" if row.get("replies") is None else str(row["replies"]),
        )
    if len(observations) > 1:
        trend = [sparkline([row.get(name) for row in observations]) for name in COUNTERS]
        table.add_row(Text("trend", style="dim"), *trend)
    return table


def events_table(events: Sequence[dict[str, Any]]) -> Table:
    """An alert's audit trail."""
    table = Table(title="Audit trail", title_justify="left")
    for column in ("at", "actor", "action", "status", "note"):
        table.add_column(column)
    for event in events:
        change = event.get("new_status") or ""
        if event.get("old_status"):
            change = f"{event['old_status']} -> {change}"
        table.add_row(
            *(
                plain(value)
                for value in (
                    event["at"],
                    event.get("actor"),
                    event["action"],
                    change,
                    event.get("note"),
                )
            )
        )
    return table
