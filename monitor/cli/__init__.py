"""The `heishi` command line: a thin layer that parses, calls library functions and renders."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from monitor.cli.app import run
    from monitor.privacy.file_modes import restrict_umask

    restrict_umask()  # the store, logs, evidence and exports are for this user alone
    return run(sys.argv[1:] if argv is None else argv)
