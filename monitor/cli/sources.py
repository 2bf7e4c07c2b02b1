"""`heishi sources list`: the configured sources and their health; `heishi sources new URL`:
a draft site file from a site's list page; `heishi sources check NAME`: what a site file's
selectors read from the site's first page, field by field."""

from __future__ import annotations

import argparse
import json

from monitor.cli.app import add_db_option
from monitor.numbers import whole_number_argument
from monitor.vocabulary import SITE_KINDS


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("sources", help="the configured sources")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="every site file, with its health in the store")
    add_db_option(listing)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_list)
    new = actions.add_parser(
        "new",
        help="draft a site file from a list page: rows, fields and next page found by structure",
    )
    new.add_argument("url", help="a list page of the site (a board, a channel, an archive)")
    new.add_argument("--name", help="the source's name (default: from the host)")
    new.add_argument("--kind", choices=SITE_KINDS)
    new.add_argument("--render", action="store_true", help="render the page in Chromium first")
    new.add_argument(
        "--no-preset", action="store_true", help="read the page by structure even if a preset fits"
    )
    new.add_argument("--force", action="store_true", help="replace a site file of that name")
    new.add_argument("--print", action="store_true", help="print the draft, write nothing")
    new.add_argument("--json", action="store_true")
    new.set_defaults(func=cmd_new)
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
    from monitor.running.sources import is_demo, load_site_files
    from monitor.store import open_store

    sites = load_site_files()
    health: dict[str, dict] = {}
    path = db_path(args.db)
    if path.exists():
        with open_store(path, readonly=True) as store:
            health = {row["name"]: row for row in store.runs.sources()}
    rows = [
        {
            "name": site.name,
            "kind": site.kind,
            "url": site.url or "",
            "enabled": getattr(site, "enabled", True),
            "demo": is_demo(site),
            "health": health.get(site.name, {}).get("health") or "never swept",
            "last_status": health.get(site.name, {}).get("last_status"),
        }
        for site in sites
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    from rich.table import Table

    from monitor.render import console, plain
    from monitor.running.source_health import CAUSES

    fixes = {c.health: c.fix.replace("{codes}", "403, 429 or 451") for c in CAUSES.values()}
    table = Table(title="Sources", title_justify="left", box=None, header_style="bold underline")
    for column in ("name", "kind", "health", "last run"):
        table.add_column(column, no_wrap=True)
    table.add_column("url", no_wrap=True)
    for row in rows:
        notes = [n for n, on in (("demo", row["demo"]), ("disabled", not row["enabled"])) if on]
        name = plain(row["name"])
        if notes:
            name.append(f" ({', '.join(notes)})", style="dim")
        table.add_row(
            name,
            plain(row["kind"]),
            plain(row["health"].replace("_", " "), style=_HEALTH_COLOURS.get(row["health"], "")),
            plain(row["last_status"] or ""),
            plain(row["url"]),
        )
    out = console()
    # A URL is printed whole on one line, however narrow the terminal or pipe (80 columns),
    # so it can be copied: the table is as wide as its widest row needs.
    from rich.measure import Measurement

    needed = Measurement.get(out, out.options.update(width=10_000), table).maximum
    if needed > out.width:
        out = console(width=needed)
    out.print(table)
    # What to do about each cause, once.
    for state in dict.fromkeys(row["health"] for row in rows):
        if state in fixes and state != "failing":
            out.print(plain(f"{state.replace('_', ' ')}: {fixes[state]}", style="dim"))
    return 0


_HEALTH_COLOURS = {
    "ok": "green",
    "degraded": "yellow",
    "empty": "yellow",
    "failing": "red",
    "login_wall": "red",
    "captcha": "red",
    "blocked": "red",
    "changed_shape": "red",
}


def cmd_new(args: argparse.Namespace) -> int:
    from urllib.parse import urlsplit

    from monitor.config import sites_dir
    from monitor.errors import HeishiError
    from monitor.sites.draft import draft_site, write_draft
    from spiders.fetch import fetch_html

    if urlsplit(args.url).scheme not in ("http", "https") or not urlsplit(args.url).netloc:
        raise HeishiError(f"{args.url!r} is not an http(s) address")
    page = fetch_html(args.url, render=args.render)
    draft = draft_site(
        args.url,
        page.html,
        name=args.name,
        kind=args.kind,
        render=args.render,
        use_presets=not args.no_preset,
        fetch=lambda url: fetch_html(url, render=args.render).html,
    )
    path = None if args.print else write_draft(draft, sites_dir(), force=args.force)
    if args.json:
        print(
            json.dumps(
                {
                    "name": draft.name,
                    "kind": draft.kind,
                    "preset": draft.preset,
                    "path": str(path) if path else None,
                    "rows": draft.rows,
                    "selectors": draft.selectors,
                    "keys": draft.keys,
                    "missing": draft.missing,
                },
                ensure_ascii=False,
            )
        )
        return 0
    if args.print:
        print(draft.to_toml(), end="")
        return 0
    from monitor.render import console, plain

    out = console()
    how = f"preset {draft.preset}" if draft.preset else "read by structure"
    out.print(plain(f"wrote {path} ({draft.kind}, {how}, {draft.rows} rows on the page)"))
    for note in draft.missing:
        out.print(plain(f"! to do: {note}", style="yellow"))
    out.print(plain(f"next: heishi sources check {draft.name}"))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from monitor.errors import HeishiError
    from spiders.check import check_site

    result = check_site(args.name, rows=args.rows)
    if args.json:
        print(json.dumps(result.as_dict(), ensure_ascii=False))
    else:
        _render_check(result)
    if result.empty:
        # The page says there is nothing to list: an empty source, the selectors are fine.
        return 0
    if not result.items:
        from monitor.running.source_health import cause_of

        reasons = "; ".join(result.problems) or "no listing was read"
        stats = result.stats
        cause = cause_of(stats, "failed", False, 0)
        if cause is not None and cause.health not in ("failing", "empty"):
            hint = cause.fix
        elif stats.get("heishi/list_page_errors"):
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
    if result.empty:
        console.print(
            plain("the page says this source has no listings: an empty source", style="green")
        )
    for problem in result.problems:
        console.print(plain(f"! {problem}", style="yellow"))
    for warning in result.warnings:
        console.print(plain(f"! {warning}", style="yellow"))
    for number, item in enumerate(result.items, 1):
        verdict = result.verdicts[number - 1] if number <= len(result.verdicts) else None
        heading = f"listing {number}"
        if verdict is not None:
            heading += (
                f": ALERT (score {verdict['score']:g}, {', '.join(verdict['categories']) or '-'})"
                if verdict["alert"]
                else f": no alert (score {verdict['score']:g})"
            )
        table = Table(title=heading, title_justify="left", box=None, show_header=False)
        table.add_column("field", style="bold", no_wrap=True)
        table.add_column("value", overflow="fold")
        for name, value in item.items():
            if isinstance(value, dict):
                shown = json.dumps(value, ensure_ascii=False)
            else:
                shown = "" if value is None else str(value)
            if name == "text" and len(shown) > 400:
                shown = shown[:400] + f"… ({len(shown)} characters)"
            table.add_row(plain(name), plain(shown) if shown else plain("none", style="dim"))
        if verdict is not None:
            why = verdict["why"]
            if verdict["terms"]:
                why = f"{why}; terms: {', '.join(verdict['terms'])}"
            table.add_row(plain("why"), plain(why))
        console.print(table)
