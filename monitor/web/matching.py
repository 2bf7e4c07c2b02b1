"""The keywords page's matcher, in a worker process of its own, with a time limit.

Matching a posted text is the one thing the web app does whose cost the poster chooses. A
regular expression runs in C holding the GIL, so in a thread of the server one slow text
(20,000 digits against a pattern that backtracks) would stall every other request; in a
process it stalls nothing but itself. At most `workers` texts are matched at once; the next
`waiting` wait up to `queue_wait` seconds for a free worker, and any more are turned away at
once (busy), so keyword tests never hold more than `workers + waiting` of the server's
threads. A match that runs past `time_limit` seconds has its worker killed (a new one starts
for the next text).
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from monitor import settings
from monitor.web.i18n import _

log = logging.getLogger(__name__)

START_SECONDS = 120.0  # a cold start imports and builds the matcher (jieba) once


class MatchUnavailable(Exception):
    """The text was not matched: the workers were busy, or it took too long."""


def default_time_limit() -> float:
    """$HEISHI_WEB_MATCH_SECONDS, default 10."""
    return settings.current().web_match_seconds


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection

    def kill(self) -> None:
        self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


@dataclass
class MatchWorkers:
    """Matches texts in child processes, a few at a time, each within a time limit."""

    workers: int = 1
    time_limit: float = field(default_factory=default_time_limit)
    queue_wait: float = 5.0
    waiting: int = 2

    def __post_init__(self) -> None:
        self._admitted = threading.BoundedSemaphore(self.workers + self.waiting)
        self._slots = threading.BoundedSemaphore(self.workers)
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._context = multiprocessing.get_context("spawn")  # no fork of a threaded server

    def match(self, title: str, text: str) -> Any:
        """The matcher's MatchResult for a title and text; blocks (call it from a worker
        thread). Raises MatchUnavailable when busy or past the time limit."""
        busy = MatchUnavailable(_("other texts are being matched: try again in a moment"))
        if not self._admitted.acquire(blocking=False):
            raise busy
        try:
            return self._match_admitted(title, text, busy)
        finally:
            self._admitted.release()

    def _match_admitted(self, title: str, text: str, busy: MatchUnavailable) -> Any:
        if not self._slots.acquire(timeout=self.queue_wait):
            raise busy
        worker = None
        try:
            worker = self._take()
            worker.conn.send((title, text))
            if not worker.conn.poll(self.time_limit):
                log.warning(
                    "keyword test stopped after %.0f s (%d chars)", self.time_limit, len(text)
                )
                worker.kill()
                worker = None
                raise MatchUnavailable(
                    _("matching this text took longer than %(seconds)s s and was stopped")
                    % {"seconds": f"{self.time_limit:g}"}
                )
            status, payload = worker.conn.recv()
        except (EOFError, OSError) as exc:  # the worker died (killed, out of memory)
            if worker is not None:
                worker.kill()
                worker = None
            raise MatchUnavailable(_("the matcher stopped: try again")) from exc
        finally:
            if worker is not None:
                with self._lock:
                    self._idle.append(worker)
            self._slots.release()
        if status != "ok":
            raise MatchUnavailable(_("the matcher failed: %(why)s") % {"why": payload})
        return payload

    def close(self) -> None:
        """Stop every idle worker (a busy one is stopped by its own request)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()

    def _take(self) -> _Worker:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_serve, args=(child,), name="heishi-match", daemon=True
        )
        process.start()
        child.close()
        worker = _Worker(process, parent)
        try:
            answer = parent.recv() if parent.poll(START_SECONDS) else "did not start in time"
        except (EOFError, OSError):
            answer = "it stopped while starting"
        if answer != "ready":
            worker.kill()
            raise MatchUnavailable(_("the matcher did not start: %(why)s") % {"why": answer})
        return worker


def _serve(conn: Connection) -> None:
    """A worker: build the matcher once, then match each (title, text) sent until the pipe
    closes."""
    from monitor.matching.matcher import load_matcher

    try:
        matcher = load_matcher()
        # The first match builds what the matcher loads lazily (word cuts, the model): done
        # here, before "ready", so it never counts against a posted text's time limit.
        matcher.match("出售 身份证 四件套", "出售 身份证 四件套 微信 联系")
    except Exception as exc:  # noqa: BLE001 - a broken keyword file, said on the page
        conn.send(f"{type(exc).__name__}: {exc}")
        return
    conn.send("ready")
    while True:
        try:
            title, text = conn.recv()
        except (EOFError, OSError):
            return
        try:
            conn.send(("ok", matcher.match(title, text)))
        except Exception as exc:  # noqa: BLE001 - reported to the page, the worker goes on
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
