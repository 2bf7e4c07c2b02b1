"""`heishi datasette`: browse and query the store in Datasette, read-only."""

from __future__ import annotations

import argparse

from monitor.cli.app import add_db_option


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "datasette",
        help="open the store read-only in Datasette, with heishi's views and canned queries",
    )
    add_db_option(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8001, help="port (0: any free one)")
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer requests for this host name (repeatable; also $HEISHI_DATASETTE_HOSTS); "
        "loopback names and --host are always answered, any other Host header is refused",
    )
    parser.set_defaults(func=cmd_datasette)


def cmd_datasette(args: argparse.Namespace) -> int:
    import sys

    from monitor.config import db_path
    from monitor.datasette import serve
    from monitor.store import SCHEMA_VERSION, open_store

    path = db_path(args.db).resolve()
    with open_store(path, readonly=True) as store:  # says clearly when there is no store
        version = store.conn.execute("PRAGMA user_version").fetchone()[0]
    if version < SCHEMA_VERSION:
        print(
            f"heishi: {path} is at schema version {version} (this heishi: {SCHEMA_VERSION}); "
            "views may be missing until a sweep upgrades it",
            file=sys.stderr,
        )
    return serve(path, args.host, args.port, args.allow_host)
