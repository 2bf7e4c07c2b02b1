"""One source's crawl in this process: `python -m spiders.crawl SOURCE [--db PATH] [--set K=V]`.

What `heishi sweep` runs in a subprocess per source. Exit status: 0 when the crawl ran to its
end (page errors included: the store judges the run), 2 for a site file that cannot be used
(one line on stderr naming the file and key or line), 3 when another crawl of the source is
running (nothing was crawled), 1 for anything unexpected.
Scrapy's log goes to stderr at INFO.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence
from typing import Any


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m spiders.crawl", description=__doc__)
    parser.add_argument("source", help="the site's name (see `scrapy list`)")
    parser.add_argument("--db", help="the store (default $HEISHI_DB, else ./heishi.db)")
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a Scrapy or HEISHI_* setting (repeatable)",
    )
    parser.add_argument("--stats", metavar="PATH", help="also write the crawl's stats as JSON")
    return parser.parse_args(argv)


def crawl(
    source: str, db: str | None = None, overrides: dict[str, str] | None = None
) -> dict[str, Any]:
    """Crawl `source` to its end in this process; returns the crawler's stats.
    Raises SiteFileError for a site file that cannot be used, KeyError for an unknown name."""
    from monitor.settings import use_scrapy_project

    use_scrapy_project()
    # Imported here, on a shallow stack, rather than deep inside the crawler's start: its
    # deprecated aliases call inspect.stack(), whose cost grows with the stack's depth and the
    # modules loaded (some 0.1 s of CPU a crawl when imported late).
    import scrapy.core.downloader.contextfactory  # noqa: F401
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    from monitor.errors import SourceError
    from monitor.sites import find_site

    settings = get_project_settings()
    for key, value in (overrides or {}).items():
        settings.set(key, value, priority="cmdline")
    if db:
        settings.set("HEISHI_DB", db, priority="cmdline")
    # Validate the site file first, so a bad one is a clear error before anything starts.
    try:
        find_site(source, settings.get("HEISHI_SITES_DIR"))
    except KeyError:
        raise SourceError(source, "no site file defines this source") from None
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(source)
    from scrapy import signals

    crawler.signals.connect(freeze_start_up_heap, signal=signals.spider_opened)
    # A component that fails to start (a broken keyword file, a store that cannot be opened)
    # fails this Deferred; Scrapy would only log it, and the crawl would look like a success.
    failures: list[Any] = []
    process.crawl(crawler).addErrback(failures.append)
    process.start()
    return outcome(crawler, failures[0].value if failures else None)


def freeze_start_up_heap() -> None:
    """Leave what the crawl's start-up built (Scrapy, the keyword lists, the matcher and its
    word cut: some 100,000 objects) out of the garbage collector's full collections, which
    walked it 6 to 8 times in a 2,000-page crawl, 40-140 ms each time, the crawl standing
    still meanwhile. It lives as long as the process (one crawl); garbage is still freed by
    reference counting, and cycles made from here on are collected as before. (A warm worker,
    which lives for many sweeps, does not: docs/scale.md measured no gain there.)"""
    import gc

    gc.freeze()


def outcome(crawler: Any, failure: BaseException | None) -> dict[str, Any]:
    """The stats of a crawl that has ended, or the error it ended with: `failure` (what its
    Deferred failed with), else what its run extension recorded."""
    from monitor.errors import HeishiError
    from spiders.extensions import SweepRunExtension

    if failure is not None:
        raise failure
    extension = SweepRunExtension.of(crawler) if getattr(crawler, "extensions", None) else None
    if extension is not None and isinstance(extension.exception, HeishiError):
        raise extension.exception  # another crawl of the source runs, a broken config file
    if extension is not None and extension.error:
        raise RuntimeError(extension.error)
    if extension is not None and extension.fatal_error:
        raise HeishiError(extension.fatal_error)  # the run is closed as failed with it
    return crawler.stats.get_stats() if crawler.stats else {}


def main(argv: Sequence[str] | None = None) -> int:
    from monitor.privacy.file_modes import restrict_umask

    restrict_umask()  # the store, evidence, cookies and logs it writes are private
    args = parse_args(argv)
    overrides = {}
    for pair in args.settings:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            print(f"heishi: --set needs KEY=VALUE, got {pair!r}", file=sys.stderr)
            return 2
        overrides[key.strip()] = value
    try:
        stats = crawl(args.source, args.db, overrides)
        if args.stats:
            import json
            from pathlib import Path

            Path(args.stats).write_text(json.dumps(stats, default=str, indent=1, sort_keys=True))
    except Exception as exc:  # the sweep runner records the failure from the exit status
        code, said = exit_status(args.source, exc)
        if code == 1:
            import traceback

            traceback.print_exception(exc)
        print(f"heishi: {said}", file=sys.stderr)
        return code
    return 0


def exit_status(source: str, exc: BaseException) -> tuple[int, str]:
    """The exit status of a crawl that raised `exc`, and the line that says why."""
    from monitor.errors import HeishiError, SiteFileError, SourceBusyError, SourceError
    from monitor.running.sweep import EXIT_SOURCE_BUSY

    if isinstance(exc, SiteFileError):
        return 2, f"site file error: {exc}"
    if isinstance(exc, SourceBusyError):
        return EXIT_SOURCE_BUSY, str(exc)
    if isinstance(exc, SourceError | HeishiError):
        return 2, str(exc)
    return 1, f"crawl of {source} crashed: {exc}"


def exit_without_teardown(code: int) -> None:
    """Exit with `code` the quick way once the crawl is over: exit handlers run and output is
    flushed, but the interpreter is not torn down (freeing Scrapy, Twisted, jieba's dictionary
    and the matcher object by object costs a crawl process 0.5-1 s of CPU, and gains nothing:
    the store, the log and the feeds are closed by then). A thread still running (none is,
    after a crawl) gets the ordinary exit, which waits for it."""
    import atexit
    import os
    import threading

    if any(
        t.is_alive() and not t.daemon and t is not threading.main_thread()
        for t in threading.enumerate()
    ):
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(
            OSError, ValueError
        ):  # a closed pipe: nothing more can be said on it
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_without_teardown(main())
