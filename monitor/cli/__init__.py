"""The `heishi` command line: a thin layer that parses, calls library functions and renders."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from monitor.cli.app import run

    return run(sys.argv[1:] if argv is None else argv)
