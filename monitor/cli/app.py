"""The command table. Each command module registers its subcommands; handlers import what
they need (Scrapy, jieba, rich) only when they run, so `heishi --help` answers at once."""

from __future__ import annotations

import argparse
import importlib
import sys

# Modules that add subcommands, in the order `heishi --help` lists them.
COMMAND_MODULES = (
    "monitor.cli.demo",
    "monitor.cli.sweep",
    "monitor.cli.run",
    "monitor.cli.alerts",
    "monitor.cli.review",
    "monitor.cli.search",
    "monitor.cli.lookup",
    "monitor.cli.export",
    "monitor.cli.retrohunt",
    "monitor.cli.notify",
    "monitor.cli.sources",
    "monitor.cli.keywords",
    "monitor.cli.web",
    "monitor.cli.datasette",
    "monitor.cli.distributed",
    "monitor.cli.bench",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="heishi",
        description="黑市 heishi: find, match and monitor listings that sell stolen personal data.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue  # a command module that is not part of this build
        module.register(sub)
    return parser


def _version() -> str:
    from monitor import __version__

    return f"heishi {__version__}"


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", metavar="PATH", help="the store (default: $HEISHI_DB, else ./heishi.db)"
    )


def run(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("heishi: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        from monitor.errors import HeishiError

        if args.debug or not isinstance(exc, HeishiError):
            if not isinstance(exc, HeishiError):
                print(f"heishi: unexpected error: {exc!r}", file=sys.stderr)
            raise
        print(f"heishi: error: {exc}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return 2
