"""`heishi sources list`: the configured sources and their health; `heishi sources check
NAME`: what a site file's selectors read from the site's first page, field by field."""

from __future__ import annotations

import argparse
import json

from monitor.cli.app import add_db_option
from monitor.numbers import whole_number_argument


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("sources", help="the configured sources")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="every site file, with its health in the store")
    add_db_option(listing)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_list)
    check = actions.add_parser(
        "check",
        help="fetch a source's first page and show what would be parsed (nothing is stored)",
    )
    check.add_argument("name", help="the source's name (see `heishi sources list`)")
    check.add_argument(
        "--rows",
        type=whole_number_argument(maximum=1000),
        default=3,
        help="listings of the first page to read (default 3)",
    )
    check.add_argument("--json", action="store_true")
    check.set_defaults(func=cmd_check)


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
    from rich.table import Table

    from monitor.render import console, plain

    table = Table(title="Sources", title_justify="left", box=None, header_style="bold underline")
    for column in ("name", "kind", "health", "last run"):
        table.add_column(column, no_wrap=True)
    table.add_column("url", overflow="fold", min_width=24)
    for row in rows:
        notes = [n for n, on in (("demo", row["demo"]), ("disabled", not row["enabled"])) if on]
        name = plain(row["name"])
        if notes:
            name.append(f" ({', '.join(notes)})", style="dim")
        table.add_row(
            name,
            plain(row["kind"]),
            plain(row["health"]),
            plain(row["last_status"] or ""),
            plain(row["url"]),
        )
    console().print(table)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from monitor.errors import HeishiError
    from spiders.check import check_site

    result = check_site(args.name, rows=args.rows)
    if args.json:
        print(json.dumps(result.as_dict(), ensure_ascii=False))
    else:
        _render_check(result)
    if not result.items:
        reasons = "; ".join(result.problems) or "no listing was read"
        stats = result.stats
        if stats.get("heishi/list_page_errors"):
            hint = "the site did not answer: check its address, the network or the `proxy`"
        elif stats.get("heishi/blocked_pages"):
            hint = "the site wants a log-in: see `login` and `cookies_file` in docs/site-files.md"
        else:
            hint = "fix the selectors in the site file (docs/site-files.md) and check again"
        raise HeishiError(
            f"nothing parsed from {result.source} ({result.url}): {reasons}", hint=hint
        )
    return 0


def _render_check(result) -> None:  # noqa: ANN001 - spiders.check.SiteCheck
    from rich.table import Table

    from monitor.render import console as make_console
    from monitor.render import plain

    console = make_console()
    console.print(
        plain(result.source, style="bold")
        + plain(
            f" ({result.kind}) {result.url}\n"
            f"list page: {result.rows} item row(s); next page: {result.next_page or '-'}"
        )
    )
    for problem in result.problems:
        console.print(plain(f"! {problem}", style="yellow"))
    for number, item in enumerate(result.items, 1):
        table = Table(title=f"listing {number}", title_justify="left", box=None, show_header=False)
        table.add_column("field", style="bold", no_wrap=True)
        table.add_column("value", overflow="fold")
        for name, value in item.items():
            shown = "" if value is None else str(value)
            if name == "text" and len(shown) > 400:
                shown = shown[:400] + f"… ({len(shown)} characters)"
            table.add_row(plain(name), plain(shown) if shown else plain("none", style="dim"))
        console.print(table)
