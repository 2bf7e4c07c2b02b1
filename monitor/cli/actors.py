"""`heishi actors` (every actor, or those of a source or contact) and `heishi actor
show|watch|unwatch|watches`: who sells it, under which names, where, since when."""

from __future__ import annotations

import argparse
import json
from typing import Any

from monitor import settings
from monitor.cli.app import add_db_option, store_path
from monitor.numbers import whole_number_argument

SORTS = ("alerts", "listings", "recent", "sources")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    listing = sub.add_parser("actors", help="sellers grouped into actors across sources")
    add_db_option(listing)
    listing.add_argument("--source", help="actors with a seller on this source")
    listing.add_argument(
        "--contact",
        metavar="KIND:VALUE",
        help="actors that named this contact (telegram:NAME, qq:N, wechat:ID, email:..., "
        "phone:N (looked up by its keyed hash), trc20:/btc:/eth: ADDRESS)",
    )
    listing.add_argument(
        "--min-aliases", type=whole_number_argument(), default=1, help="at least this many sellers"
    )
    listing.add_argument("--sort", choices=SORTS, default="alerts")
    listing.add_argument("--limit", type=whole_number_argument(), default=50)
    listing.add_argument("--json", action="store_true", help="print JSON lines, one actor each")
    listing.add_argument(
        "--rebuild",
        action="store_true",
        help="link every stored version again from empty actor tables (watches are kept)",
    )
    listing.set_defaults(func=cmd_actors)

    actor = sub.add_parser(
        "actor",
        help="one actor: aliases, contacts, links, offers, activity; watch an actor or contact",
    )
    actions = actor.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="an actor's aliases, contacts, links and listings")
    show.add_argument("actor_id", type=whole_number_argument(), metavar="ID")
    add_db_option(show)
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_actor_show)
    watch = actions.add_parser(
        "watch", help="alert (kind actor_seen) on every new listing of an actor or contact"
    )
    target = watch.add_mutually_exclusive_group(required=True)
    target.add_argument("actor_id", nargs="?", type=whole_number_argument(), metavar="ID")
    target.add_argument("--contact", metavar="KIND:VALUE", help="watch a contact instead")
    watch.add_argument("--note", help="why (shown with the watch)")
    watch.add_argument("--by", default=settings.login_name(), help="who (default $USER)")
    add_db_option(watch)
    watch.set_defaults(func=cmd_actor_watch)
    unwatch = actions.add_parser("unwatch", help="end a watch")
    unwatch.add_argument("watch_id", type=whole_number_argument(), metavar="WATCH_ID")
    unwatch.add_argument("--by", default=settings.login_name())
    add_db_option(unwatch)
    unwatch.set_defaults(func=cmd_actor_unwatch)
    watches = actions.add_parser("watches", help="the open watches")
    add_db_option(watches)
    watches.add_argument("--json", action="store_true")
    watches.set_defaults(func=cmd_actor_watches)


def parse_contact(text: str) -> tuple[str, str, str]:
    """`KIND:VALUE` as (kind, value shown, key in the store); a phone number is looked up by
    its keyed hash with this install's secret and never kept in clear."""
    from monitor.actors.identities import KINDS, PAYMENT_KINDS
    from monitor.errors import HeishiError

    kind, _, value = text.partition(":")
    kind, value = kind.strip().lower(), value.strip()
    if kind not in KINDS or not value:
        raise HeishiError(
            f"not a contact: {text!r}", hint=f"write KIND:VALUE, KIND one of {', '.join(KINDS)}"
        )
    if kind == "phone":
        from monitor.config import install_secret
        from monitor.privacy.pii import digest_of, mask_keep

        digits = "".join(c for c in value if c.isdigit())
        if len(digits) < 11:
            raise HeishiError(f"not a mobile number: {value!r}")
        lead, tail = mask_keep()
        shown = digits[:lead] + "*" * (len(digits) - lead - tail) + digits[len(digits) - tail :]
        return kind, shown, digest_of("phone", digits, install_secret())
    if kind not in PAYMENT_KINDS or kind == "eth" or value.lower().startswith("bc1"):
        value = value.lower()
    return kind, value, value


