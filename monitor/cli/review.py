"""`heishi alert show ID`, `heishi alert set ID STATUS --note`, `heishi history LISTING`."""

from __future__ import annotations

import argparse
import json
import os

from monitor.cli.app import add_db_option, store_path
from monitor.numbers import whole_number_argument


def register(sub: argparse._SubParsersAction) -> None:
    alert = sub.add_parser("alert", help="show one alert, or change its status")
    actions = alert.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser(
        "show", help="an alert, its listing's versions as diffs, its audit trail"
    )
    show.add_argument("alert_id", type=whole_number_argument(), metavar="ID")
    add_db_option(show)
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_alert_show)
    change = actions.add_parser(
        "set", help="set an alert's status, with a note for the audit trail"
    )
    change.add_argument("alert_id", type=whole_number_argument(), metavar="ID")
    change.add_argument(
        "status",
        choices=("open", "acknowledged", "confirmed", "dismissed", "escalated", "resolved"),
    )
    change.add_argument("--note", help="why (kept in the audit trail)")
    change.add_argument(
        "--actor", default=os.environ.get("USER") or "cli", help="who (default $USER)"
    )
    add_db_option(change)
    change.set_defaults(func=cmd_alert_set)
    history = sub.add_parser("history", help="every version of a listing, as diffs")
    history.add_argument("listing", metavar="LISTING", help="a listing id, or SOURCE:SITE_ID")
    add_db_option(history)
    history.add_argument("--json", action="store_true")
    history.set_defaults(func=cmd_history)


def _find_listing(store, ref: str) -> dict:
    from monitor.errors import HeishiError
    from monitor.numbers import NotANumber, whole_number

    if ref.isdigit():
        try:
            found = store.listing(whole_number(ref))
        except NotANumber as exc:
            raise HeishiError(f"no listing: {exc}", hint="use an id or SOURCE:SITE_ID") from None
    elif ":" in ref:
        source, site_id = ref.split(":", 1)
        found = store.listing_by_key(source, site_id)
    else:
        found = None
    if not found:
        raise HeishiError(f"no listing {ref!r} in the store", hint="use an id or SOURCE:SITE_ID")
    return found


def cmd_alert_show(args: argparse.Namespace) -> int:
    from monitor.config import db_path
    from monitor.errors import HeishiError
    from monitor.store import open_store

    with open_store(db_path(args.db), readonly=True) as store:
        alerts = store.alerts(alert_id=args.alert_id)
        if not alerts:
            raise HeishiError(f"no alert {args.alert_id} in the store")
        alert = alerts[0]
        versions = store.versions(alert["listing_id"]) if alert.get("listing_id") else []
        events = store.alert_events(alert["id"])
        actor = _actor(store, alert.get("listing_id"))
        if args.json:
            print(
                json.dumps(
                    {"alert": alert, "versions": versions, "events": events, "actor": actor},
                    ensure_ascii=False,
                    default=str,
                )
            )
            return 0
        from monitor.render import alert_panel, console, events_table, versions_view

        console = console()
        hits = store.matches_of_version(alert["version_id"]) if alert.get("version_id") else []
        console.print(alert_panel(alert, hits))
        if actor:
            console.print(_actor_line(actor), highlight=False)
        if versions:
            console.print(versions_view(versions))
        console.print(events_table(events))
    return 0


def cmd_alert_set(args: argparse.Namespace) -> int:
    from monitor.errors import HeishiError
    from monitor.store import open_store, utc_now

    with open_store(store_path(args)) as store:
        if not store.alerts_by_ids([args.alert_id]):
            raise HeishiError(f"no alert {args.alert_id} in the store")
        with store.transaction():
            store.set_alert_status(
                args.alert_id, args.status, actor=args.actor, note=args.note, now=utc_now()
            )
    print(f"alert {args.alert_id}: {args.status}")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from monitor.config import db_path
    from monitor.store import open_store

    with open_store(db_path(args.db), readonly=True) as store:
        listing = _find_listing(store, args.listing)
        versions = store.versions(listing["id"])
        observations = store.observations(listing["id"])
        actor = _actor(store, listing["id"])
        if args.json:
            print(
                json.dumps(
                    {
                        "listing": listing,
                        "versions": versions,
                        "observations": observations,
                        "actor": actor,
                    },
                    ensure_ascii=False,
                    default=str,
                )
            )
            return 0
        from monitor.render import console, counters_view, plain, versions_view

        console = console()
        header = plain(listing["title"], style="bold")
        header.append_text(plain(f"  {listing['source']}:{listing['site_id']}", style="cyan"))
        header.append_text(
            plain(
                f"  {listing['status']}  first seen {listing['first_seen']}, "
                f"last seen {listing['last_seen']}"
            )
        )
        console.print(header)
        if actor:
            console.print(_actor_line(actor), highlight=False)
        console.print(versions_view(versions))
        if observations:
            console.print(counters_view(observations))
    return 0


def _actor(store, listing_id: int | None) -> dict | None:
    """The listing's seller and actor (None for an anonymous listing, or a store opened
    read-only that predates actors)."""
    if not listing_id or not store.has_actor_tables():
        return None
    return store.listing_actor(listing_id)


def _actor_line(actor: dict):
    from monitor.render import plain

    line = plain(f"seller {actor['handle']} on {actor['source']}: actor {actor['actor_id']}")
    if actor["sellers"] > 1:
        line.append_text(
            plain(f" ({actor['sellers']} aliases; heishi actor show {actor['actor_id']})")
        )
    return line
