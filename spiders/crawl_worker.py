"""A warm crawl worker: `python -m spiders.crawl_worker`, crawl after crawl in one reactor.

What `monitor.running.workers` starts a few of, so that a sweep does not pay a new process's
start-up (Scrapy's imports, the keyword lists, the matcher's and the search index's word
cuts: about 1.75 s of CPU) every time. Several crawls run at once in the one reactor; each is
judged as `python -m spiders.crawl` judges its one crawl (spiders.crawl.outcome, exit_status).

It speaks JSON lines. On standard input:
  {"op": "crawl", "id": N, "source": S, "db": PATH, "log": PATH, "settings": {K: V}}
  {"op": "stop", "id": N}     stop that crawl as SIGTERM stops `spiders.crawl` (run interrupted)
On standard output: {"event": "ready", "pid": P} once warm, then for each crawl
  {"event": "done", "id": N, "code": C, "error": TEXT or null, "run_id": R or null, "rss_mb": M}
with C the exit status `python -m spiders.crawl` would have had and R the run it opened. End of input: the running
crawls finish, then the worker exits. SIGTERM or SIGINT: every crawl is stopped, then it exits.
Rendered sources share the worker's Chromium (one per site policy, launched when a crawl first
renders, the last few kept for the next sweeps: spiders/shared_browser.py).
Its own log (Scrapy's, warnings and above) goes to standard error; each crawl's, at INFO, to the
crawl's `log` file.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

KEPT_BROWSERS = 2  # Chromiums no crawl uses kept running for the next crawls


class _CrawlLog(logging.Handler):
    """One crawl's log file: the records that name its spider or crawler, and, while it is the
    only crawl running, the warnings that name none (heishi's own loggers)."""

    def __init__(self, stream: IO[str], crawler: Any, alone: Any) -> None:
        super().__init__(logging.INFO)
        self.stream = stream
        self.crawler = crawler
        self.alone = alone
        self.setFormatter(logging.Formatter("%(asctime)s [%(name)s] %(levelname)s: %(message)s"))

    def filter(self, record: logging.LogRecord) -> bool:
        from spiders.extensions import of_crawler

        mine = of_crawler(record, self.crawler)
        if mine is not None:
            return mine
        return record.levelno >= logging.WARNING and self.alone()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # a full disk: the crawl goes on without its log
            pass


class Worker:
    """The crawls of this process, driven by commands read in a thread and run in the reactor."""

    def __init__(self, reactor: Any, settings: Any, replies: IO[str]) -> None:
        self.reactor = reactor
        self.settings = settings
        self.replies = replies
        self.crawls: dict[int, Any] = {}  # id -> crawler
        self.draining = False  # no more commands will come: exit once the crawls are done
        self.exiting = False
        self.parent = os.getppid()

    def reply(self, message: dict[str, Any]) -> None:
        try:
            self.replies.write(json.dumps(message) + "\n")
            self.replies.flush()
        except (OSError, ValueError):  # the pool is gone: nobody reads, the crawl still ends
            pass

    def read_commands(self, stream: IO[str]) -> None:
        """In a thread: hand each command line to the reactor; at end of input, drain."""
        for line in stream:
            try:
                command = json.loads(line)
            except ValueError:
                continue
            self.reactor.callFromThread(self.command, command)
        # End of input: the pool closed it (finish the crawls), or the process that started
        # this worker died (a monitor killed): stop them, as that monitor's SIGTERM would have.
        # (A dying parent's pipes close before its children are handed to another: wait a
        # moment to tell the two apart.)
        orphaned = False
        for _ in range(20):
            orphaned = os.getppid() != self.parent
            if orphaned:
                break
            time.sleep(0.05)
        self.reactor.callFromThread(self.stop_all if orphaned else self.drain)

    def command(self, command: dict[str, Any]) -> None:
        if command.get("op") == "crawl":
            self.start_crawl(command)
        elif command.get("op") == "stop":
            crawler = self.crawls.get(int(command.get("id", -1)))
            if crawler is not None:
                self.stop(crawler)

    def start_crawl(self, command: dict[str, Any]) -> None:
        from scrapy.crawler import Crawler
        from twisted.internet.defer import maybeDeferred

        from monitor.errors import SourceError
        from monitor.sites import find_site
        from spiders.kinds import spider_class

        crawl_id, source = int(command["id"]), str(command["source"])
        # This crawl's own settings go into the crawler's copy of the worker's (Crawler makes
        # one): a copy of its own as well cost a few ms of every sweep (a deep copy).
        overrides = {**(command.get("settings") or {}), "HEISHI_DB": command["db"]}
        try:
            log: IO[str] = Path(command["log"]).open("a", encoding="utf-8")  # noqa: SIM115
        except (OSError, KeyError, TypeError):
            log = Path(os.devnull).open("w")  # noqa: SIM115 (closed when the crawl ends)
        try:
            try:
                sites = overrides.get("HEISHI_SITES_DIR", self.settings.get("HEISHI_SITES_DIR"))
                site = find_site(source, sites)
            except KeyError:
                raise SourceError(source, "no site file defines this source") from None
            # The site file is read anew for each crawl: an edit counts from the next sweep.
            crawler = Crawler(spider_class(site.kind).for_site(site), self.settings)
            for key, value in overrides.items():  # above the site's own (priority "spider")
                crawler.settings.set(key, value, priority="cmdline")
        except Exception as exc:
            self.finished(crawl_id, source, None, exc, log, None)
            return
        handler = _CrawlLog(log, crawler, lambda: len(self.crawls) == 1)
        logging.getLogger().addHandler(handler)
        self.crawls[crawl_id] = crawler
        done = maybeDeferred(crawler.crawl)
        done.addCallbacks(
            lambda _: self.finished(crawl_id, source, crawler, None, log, handler),
            lambda failure: self.finished(crawl_id, source, crawler, failure.value, log, handler),
        )

    def finished(
        self,
        crawl_id: int,
        source: str,
        crawler: Any,
        failure: BaseException | None,
        log: IO[str],
        handler: logging.Handler | None,
    ) -> None:
        from spiders.crawl import exit_status, outcome

        self.crawls.pop(crawl_id, None)
        if handler is not None:
            logging.getLogger().removeHandler(handler)
        code, error = 0, None
        try:
            if crawler is None:
                raise failure or RuntimeError("the crawl could not be built")
            outcome(crawler, failure)
        except Exception as exc:
            code, error = exit_status(source, exc)
            try:
                if code == 1:
                    import traceback

                    traceback.print_exception(exc, file=log)
                log.write(f"heishi: {error}\n")  # what the runner reads back from the log
            except (OSError, ValueError):
                pass
        log.close()
        stats = getattr(crawler, "stats", None)
        run_id = stats.get_value("heishi/run_id") if stats is not None else None
        self.reply(
            {
                "event": "done",
                "id": crawl_id,
                "code": code,
                "error": error,
                "run_id": run_id,
                "rss_mb": rss_mb(),
            }
        )
        self.maybe_exit()

    def stop(self, crawler: Any) -> None:
        """Stop one crawl as Scrapy stops on SIGTERM: its run is closed as ended early."""
        from scrapy.utils.defer import deferred_from_coro

        if getattr(crawler, "_engine", None) is None:
            return  # not started yet: it has opened nothing, and ends on its own
        deferred_from_coro(crawler.stop_async()).addErrback(lambda _: None)

    def stop_all(self) -> None:
        self.draining = True
        for crawler in list(self.crawls.values()):
            self.stop(crawler)
        self.maybe_exit()

    def drain(self) -> None:
        self.draining = True
        self.maybe_exit()

    def maybe_exit(self) -> None:
        if self.exiting or not (self.draining and not self.crawls and self.reactor.running):
            return
        self.exiting = True
        # The browsers kept for the next crawls, and their driver, go first: they would
        # outlive the worker otherwise.
        from scrapy.utils.defer import deferred_from_coro

        from spiders.shared_browser import close_all

        closed = deferred_from_coro(close_all())
        closed.addBoth(lambda _: self.reactor.stop() if self.reactor.running else None)


def rss_mb() -> float:
    """This process's resident memory now, in MB (0 where /proc cannot tell)."""
    try:
        with Path("/proc/self/status").open(encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


def install_resolver(settings: Any) -> None:
    """TWISTED_DNS_RESOLVER on the reactor, as CrawlerProcess installs it (a name that
    resolves to a private address is refused there: spiders.network), and its thread pool."""
    from types import SimpleNamespace

    from scrapy.utils.misc import build_from_crawler, load_object
    from twisted.internet import reactor

    resolver_class = load_object(settings["TWISTED_DNS_RESOLVER"])
    # Scrapy's resolvers read only the crawler's settings (CrawlerProcess passes itself).
    holder: Any = SimpleNamespace(settings=settings)
    resolver = build_from_crawler(resolver_class, holder, reactor=reactor)
    resolver.install_on_reactor()
    installed: Any = reactor  # Twisted's interfaces are zope ones (see spiders/extensions.py)
    installed.getThreadPool().adjustPoolsize(
        maxthreads=settings.getint("REACTOR_THREADPOOL_MAXSIZE")
    )


def warm_up() -> None:
    """Load what every crawl needs, once: the matcher (keyword lists, its word cut) and the
    search index's word cut."""
    from monitor.matching.matcher import load_matcher

    load_matcher().match("出售身份证四件套", "实名 手机卡 银行卡")
    try:
        from monitor.analysis.search import default_segmenter

        default_segmenter().words("出售身份证四件套")
    except Exception:  # only a warm-up: the first crawl pays for it otherwise
        logging.getLogger(__name__).debug("search word cut not warmed", exc_info=True)


def main() -> int:
    from monitor.privacy.file_modes import restrict_umask

    restrict_umask()  # the store, evidence, cookies and logs its crawls write are private
    # The replies get standard output to themselves: anything printed goes to the log.
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    from monitor.settings import use_scrapy_project

    use_scrapy_project()
    from scrapy.utils.project import get_project_settings
    from scrapy.utils.reactor import install_reactor

    settings = get_project_settings()
    install_reactor(settings["TWISTED_REACTOR"])
    install_resolver(settings)
    # Imported on a shallow stack (see spiders.crawl.crawl).
    import scrapy.core.downloader.contextfactory  # noqa: F401
    from scrapy.utils.log import configure_logging
    from twisted.internet import reactor

    quiet = settings.copy()
    quiet.set("LOG_INSTALL_ROOT_HANDLER", False)  # its own handlers: below
    configure_logging(quiet)
    own = logging.StreamHandler(sys.stderr)
    own.setLevel(logging.WARNING)
    own.setFormatter(logging.Formatter("%(asctime)s [%(name)s] %(levelname)s: %(message)s"))
    logging.getLogger().addHandler(own)
    logging.getLogger().setLevel(logging.INFO)
    warm_up()
    from spiders.shared_browser import keep_idle_browsers

    # The next sweeps of a rendered source find its Chromium running (spiders/shared_browser.py).
    keep_idle_browsers(KEPT_BROWSERS)
    worker = Worker(reactor, settings, replies)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: reactor.callFromThread(worker.stop_all))
    threading.Thread(target=worker.read_commands, args=(sys.stdin,), daemon=True).start()
    worker.reply({"event": "ready", "pid": os.getpid(), "rss_mb": rss_mb()})
    reactor.run(installSignalHandlers=False)  # type: ignore[call-arg,misc]
    return 0


if __name__ == "__main__":
    from spiders.crawl import exit_without_teardown

    exit_without_teardown(main())
