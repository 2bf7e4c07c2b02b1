"""`heishi lookup`: did a phone, ID or card number appear in any listing, and where."""

from __future__ import annotations

import argparse
import json
import sys

from monitor.cli.app import add_db_option


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "lookup",
        help="whether a phone, ID or card number appeared in any listing (by keyed hash)",
        description="Looks a number up by its keyed hash: the store holds no clear numbers. "
        "Give '-' to read the number from standard input (kept out of the shell history).",
    )
    add_db_option(parser)
    number = parser.add_mutually_exclusive_group(required=True)
    number.add_argument("--phone", metavar="NUMBER", help="a mainland mobile number")
    number.add_argument("--id", metavar="NUMBER", help="an 18-character ID number")
    number.add_argument("--card", metavar="NUMBER", help="a bank card number")
    parser.add_argument("--json", action="store_true", help="print the answer as JSON")
    parser.set_defaults(func=cmd_lookup)


def cmd_lookup(args: argparse.Namespace) -> int:
    from monitor.config import db_path, secret_path
    from monitor.errors import HeishiError
    from monitor.lookup import lookup
    from monitor.store import open_store

    kind, number = next(
        (kind, value)
        for kind, value in (("phone", args.phone), ("id_number", args.id), ("bank_card", args.card))
        if value is not None
    )
    if number == "-":
        number = sys.stdin.readline()
    key_path = secret_path()
    # Never create a key here: a new one would silently find nothing.
    if not key_path.exists():
        raise HeishiError(
            f"no install secret at {key_path}: the store's hashes were made with its key",
            hint="set HEISHI_SECRET_FILE to the key file the crawls use",
        )
    secret = bytes.fromhex(key_path.read_text().strip())
    with open_store(db_path(args.db), readonly=True) as store:
        result = lookup(store, kind, number, secret, key_source=f"the key in {key_path}")
    if result.other_keys:
        print(
            f"heishi: {result.other_keys} other key(s) also hashed numbers in this store; "
            "numbers they hashed cannot be found with this one",
            file=sys.stderr,
        )
    elif not result.key_checked and not result.found:
        print(
            "heishi: this store does not record which key hashed its numbers; if it was not "
            f"the key in {key_path}, nothing can be found",
            file=sys.stderr,
        )
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
        return 0
    _print_result(result)
    return 0


def _print_result(result) -> None:
    from rich.table import Table

    from monitor.lookup import KIND_NAMES
    from monitor.render import console as make_console
    from monitor.render import plain

    console = make_console()
    line = plain(f"{KIND_NAMES[result.kind]} ") + plain(result.masked, style="bold")
    if not result.found:
        console.print(line + plain(": not seen in any listing"))
        return
    console.print(
        line
        + plain(
            f": in {result.listings} listing(s), {result.versions} version(s), on "
            f"{', '.join(result.sources)}; first seen {result.first_seen}, "
            f"last seen {result.last_seen}"
        )
    )
    table = Table("listing", "source", "title", "status", "versions", "first seen", "last seen")
    for s in result.sightings:
        table.add_row(
            *(
                plain(value)
                for value in (
                    s.listing_id,
                    f"{s.source}:{s.site_id}",
                    s.title or "",
                    s.status + ("" if s.in_current_version else " (no longer quoted)"),
                    s.versions,
                    s.first_seen or "",
                    s.last_seen or "",
                )
            )
        )
    console.print(table)
