"""`heishi store vacuum` and `heishi store optimize`: the store's file kept in shape."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from monitor.cli.app import add_db_option, store_path


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("store", help="keep the store's file in shape: vacuum, optimize")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    vacuum = verbs.add_parser(
        "vacuum",
        help="give space left by migrations and deletions back to the disk (VACUUM)",
        description="Rewrites the store without its free pages. Needs the store to itself "
        "(no sweep running, the monitor stopped) and free disk about the store's size.",
    )
    optimize = verbs.add_parser(
        "optimize",
        help="merge the search index, refresh the query planner's statistics "
        "(ANALYZE, PRAGMA optimize)",
        description="Safe to run often; like vacuum it waits for no sweep: it refuses while "
        "one runs.",
    )
    for parser in (vacuum, optimize):
        add_db_option(parser)
        parser.add_argument("--json", action="store_true", help="print the result as JSON")
    vacuum.set_defaults(func=cmd_vacuum)
    optimize.set_defaults(func=cmd_optimize)


def cmd_vacuum(args: argparse.Namespace) -> int:
    from monitor.store.maintenance import VACUUM_STEPS

    return _maintain(args, "vacuum", VACUUM_STEPS)


def cmd_optimize(args: argparse.Namespace) -> int:
    from monitor.store.maintenance import OPTIMIZE_STEPS

    return _maintain(args, "optimize", OPTIMIZE_STEPS)


def _maintain(args: argparse.Namespace, verb: str, steps: tuple[tuple[str, str], ...]) -> int:
    from monitor.errors import StoreError
    from monitor.store import open_store

    path = store_path(args)
    with open_store(path) as store:
        busy = store.maintenance.busy_reason()
        if busy:
            raise StoreError(
                f"store {path}: not running {verb}: {busy}",
                hint=f"{verb} needs the store to itself: wait for the sweep to end, or stop "
                "heishi run, then retry",
            )
        before = store.maintenance.size()
        started = time.monotonic()
        details: dict[str, Any] = {}
        with _Steps(steps, quiet=args.json) as progress:
            done = getattr(store.maintenance, verb)(progress.step)
            if isinstance(done, dict):
                details = done
        after = store.maintenance.size()
    seconds = round(time.monotonic() - started, 2)
    if args.json:
        print(
            json.dumps(
                {
                    "command": verb,
                    "before": before.as_json(),
                    "after": after.as_json(),
                    "seconds": seconds,
                    **details,
                }
            )
        )
        return 0
    _print_sizes(verb, before, after, seconds)
    return 0


class _Steps:
    """A rich progress display: one line per step, the running one with a spinner and time."""

    def __init__(self, steps: tuple[tuple[str, str], ...], *, quiet: bool) -> None:
        self.steps = steps
        self.quiet = quiet
        self.position = -1
        self.progress: Any = None
        self.task: Any = None

    def __enter__(self) -> _Steps:
        if self.quiet:
            return self
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        from monitor.render import console

        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} steps"),
            TimeElapsedColumn(),
            console=console(stderr=True),
            transient=False,
        )
        self.progress.start()
        self.task = self.progress.add_task("starting", total=len(self.steps))
        return self

    def step(self, name: str) -> None:
        """The maintenance moved on to step `name` (the next one of that name)."""
        self.position += 1
        if self.progress is None:
            return
        description = next(
            (
                text
                for n, (key, text) in enumerate(self.steps)
                if key == name and n >= self.position
            ),
            name,
        )
        self.progress.update(self.task, completed=self.position, description=description)

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.update(self.task, completed=len(self.steps), description="done")
            self.progress.stop()


def _print_sizes(verb: str, before: Any, after: Any, seconds: float) -> None:
    from rich.table import Table

    from monitor.render import console

    table = Table(title=f"heishi store {verb} ({seconds} s)")
    table.add_column("")
    table.add_column("before", justify="right")
    table.add_column("after", justify="right")
    table.add_row("file", _size(before.file_bytes), _size(after.file_bytes))
    table.add_row("WAL", _size(before.wal_bytes), _size(after.wal_bytes))
    table.add_row("free pages", _size(before.free_bytes), _size(after.free_bytes))
    console().print(table)
    saved = before.file_bytes + before.wal_bytes - after.file_bytes - after.wal_bytes
    console().print(f"{_size(max(saved, 0))} given back to the disk")


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{count} B"
