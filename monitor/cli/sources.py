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
            "url": (list(site.start_urls) or [""])[0],
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

    table = Table(title="Sources")
    for column in ("name", "kind", "url", "enabled", "health", "last run"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["name"] + (" (demo)" if row["demo"] else ""),
            row["kind"],
            row["url"],
            "yes" if row["enabled"] else "no",
            row["health"],
            row["last_status"] or "",
        )
    Console().print(table)
    return 0
