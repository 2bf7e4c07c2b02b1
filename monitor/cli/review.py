"""`heishi alert show ID`, `heishi alert set ID [ID ...] VERB --note` (or `--from-queue` with
the filters of `heishi alerts`), `heishi history LISTING`."""

from __future__ import annotations

import argparse
import json
from typing import Any

from monitor import settings
from monitor.cli.app import add_db_option, store_path
from monitor.cli.options import add_alert_filters, alert_filter_values
from monitor.numbers import whole_number_argument
from monitor.vocabulary import ALERT_STATUSES, DISMISS_REASONS, TRIAGE_VERBS


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    alert = sub.add_parser("alert", help="show one alert, or change its status")
    actions = alert.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser(
        "show", help="an alert, its listing's versions as diffs, its audit trail"
    )
    show.add_argument("alert_id", type=whole_number_argument(), metavar="ID")
    add_db_option(show)
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_alert_show)
    verbs = ", ".join(v for v in TRIAGE_VERBS if v not in ALERT_STATUSES)
    change = actions.add_parser(
        "set",
        help="triage alerts: set their status, with a note for the audit trail",
        description="heishi alert set ID [ID ...] VERB, or heishi alert set --from-queue VERB "
        f"with the filters of `heishi alerts`. VERB is {verbs}, or a status "
        f"({', '.join(ALERT_STATUSES)}).",
    )
    change.add_argument(
        "words",
        nargs="+",
        metavar="ID... VERB",
        help="the alert ids, then what to do (confirm, dismiss, ack, escalate, resolve, reopen "
        "or a status word)",
    )
    change.add_argument("--note", help="why (kept in the audit trail)")
    change.add_argument(
        "--reason", choices=DISMISS_REASONS, help="why a dismissed alert is not a real one"
    )
    change.add_argument("--actor", default=settings.login_name(), help="who (default $USER)")
    change.add_argument(
        "--from-queue",
        action="store_true",
        help="every alert the filters select (only open ones unless --status says otherwise), "
        "instead of ids",
    )
    change.add_argument(
        "--dry-run", action="store_true", help="say which alerts would change; change nothing"
    )
    add_alert_filters(change)
    add_db_option(change)
    change.set_defaults(func=cmd_alert_set)
    history = sub.add_parser("history", help="every version of a listing, as diffs")
    history.add_argument("listing", metavar="LISTING", help="a listing id, or SOURCE:SITE_ID")
    add_db_option(history)
    history.add_argument("--json", action="store_true")
    history.set_defaults(func=cmd_history)


def _find_listing(store, ref: str) -> dict[str, Any]:
    from monitor.errors import HeishiError
    from monitor.numbers import NotANumber, whole_number

    if ref.isdigit():
        try:
            found = store.listings.get(whole_number(ref))
        except NotANumber as exc:
            raise HeishiError(f"no listing: {exc}", hint="use an id or SOURCE:SITE_ID") from None
    elif ":" in ref:
        source, site_id = ref.split(":", 1)
        found = store.listings.by_key(source, site_id)
    else:
        found = None
    if not found:
        raise HeishiError(f"no listing {ref!r} in the store", hint="use an id or SOURCE:SITE_ID")
    return found


