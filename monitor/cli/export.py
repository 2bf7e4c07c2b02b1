"""`heishi export`: alerts or listings as CSV, JSON lines, a STIX 2.1 bundle or a MISP event."""

from __future__ import annotations

import argparse
import sys

from monitor.cli.app import add_db_option
from monitor.cli.options import add_alert_filters, alert_filter_values
from monitor.vocabulary import ALERT_STATUSES


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "export",
        help="export alerts or listings as CSV, JSON lines, STIX 2.1 or MISP (masked data only)",
    )
    add_db_option(parser)
    parser.add_argument("--format", required=True, choices=("csv", "jsonl", "stix", "misp"))
    parser.add_argument("--what", choices=("alerts", "listings"), default="alerts")
    parser.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")
    parser.add_argument("--bom", action="store_true", help="CSV: start with a UTF-8 BOM (Excel)")
    add_alert_filters(
        parser,
        statuses=(*ALERT_STATUSES, "live", "removed"),
        since_what="alerts raised, or listings last seen,",
    )
    parser.add_argument(
        "--all-listings",
        action="store_true",
        help="listings: include those that did not match (default: matched only)",
    )
    parser.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from monitor.config import db_path
    from monitor.export import export, write_atomically
    from monitor.store import open_store

    filters = alert_filter_values(args)
    if args.what == "listings":
        filters.matched_only = not args.all_listings
    bom = args.bom and args.format == "csv"
    with open_store(db_path(args.db), readonly=True) as store:
        if args.output:
            encoding = "utf-8-sig" if bom else "utf-8"
            with write_atomically(args.output, encoding=encoding) as out:
                count = export(store, args.format, args.what, filters, out)
            print(f"{count} {args.what} written to {args.output}", file=sys.stderr)
        else:
            if bom:
                sys.stdout.write("\ufeff")
            export(store, args.format, args.what, filters, sys.stdout)
    return 0