def cmd_actors(args: argparse.Namespace) -> int:
    from monitor.config import db_path
    from monitor.store import open_store

    if args.rebuild:
        from monitor.actors.backfill import rebuild

        with open_store(store_path(args)) as store:
            count = rebuild(store)
        print(f"linked {count} versions again")
        return 0
    with open_store(db_path(args.db), readonly=True) as store:
        contact_id = None
        if args.contact:
            kind, _, key = parse_contact(args.contact)
            found = store.actor_reads.find_contact(kind, key)
            if found is None:
                return _none(args, f"no listing named {kind}:{args.contact.partition(':')[2]}")
            contact_id = found["id"]
        actors = store.actor_reads.actors(
            source=args.source,
            contact_id=contact_id,
            min_sellers=args.min_aliases,
            sort=args.sort,
            limit=args.limit,
        )
    if args.json:
        for actor in actors:
            print(json.dumps(actor, ensure_ascii=False, default=str))
        return 0
    from rich.table import Table

    from monitor.render import console, plain

    table = Table(title=f"Actors ({len(actors)})", title_justify="left")
    for column in (
        "id",
        "aliases (seller @ source)",
        "listings",
        "contacts",
        "alerts",
        "last seen",
    ):
        table.add_column(column, justify="right" if column in ("id", "listings") else "left")
    for actor in actors:
        table.add_row(
            plain(actor["actor_id"]),
            plain((actor["aliases"] or "").replace(", ", "\n"), style="bold"),
            plain(actor["listings"]),
            plain(actor["contacts"]),
            plain(f"{actor['alerts']} ({actor['open_alerts']} open)"),
            plain((actor["last_seen"] or "")[:10]),
        )
    console().print(table)
    return 0


def _none(args: argparse.Namespace, message: str) -> int:
    if not args.json:
        print(message)
    return 0


def cmd_actor_show(args: argparse.Namespace) -> int:
    from monitor.actors.profile import load_actor
    from monitor.config import db_path
    from monitor.errors import HeishiError
    from monitor.store import open_store

    with open_store(db_path(args.db), readonly=True) as store:
        profile = load_actor(store, args.actor_id)
    if profile is None:
        raise HeishiError(f"no actor {args.actor_id} in the store", hint="see `heishi actors`")
    if args.json:
        print(json.dumps(profile.as_json(), ensure_ascii=False, default=str))
        return 0
    _print_profile(profile)
    return 0


def _print_profile(profile: Any) -> None:
    from rich.table import Table

    from monitor.render import console, plain

    out = console()
    header = plain(f"actor {profile.actor_id}  ", style="dim")
    header.append_text(plain(profile.name, style="bold"))
    header.append_text(
        plain(
            f"  {profile.sellers} aliases on {', '.join(profile.sources)}; {profile.listings} "
            f"listings; seen {profile.first_seen} → {profile.last_seen}"
        )
    )
    out.print(header, highlight=False)
    if profile.categories:
        offered = ", ".join(f"{c['category']} ({c['listings']})" for c in profile.categories)
        out.print(plain(f"offers: {offered}", style="magenta"), highlight=False)
    if profile.volume_max:
        out.print(
            plain(
                f"volume: up to {profile.volume_max:,} records in one offer; "
                f"{profile.volume_live:,} in its live listings"
            ),
            highlight=False,
        )
    aliases = Table(title="Aliases", title_justify="left")
    for column in ("seller", "source", "listings", "first seen", "last seen"):
        aliases.add_column(column)
    for seller in profile.aliases:
        aliases.add_row(
            plain(seller["handle"], style="bold"),
            plain(seller["source"], style="cyan"),
            plain(seller["listings"]),
            plain(seller["first_seen"]),
            plain(seller["last_seen"]),
        )
    out.print(aliases)
    if profile.contacts:
        contacts = Table(title="Contacts", title_justify="left")
        for column in ("contact", "listings", "used by", "sellers anywhere"):
            contacts.add_column(column)
        for contact in profile.contacts:
            contacts.add_row(
                plain(f"{contact['kind']}:{contact['value']}"),
                plain(contact["listings"]),
                plain(contact["used_by"]),
                plain(contact["sellers"]),
            )
        out.print(contacts)
    if profile.links:
        out.print(plain("Links", style="italic"), highlight=False)
        for link in profile.links:  # one line each, however narrow the terminal
            line = plain(f"  {link['since']}  ", style="dim")
            line.append_text(plain(f"{link['seller']} @ {link['seller_source']}", style="bold"))
            line.append(" — ")
            line.append_text(plain(f"{link['other']} @ {link['other_source']}", style="bold"))
            line.append_text(plain(f": {link_reason(link)}"))
            out.print(line, highlight=False, soft_wrap=True)
    listings = Table(title="Listings", title_justify="left")
    for column in ("id", "source", "seller", "title", "price", "volume", "status", "last seen"):
        listings.add_column(column)
    for listing in profile.listings_shown:
        listings.add_row(
            plain(listing["id"]),
            plain(listing["source"], style="cyan"),
            plain(listing["seller"]),
            plain(listing["title"]),
            plain(listing["price_text"] or ""),
            plain(listing["volume_text"] or ""),
            plain(listing["status"]),
            plain(listing["last_seen"]),
        )
    out.print(listings)
    if profile.triage:
        states = ", ".join(f"{n} {s}" for s, n in sorted(profile.triage.items()))
        out.print(plain(f"alerts: {states}"), highlight=False)


