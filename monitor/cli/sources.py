"""`heishi sources list`: the configured sources and their health."""

from __future__ import annotations

import argparse
import json

from monitor.cli.app import add_db_option


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("sources", help="the configured sources")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="every site file, with its health in the store")
    add_db_option(listing)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_list)


def cmd_list(args: argparse.Namespace) -> int:
    from monitor.config import db_path
    from monitor.sources import is_demo, load_site_files
    from monitor.store import open_store

    sites = load_site_files()
    health: dict[str, dict] = {}
    path = db_path(args.db)
    if path.exists():
        with open_store(path, readonly=True) as store:
            health = {row["name"]: row for row in store.sources()}
    rows = [
        {
            "name": site.name,
            "kind": site.kind,
            "url": site.url or "",
            "enabled": getattr(site, "enabled", True),
            "demo": is_demo(site),
            "health": health.get(site.name, {}).get("health", "never swept"),
            "last_status": health.get(site.name, {}).get("last_status"),
        }
        for site in sites
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Sources", title_justify="left", box=None, header_style="bold underline")
    for column in ("name", "kind", "health", "last run"):
        table.add_column(column, no_wrap=True)
    table.add_column("url", overflow="fold", min_width=24)
    for row in rows:
        notes = [n for n, on in (("demo", row["demo"]), ("disabled", not row["enabled"])) if on]
        table.add_row(
            row["name"] + (f" [dim]({', '.join(notes)})[/dim]" if notes else ""),
            row["kind"],
            row["health"],
            row["last_status"] or "",
            row["url"],
        )
    Console().print(table)
    return 0
