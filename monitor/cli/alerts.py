"""`heishi alerts`: the alerts in the store, filtered, for people or scripts."""

from __future__ import annotations

import argparse
import json

from monitor.cli.app import add_db_option
from monitor.numbers import whole_number_argument


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("alerts", help="list alerts (newest first)")
    add_db_option(parser)
    parser.add_argument("--status", help="open, acknowledged, confirmed, dismissed, ...")
    parser.add_argument("--severity", choices=("low", "medium", "high", "critical"))
    parser.add_argument("--category", help="a category id, e.g. identity")
    parser.add_argument(
        "--kind", help="new, changed, removed, relisted, reposted, retrohunt, source_failing, ..."
    )
    parser.add_argument("--source", help="a source name")
    parser.add_argument("--since", help="ISO date or time, e.g. 2026-11-01")
    parser.add_argument("--limit", type=whole_number_argument(), default=200)
    parser.add_argument("--json", action="store_true", help="print JSON lines, one alert each")
    parser.set_defaults(func=cmd_alerts)


def cmd_alerts(args: argparse.Namespace) -> int:
    from monitor.config import db_path
    from monitor.store import open_store

    with open_store(db_path(args.db), readonly=True) as store:
        alerts = store.alerts(
            status=args.status,
            severity=args.severity,
            category=args.category,
            kind=args.kind,
            source=args.source,
            since=args.since,
            limit=args.limit,
        )
        if args.json:
            for alert in alerts:
                alert["categories"] = json.loads(alert["categories"] or "[]")
                alert["diff"] = json.loads(alert["diff"]) if alert.get("diff") else None
                print(json.dumps(alert, ensure_ascii=False, default=str))
            return 0
        from monitor.render import console, print_alerts

        print_alerts(console(), alerts, store)
    return 0
