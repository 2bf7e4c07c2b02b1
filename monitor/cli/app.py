"""The command table. Each command module registers its subcommands; handlers import what
they need (Scrapy, jieba, rich) only when they run, so `heishi --help` answers at once."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

# Every command: the module that registers it and its one-line help, in the order
# `heishi --help` lists them. The top-level help reads only this table, and a command's module
# is imported only when that command runs, so `heishi --help` starts nearly as fast as Python.
# tests/test_cli.py checks the table against what each module registers.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": (
        "monitor.cli.demo",
        "run the local demo sites, sweep them over three days, show the alerts",
    ),
    "sweep": ("monitor.cli.sweep", "crawl sources into the store and show what changed"),
    "run": (
        "monitor.cli.run",
        "crawl every source on its schedule until stopped (or --once, for cron)",
    ),
    "status": ("monitor.cli.run", "each source's last and next run, the outbox, the monitor"),
    "alerts": ("monitor.cli.alerts", "list alerts (newest first)"),
    "alert": ("monitor.cli.review", "show one alert, or change its status"),
    "history": ("monitor.cli.review", "every version of a listing, as diffs"),
    "search": (
        "monitor.cli.search",
        "full-text search of listings, current and past text (Chinese words segmented)",
    ),
    "lookup": (
        "monitor.cli.lookup",
        "whether a phone, ID or card number appeared in any listing (by keyed hash)",
    ),
    "actors": ("monitor.cli.actors", "sellers grouped into actors across sources"),
    "actor": (
        "monitor.cli.actors",
        "one actor: aliases, contacts, links, offers, activity; watch an actor or contact",
    ),
    "export": (
        "monitor.cli.export",
        "export alerts or listings as CSV, JSON lines, STIX 2.1 or MISP (masked data only)",
    ),
    "retrohunt": (
        "monitor.cli.retrohunt",
        "re-match stored listings with the current keyword rules; alert on new matches",
    ),
    "stats": (
        "monitor.cli.stats",
        "trends: alerts per day, confirm/dismiss rates, reviewer throughput, source health",
    ),
    "notify": ("monitor.cli.notify", "send queued notifications, or show the outbox"),
    "sources": ("monitor.cli.sources", "the configured sources"),
    "keywords": ("monitor.cli.keywords", "try the matcher on a text; check keyword files"),
    "eval": ("monitor.cli.keywords", "precision, recall and categories on labelled listings"),
    "learn": (
        "monitor.cli.learn",
        "retrain the model from confirmed and dismissed alerts; --adopt to use it",
    ),
    "serve": ("monitor.cli.web", "the review web app: alert queue, alerts, sources"),
    "users": ("monitor.cli.web", "the web app's users and their roles"),
    "datasette": (
        "monitor.cli.datasette",
        "open the store read-only in Datasette, with heishi's views and canned queries",
    ),
    "writer": (
        "monitor.cli.distributed",
        "distributed crawling: write the workers' items into the store",
    ),
    "worker": ("monitor.cli.distributed", "distributed crawling: crawl open sweeps on this host"),
    "distributed": ("monitor.cli.distributed", "start distributed sweeps and watch them"),
    "store": (
        "monitor.cli.store",
        "keep the store's file in shape: vacuum, optimize",
    ),
    "bench": (
        "monitor.cli.bench",
        "benchmarks: every one in one table of ratios, or the matcher's alone",
    ),
}
COMMAND_MODULES = tuple(dict.fromkeys(module for module, _ in COMMANDS.values()))


def build_parser(command: str | None = None, *, complete: bool = False) -> argparse.ArgumentParser:
    """The parser for running `command` (its module imported, the others as one-line
    entries), or with every module imported when `complete`."""
    parser = argparse.ArgumentParser(
        prog="heishi",
        description="黑市 heishi: find, match and monitor listings that sell stolen personal data.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = set(COMMAND_MODULES) if complete else {COMMANDS.get(command or "", ("",))[0]}
    registered: set[str] = set()
    for name, (module_name, help_text) in COMMANDS.items():
        if name in registered:
            continue
        if module_name in wanted:
            importlib.import_module(module_name).register(sub)
            registered |= {n for n, (m, _) in COMMANDS.items() if m == module_name}
        else:
            sub.add_parser(name, help=help_text, add_help=False)
    return parser


def _command_of(argv: list[str]) -> str | None:
    """The command word in argv: the first argument that is not a top-level option."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg
    return None


def _version() -> str:
    from monitor import __version__

    return f"heishi {__version__}"


def add_db_option(parser: argparse.ArgumentParser, *, create: bool = False) -> None:
    """--db; with `create`, also --create (a command that may make a new store)."""
    parser.add_argument(
        "--db", metavar="PATH", help="the store (default: $HEISHI_DB, else ./heishi.db)"
    )
    if create:
        parser.add_argument(
            "--create",
            action="store_true",
            help="make a new store at --db if there is none (never made otherwise, so a "
            "mistyped --db is an error, not a new empty store)",
        )


def store_path(args: argparse.Namespace) -> Path:
    """The store of --db ($HEISHI_DB, ./heishi.db), which must exist unless --create."""
    from monitor.config import db_path
    from monitor.errors import StoreError

    path = db_path(args.db)
    if not path.exists() and not getattr(args, "create", False):
        hint = "check --db and $HEISHI_DB"
        if hasattr(args, "create"):
            hint += "; pass --create to make a new store there"
        raise StoreError(f"store {path} does not exist", hint=hint)
    return path


def run(argv: list[str]) -> int:
    parser = build_parser(_command_of(argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # a usage error (2) or --help (0): a code, as from a command
        return exc.code if isinstance(exc.code, int) else 2
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("heishi: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        import sqlite3

        from monitor.errors import HeishiError

        if isinstance(exc, sqlite3.DatabaseError) and not args.debug:
            # A store damaged past its first pages, read-only underneath us, ...: one line.
            print(f"heishi: error: store {_db_of(args)}: {exc}", file=sys.stderr)
            print(
                "hint: check --db and $HEISHI_DB; rerun with --debug for details", file=sys.stderr
            )
            return 2
        from monitor.render import printable

        if args.debug:
            raise
        if not isinstance(exc, HeishiError):
            # A failure no check foresaw (a file that cannot be written, a defect): one line,
            # the traceback on request.
            if isinstance(exc, OSError) and exc.strerror:
                what = exc.strerror + (f": {exc.filename}" if exc.filename else "")
            else:
                what = f"unexpected error: {exc!r}"
            print(f"heishi: error: {printable(what)}", file=sys.stderr)
            print("hint: rerun with --debug to see where it happened", file=sys.stderr)
            return 1

        # Errors quote URLs, page text and file content: never raw on the terminal.
        print(f"heishi: error: {printable(exc)}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {printable(exc.hint)}", file=sys.stderr)
        return 2


def _db_of(args: argparse.Namespace) -> str:
    from monitor.config import db_path

    return str(db_path(getattr(args, "db", None)))