def link_reason(link: dict[str, Any]) -> str:
    """Why two sellers are linked, in words."""
    if link["reason"] == "cluster":
        return f"the same offer (near-duplicate cluster {link['cluster_id']})"
    what = "payment address" if link["reason"] == "payment" else "contact"
    return f"shared {what} {link['contact_kind']}:{link['contact_value']}"


def cmd_actor_watch(args: argparse.Namespace) -> int:
    from monitor.actors.identities import ContactRef
    from monitor.errors import HeishiError
    from monitor.store import open_store, utc_now

    with open_store(store_path(args)) as store, store.transaction():
        if args.contact:
            kind, shown, key = parse_contact(args.contact)
            digest = key if kind == "phone" else None
            contact_id = store.actors.contact_id(ContactRef(kind, shown, digest), None)
            watch_id = store.actors.add_watch(
                contact_id=contact_id, by=args.by, now=utc_now(), note=args.note
            )
            what = f"contact {kind}:{shown}"
        else:
            actor_id = store.actor_reads.resolve_actor(args.actor_id)
            if actor_id is None:
                raise HeishiError(f"no actor {args.actor_id} in the store")
            watch_id = store.actors.add_watch(
                seller_id=actor_id, by=args.by, now=utc_now(), note=args.note
            )
            what = f"actor {actor_id}"
    print(f"watch {watch_id}: {what} (alerts of kind actor_seen)")
    return 0


def cmd_actor_unwatch(args: argparse.Namespace) -> int:
    from monitor.errors import HeishiError
    from monitor.store import open_store, utc_now

    with open_store(store_path(args)) as store, store.transaction():
        ended = store.actors.end_watch(args.watch_id, by=args.by, now=utc_now())
    if not ended:
        raise HeishiError(f"no open watch {args.watch_id}", hint="see `heishi actor watches`")
    print(f"watch {args.watch_id} ended")
    return 0


def cmd_actor_watches(args: argparse.Namespace) -> int:
    from monitor.config import db_path
    from monitor.store import open_store

    with open_store(db_path(args.db), readonly=True) as store:
        watches = store.actor_reads.watches()
    if args.json:
        for watch in watches:
            print(json.dumps(watch, ensure_ascii=False, default=str))
        return 0
    from monitor.render import console, plain

    out = console()
    if not watches:
        out.print("[dim]no open watches[/dim]")
    for watch in watches:
        if watch["seller_id"] is not None:
            what = f"actor {watch['actor_id']} ({watch['handle']} @ {watch['source']})"
        else:
            what = f"contact {watch['contact_kind']}:{watch['contact_value']}"
        line = plain(f"#{watch['id']} {what}  by {watch['created_by']} {watch['created_at']}")
        if watch.get("note"):
            line.append_text(plain(f"  {watch['note']}", style="dim"))
        out.print(line, highlight=False)
    return 0