def cmd_alert_show(args: argparse.Namespace) -> int:
    from monitor.config import db_path
    from monitor.errors import HeishiError
    from monitor.json_columns import decoded, decoded_rows
    from monitor.store import open_store

    with open_store(db_path(args.db), readonly=True) as store:
        alerts = store.alerts.where(alert_id=args.alert_id)
        if not alerts:
            raise HeishiError(f"no alert {args.alert_id} in the store")
        alert = alerts[0]
        versions = store.listings.versions(alert["listing_id"]) if alert.get("listing_id") else []
        events = store.alerts.events(alert["id"])
        hits = (
            store.listings.matches_of_version(alert["version_id"])
            if alert.get("version_id")
            else []
        )
        actor = _actor(store, alert.get("listing_id"))
        if args.json:
            listing = store.listings.get(alert["listing_id"]) if alert.get("listing_id") else None
            print(
                json.dumps(
                    {
                        "alert": decoded(alert),
                        "listing": decoded(listing) if listing else None,
                        "matches": hits,
                        "versions": decoded_rows(versions),
                        "events": events,
                        "actor": actor,
                    },
                    ensure_ascii=False,
                    default=str,
                )
            )
            return 0
        from monitor.render import alert_panel, events_table, versions_view
        from monitor.render import console as make_console

        console = make_console()
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
    from monitor.vocabulary import status_of_verb

    ids, verb = _ids_and_verb(args)
    status = status_of_verb(verb)
    if status is None:
        raise HeishiError(
            f"{verb!r} is not a triage verb or status",
            hint="use confirm, dismiss, ack, escalate, resolve, reopen or one of "
            + ", ".join(ALERT_STATUSES),
        )
    if args.reason and status != "dismissed":
        raise HeishiError("--reason is for dismissing", hint="drop --reason, or dismiss")
    with open_store(store_path(args)) as store:
        if args.from_queue:
            filters = alert_filter_values(args)
            filters.status = filters.status or "open"
            ids = [a["id"] for a in store.alerts.where(filters)]
            if not ids:
                print("no alert matches those filters")
                return 0
        else:
            missing = sorted(set(ids) - {a["id"] for a in store.alerts.by_ids(ids)})
            if missing:
                raise HeishiError(
                    f"no alert {', '.join(str(i) for i in missing)} in the store",
                    hint="nothing was changed",
                )
        before = {a["id"]: a["status"] for a in store.alerts.by_ids(ids)}
        to_change = [i for i in ids if before[i] != status]
        if args.dry_run:
            print(f"would set {len(to_change)} of {len(ids)} alert(s) to {status}")
            for alert_id in to_change:
                print(f"alert {alert_id}: {before[alert_id]} -> {status}")
            return 0
        now = utc_now()
        store.review.triage_alerts(
            ids, status, actor=args.actor, now=now, note=args.note, reason=args.reason
        )
        if args.note:  # already in that status: keep the note all the same
            for alert_id in ids:
                if before[alert_id] == status:
                    store.review.add_alert_note(alert_id, args.note, actor=args.actor, now=now)
    for alert_id in ids:
        unchanged = " (already)" if before[alert_id] == status else ""
        print(f"alert {alert_id}: {status}{unchanged}")
    if len(ids) > 1:
        print(f"{len(to_change)} of {len(ids)} alert(s) set to {status}")
    return 0


def _ids_and_verb(args: argparse.Namespace) -> tuple[list[int], str]:
    """The alert ids and the verb from `alert set`'s words: IDS... VERB, or VERB alone
    with --from-queue."""
    from monitor.errors import HeishiError
    from monitor.numbers import NotANumber, whole_number

    *numbers, verb = args.words
    given = list(alert_filter_values(args).given())
    if given and not args.from_queue:
        raise HeishiError(
            f"--{given[0]} selects alerts only with --from-queue",
            hint="add --from-queue, or give alert ids alone",
        )
    if args.from_queue:
        if numbers:
            raise HeishiError(
                "give either alert ids or --from-queue, not both",
                hint="heishi alert set --from-queue confirm --source NAME",
            )
        return [], verb
    if not numbers:
        raise HeishiError(
            "which alerts? give their ids before the verb, or --from-queue",
            hint="heishi alert set 70 71 confirm",
        )
    try:
        ids = [whole_number(n) for n in numbers]
    except NotANumber as exc:
        raise HeishiError(f"not an alert id: {exc}") from None
    return list(dict.fromkeys(ids)), verb


def cmd_history(args: argparse.Namespace) -> int:
    from monitor.config import db_path
    from monitor.store import open_store

    with open_store(db_path(args.db), readonly=True) as store:
        listing = _find_listing(store, args.listing)
        versions = store.listings.versions(listing["id"])
        observations = store.observations.of_listing(listing["id"])
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
        from monitor.render import console as make_console
        from monitor.render import counters_view, plain, versions_view

        console = make_console()
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


def _actor(store, listing_id: int | None) -> dict[str, Any] | None:
    """The listing's seller and actor (None for an anonymous listing, or a store opened
    read-only that predates actors)."""
    if not listing_id or not store.actor_reads.has_actor_tables():
        return None
    return store.actor_reads.listing_actor(listing_id)


def _actor_line(actor: dict[str, Any]):
    from monitor.render import plain

    line = plain(f"seller {actor['handle']} on {actor['source']}: actor {actor['actor_id']}")
    if actor["sellers"] > 1:
        line.append_text(
            plain(f" ({actor['sellers']} aliases; heishi actor show {actor['actor_id']})")
        )
    return line
