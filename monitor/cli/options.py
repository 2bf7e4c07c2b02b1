"""Options several commands share, defined once: the alert filters (closed vocabularies as
`choices`, so a mistyped value exits 2 and lists the valid ones) and `--since`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from monitor.timespec import SINCE_HINT, since_argument
from monitor.vocabulary import ALERT_KINDS, ALERT_STATUSES, CATEGORIES, SEVERITIES

if TYPE_CHECKING:
    from monitor.store.filters import Filters


def add_since_option(parser: argparse.ArgumentParser, what: str = "alerts raised") -> None:
    """--since WHEN, parsed into the store's time (a bad value is a usage error)."""
    parser.add_argument(
        "--since",
        metavar="WHEN",
        type=since_argument,
        help=f"only {what} since then: a duration back from now or a date/time ({SINCE_HINT}; "
        "UTC unless a zone is given)",
    )


def add_alert_filters(
    parser: argparse.ArgumentParser,
    *,
    statuses: tuple[str, ...] = ALERT_STATUSES,
    since_what: str = "alerts raised",
) -> None:
    """--status --severity --category --kind --source --since, as `heishi alerts` has them."""
    parser.add_argument("--status", choices=statuses, help=", ".join(statuses))
    parser.add_argument("--severity", choices=SEVERITIES, help=", ".join(SEVERITIES))
    parser.add_argument(
        "--category", choices=CATEGORIES, metavar="CATEGORY", help=", ".join(CATEGORIES)
    )
    parser.add_argument("--kind", choices=ALERT_KINDS, metavar="KIND", help=", ".join(ALERT_KINDS))
    parser.add_argument("--source", help="a source name")
    add_since_option(parser, since_what)


def alert_filter_values(args: argparse.Namespace) -> Filters:
    """The filters given on the command line."""
    from monitor.store.filters import Filters

    return Filters(
        status=getattr(args, "status", None),
        severity=getattr(args, "severity", None),
        category=getattr(args, "category", None),
        kind=getattr(args, "kind", None),
        source=getattr(args, "source", None),
        since=getattr(args, "since", None),
    )
