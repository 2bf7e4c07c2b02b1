"""`heishi sweep [SOURCE...]`: crawl sources into the store and show what changed."""

from __future__ import annotations

import argparse
import json
import sys

from monitor.cli.app import add_db_option, store_path
from monitor.numbers import whole_number_argument


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("sweep", help="crawl sources into the store and show what changed")
    parser.add_argument("sources", nargs="*", metavar="SOURCE", help="default: every enabled one")
    add_db_option(parser, create=True)
    parser.add_argument(
        "--jobs",
        type=whole_number_argument(maximum=256),
        default=3,
        help="crawls at once (default 3)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        help="seconds per crawl (default $HEISHI_CRAWL_TIMEOUT, else 600)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=cmd_sweep)


def cmd_sweep(args: argparse.Namespace) -> int:
    from monitor.config_files import check_config_files
    from monitor.matching.keywords import load_keywords
    from monitor.render import console as make_console
    from monitor.render import plain, print_alerts, sweep_table
    from monitor.running.sources import source_refs
    from monitor.running.sweep import sweep_sources
    from monitor.settings import current as current_settings
    from monitor.store import open_store

    refs = source_refs(args.sources)
    load_keywords()  # a broken keyword or config file stops here, before any crawl starts
    check_config_files()
    db = store_path(args)
    if not refs:
        print("heishi: no enabled sources to sweep (see `heishi sources list`)", file=sys.stderr)
        return 1
    console = make_console(stderr=args.json)
    with console.status(plain(f"sweeping {len(refs)} source(s) into {db}")) as status:
        results = sweep_sources(
            refs,
            db,
            jobs=args.jobs,
            timeout=args.timeout if args.timeout is not None else current_settings().crawl_timeout,
            on_done=lambda r: status.update(plain(f"{r.source}: {r.status}")),
        )
    run_ids = [r.run["id"] for r in results if r.run]
    skipped = [r for r in results if r.status == "busy"]
    for result in skipped:  # another crawl of it was running: nothing was crawled
        print(f"heishi: {result.source} skipped: {result.error}", file=sys.stderr)
    with open_store(db) as store:
        alerts = store.alerts.where(run_ids=run_ids)
        if args.json:
            print(
                json.dumps(
                    {
                        "db": str(db),
                        "runs": [r.run for r in results if r.run],
                        "skipped": [{"source": r.source, "error": r.error} for r in skipped],
                        "alerts": alerts,
                    },
                    ensure_ascii=False,
                    default=str,
                )
            )
        else:
            console.print(sweep_table(results, title=plain(f"Sweep into {db}")))
            print_alerts(console, alerts, store)
    return 0 if all(r.status not in ("failed", "crashed", "busy") for r in results) else 1
