"""`heishi alerts`: the alerts in the store, filtered, for people or scripts; `--group` puts a
listing's alerts in one row."""

from __future__ import annotations

import argparse
import json
from typing import Any

from monitor.cli.app import add_db_option
from monitor.cli.options import add_alert_filters, alert_filter_values
from monitor.numbers import whole_number_argument


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("alerts", help="list alerts (newest first)")
    add_db_option(parser)
    add_alert_filters(parser)
    parser.add_argument("--limit", type=whole_number_argument(), default=200)
    parser.add_argument(
        "--group",
        action="store_true",
        help="one row per listing, with its alerts (new, changed, removed ...) in it; only "
        "open alerts unless --status says otherwise",
    )
    parser.add_argument("--json", action="store_true", help="print JSON lines, one alert each")
    parser.set_defaults(func=cmd_alerts)


def cmd_alerts(args: argparse.Namespace) -> int:
    from monitor.config import db_path
    from monitor.json_columns import decoded
    from monitor.store import open_store

    filters = alert_filter_values(args)
    with open_store(db_path(args.db), readonly=True) as store:
        if args.group:
            from monitor.store.review import QueueFilters

            queue = QueueFilters(**vars(filters))
            queue.status = queue.status or "open"
            groups, total = store.desk.alert_groups(queue, limit=args.limit)
            if args.json:
                for group in groups:
                    print(json.dumps(group, ensure_ascii=False, default=str))
                return 0
            print_groups(groups, total)
            return 0
        alerts = store.alerts.where(filters, limit=args.limit)
        if args.json:
            for alert in alerts:
                print(json.dumps(decoded(alert), ensure_ascii=False, default=str))
            return 0
        from monitor.render import console, print_alerts

        print_alerts(console(), alerts, store)
    return 0


def print_groups(groups: list[dict[str, Any]], total: int) -> None:
    """One line per listing: its events in order, the highest severity, the alert ids."""
    from rich.table import Table

    from monitor.render import SEVERITY_STYLE, console, plain

    out = console()
    if not groups:
        out.print(plain("no alerts", style="dim"))
        return
    table = Table(
        title=f"{total} listing(s) with alerts"
        + (f", {len(groups)} shown" if total > len(groups) else ""),
        title_justify="left",
        box=None,
        header_style="bold underline",
    )
    for column in ("listing", "severity", "source", "events", "alerts"):
        table.add_column(column, no_wrap=True)
    table.add_column("title", overflow="fold")
    for group in groups:
        listing = f"#{group['listing_id']}" if group.get("listing_id") else "-"
        events = " → ".join(
            f"{member['kind']}" + ("" if member["status"] == "open" else f" ({member['status']})")
            for member in group["alerts"]
        )
        table.add_row(
            plain(listing),
            plain(group["severity"], style=SEVERITY_STYLE.get(group["severity"], "")),
            plain(group.get("source") or ""),
            plain(events),
            plain(", ".join(str(i) for i in group["alert_ids"]), style="dim"),
            plain(group.get("title") or ""),
        )
    out.print(table)
