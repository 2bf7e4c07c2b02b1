"""`heishi demo`: demo sites, sweeps over three days, changes and alerts."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "demo", help="run the local demo sites, sweep them over three days, show the alerts"
    )
    parser.add_argument("--db", metavar="PATH", help="store to create (default: a new temp dir)")
    parser.add_argument("--replace", action="store_true", help="replace --db if it exists")
    parser.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from monitor.demo import content
    from monitor.demo.run import run_demo

    result = run_demo(Path(args.db) if args.db else None, replace=args.replace)
    # A demo site that the script takes down that day is meant to fail; nothing else is.
    failed_unexpectedly = [
        r.source
        for day in result.days
        for r in day.results
        if r.status in ("failed", "crashed")
        and not content.site_down(r.source.removeprefix("demo_"), day.day)
    ]
    return 1 if failed_unexpectedly else 0
