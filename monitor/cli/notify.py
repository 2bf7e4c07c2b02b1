"""`heishi notify send` drains the outbox; `heishi notify status` shows it."""

from __future__ import annotations

import argparse
import json

from monitor.cli.app import add_db_option, store_path
from monitor.cli.options import add_since_option


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("notify", help="send queued notifications, or show the outbox")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    send = actions.add_parser("send", help="send what is due (retries wait for their backoff)")
    add_db_option(send)
    send.add_argument("--config", metavar="FILE", help="routes (default: $HEISHI_NOTIFY_FILE)")
    send.add_argument("--json", action="store_true")
    send.set_defaults(func=cmd_send)
    retry = actions.add_parser(
        "retry",
        help="send now the messages waiting for a retry (--dead: the given-up ones too)",
        description="Make messages that failed due now and send them: those waiting for "
        "their next retry, or with --dead those given up (dead), as new. --since and --route "
        "narrow it down.",
    )
    add_db_option(retry)
    retry.add_argument("--dead", action="store_true", help="the given-up (dead) messages")
    add_since_option(retry, "messages created")
    retry.add_argument("--route", metavar="NAME", help="only this route's messages")
    retry.add_argument("--config", metavar="FILE", help="routes (default: $HEISHI_NOTIFY_FILE)")
    retry.add_argument("--json", action="store_true")
    retry.set_defaults(func=cmd_retry)
    status = actions.add_parser("status", help="the outbox: pending, sent and dead messages")
    add_db_option(status)
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)


def cmd_send(args: argparse.Namespace) -> int:
    from monitor.alerting.notify import drain_outbox
    from monitor.alerting.notify_config import load_notify_config

    result = drain_outbox(store_path(args), load_notify_config(args.config))
    if args.json:
        print(json.dumps(result.__dict__, ensure_ascii=False))
    else:
        print(
            f"sent {result.sent}, failed {result.failed} (will retry), dead {result.dead}, "
            f"held for digests {result.waiting}"
        )
        from monitor.render import printable

        for error in dict.fromkeys(result.errors):
            print(f"  {printable(error)}")
    return 0 if not result.failed and not result.dead else 1


def cmd_retry(args: argparse.Namespace) -> int:
    from monitor.alerting.notify import drain_outbox
    from monitor.alerting.notify_config import load_notify_config
    from monitor.store import open_store, utc_now

    config = load_notify_config(args.config)  # a broken file stops here, before any change
    since = args.since
    with open_store(store_path(args)) as store:
        requeued = store.outbox.requeue(utc_now(), dead=args.dead, since=since, route=args.route)
    result = drain_outbox(store_path(args), config)
    if args.json:
        print(json.dumps({"requeued": requeued, **result.__dict__}, ensure_ascii=False))
    else:
        print(
            f"requeued {requeued}; sent {result.sent}, failed {result.failed} (will retry), "
            f"dead {result.dead}"
        )
        for error in dict.fromkeys(result.errors):
            print(f"  {error}")
    return 0 if not result.failed and not result.dead else 1


def cmd_status(args: argparse.Namespace) -> int:
    from monitor.config import db_path
    from monitor.store import open_store

    with open_store(db_path(args.db), readonly=True) as store:
        counts = store.outbox.counts()
        stuck = store.outbox.notifications("dead") + store.outbox.notifications("pending")
    if args.json:
        print(json.dumps({"counts": counts, "waiting": stuck}, ensure_ascii=False, default=str))
        return 0
    from rich.table import Table

    from monitor.render import console as make_console
    from monitor.render import plain

    console = make_console()
    console.print(
        "outbox: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "empty")
    )
    if stuck:
        table = Table(box=None, header_style="bold underline")
        for column in ("id", "alert", "route", "status", "attempts", "next try", "last error"):
            table.add_column(column)
        for row in stuck[:50]:
            table.add_row(
                *(
                    plain(row[column] if row[column] is not None else "")
                    for column in (
                        "id",
                        "alert_id",
                        "route",
                        "status",
                        "attempts",
                        "next_attempt_at",
                        "last_error",
                    )
                )
            )
        console.print(table)
    return 0
