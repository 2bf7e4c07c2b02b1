"""`heishi retrohunt`: re-match stored listings with the current keyword rules."""

from __future__ import annotations

import argparse
import json

from monitor.cli.app import add_db_option, store_path
from monitor.cli.options import add_since_option
from monitor.numbers import whole_number_argument


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "retrohunt",
        help="re-match stored listings with the current keyword rules; alert on new matches",
    )
    add_db_option(parser)
    add_since_option(parser, "versions seen")
    parser.add_argument(
        "--dry-run", action="store_true", help="show what would change; write nothing"
    )
    parser.add_argument("--keywords", metavar="DIR", help="keyword directory (default: keywords/)")
    parser.add_argument("--threshold", type=float, help="alert threshold")
    parser.add_argument(
        "--batch", type=whole_number_argument(), default=500, help="versions per transaction"
    )
    parser.add_argument(
        "--all", action="store_true", help="also list versions whose score alone moved"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=cmd_retrohunt)


def cmd_retrohunt(args: argparse.Namespace) -> int:
    from monitor.analysis.retrohunt import retrohunt
    from monitor.render import console

    since = args.since
    errors = console(stderr=True)
    with _progress(errors) as (progress, task):

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        report = retrohunt(
            store_path(args),
            since=since,
            dry_run=args.dry_run,
            keywords_dir=args.keywords,
            threshold=args.threshold,
            batch_size=args.batch,
            progress=advance,
        )
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, default=str))
        return 0
    print_report(console(), report, show_score_changes=args.all)
    return 0


def _progress(console):
    """A rich progress bar on stderr, gone when the hunt ends."""
    from contextlib import contextmanager

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    @contextmanager
    def bar():
        with Progress(
            "re-matching versions",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as progress:
            yield progress, progress.add_task("retrohunt", total=None)

    return bar()


def print_report(console, report, *, show_score_changes: bool = False) -> None:
    """The would-be or made changes as a table, with a one-line summary above it."""
    from rich.table import Table

    from monitor.render import plain

    counts = report.counts()
    verb = "would change" if report.dry_run else "changed"
    alerts = sum(1 for c in report.changes if c.alert in ("raised", "would_raise"))
    console.print(
        f"rules [bold]{report.rules_version[:8]}[/]"
        + (" [yellow](dry run: nothing written)[/]" if report.dry_run else "")
        + f": {report.examined} version(s) re-matched"
        + (f" since {report.since}" if report.since else "")
        + f", {len(report.changes)} {verb} ("
        + ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in counts.items())
        + f"); {alerts} retrohunt alert(s) {'would be ' if report.dry_run else ''}raised"
    )
    shown = [c for c in report.changes if show_score_changes or c.change != "score_changed"]
    if not shown:
        return
    table = Table()
    for column in ("listing", "v", "change", "score", "categories", "alert", "title"):
        table.add_column(column, overflow="fold")
    styles = {"newly_matched": "bold red", "no_longer_matched": "green"}
    for change in shown:
        alert = {
            "raised": f"#{change.alert_id} {change.severity}",
            "would_raise": f"would raise ({change.severity})",
            "already_alerted": "alerted before",
        }.get(change.alert or "", "")
        table.add_row(
            plain(f"{change.source}:{change.site_id} #{change.listing_id}"),
            f"{change.version}{'' if change.current else ' (old)'}",
            plain(change.change.replace("_", " "), style=styles.get(change.change, "")),
            f"{change.old['score']:g} -> {change.new['score']:g}",
            plain(
                f"{','.join(change.old['categories']) or '-'} -> "
                f"{','.join(change.new['categories']) or '-'}"
            ),
            plain(alert),
            plain(change.title[:60]),
        )
    console.print(table)
