"""Which queue a request names: its filters, order and page, from the query string of the
queue page, of an alert opened from it, or of a form posted there; and where an alert stands
in it. The queue's words are a full-text search (monitor/analysis/search.py), as `heishi search` runs
it: normalised (traditional finds simplified, full-width finds half-width) and segmented."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode

from monitor.errors import HeishiError
from monitor.numbers import SQLITE_MAX_INTEGER, number_or
from monitor.store.review import QUEUE_SORTS, QueueFilters
from monitor.timespec import since_timestamp
from monitor.vocabulary import ALERT_STATUSES, SEVERITIES
from monitor.web.endpoint import Context
from monitor.web.i18n import _

PAGE_SIZES = (25, 50, 100, 200)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# The query parameters that make a queue what it is: carried from the queue to every alert
# opened from it and back, so "next", "← Queue" and the alert after a triage stay in it.
QUEUE_PARAMS = (
    "status", "severity", "category", "source", "kind", "brand", "assignee", "since", "until",
    "q", "sort", "dir", "per", "page",
)  # fmt: skip


@dataclass(frozen=True)
class QueueView:
    """One queue as the reviewer asked for it: filters, order and page."""

    filters: QueueFilters
    status_param: str
    sort: str
    descending: bool
    per_page: int
    page: int
    query: str  # the parameters above as a query string (always with its status)
    from_queue: bool  # whether the request named a queue (an alert opened from one)
    highlights: list[str] = field(default_factory=list)  # the searched words, normalised
    search_error: str | None = None  # why the words cannot be searched
    since_text: str = ""  # `since` as written: a date, a time or a duration (7d)
    since_error: str | None = None  # why `since` cannot be read (the queue is not cut by it)

    def url(self, path: str = "/", **extra: str) -> str:
        """`path` with this queue's parameters (and `extra` ones) attached."""
        query = "&".join(q for q in (self.query, urlencode(extra)) if q)
        return path + (f"?{query}" if query else "")


def queue_view(params: Mapping[str, str]) -> QueueView:
    """The queue that query parameters describe; unknown values are ignored."""

    def param(name: str, default: str = "") -> str:
        value = params.get(name)
        return (value if isinstance(value, str) else default).strip() or default

    status = param("status", "open")
    until = param("until")
    since_text = param("since")[:40]
    since, since_error = _since(since_text)
    filters = QueueFilters(
        status=status if status in ALERT_STATUSES else None,
        severity=param("severity") if param("severity") in SEVERITIES else None,
        category=param("category")[:40] or None,
        source=param("source")[:100] or None,
        kind=param("kind")[:40] or None,
        brand=param("brand")[:100] or None,
        assignee=param("assignee")[:100] or None,
        since=since,
        until=until if _DATE.match(until) else None,
        text=param("q")[:200] or None,
    )
    sort = param("sort", "created")
    per_page = number_or(param("per"), 50)
    per_page = per_page if per_page in PAGE_SIZES else 50
    # A page past the end shows nothing; one whose offset SQLite cannot bind is clamped.
    page = number_or(param("page"), 1, maximum=SQLITE_MAX_INTEGER // per_page, clamp=True)
    filters, highlights, search_error = _searched(filters)
    kept = [("status", status[:40])]
    kept += [(k, param(k)[:200]) for k in QUEUE_PARAMS if k != "status" and param(k)]
    return QueueView(
        filters=filters,
        status_param=status,
        sort=sort if sort in QUEUE_SORTS else "created",
        descending=param("dir", "desc") != "asc",
        per_page=per_page,
        page=page,
        query=urlencode(kept),
        from_queue=any(name in params for name in QUEUE_PARAMS),
        highlights=highlights,
        search_error=search_error,
        since_text=since_text,
        since_error=since_error,
    )


def _since(text: str) -> tuple[str | None, str | None]:
    """`since` read as `heishi alerts --since` and the API read it (monitor/timespec.py): a
    date, a time or a duration back from now, in the store's time; and why it cannot be."""
    if not text:
        return None, None
    try:
        return since_timestamp(text), None
    except HeishiError:
        why = _("“%(since)s” is not a date, a time or a duration such as 7d: not used.")
        return None, why % {"since": text}


def _searched(filters: QueueFilters) -> tuple[QueueFilters, list[str], str | None]:
    """The filters with their words as a full-text search, the words to highlight, and why
    the words cannot be searched (the queue is then empty)."""
    if not filters.text:
        return filters, [], None
    from monitor.analysis.search import parse_query

    try:
        parsed = parse_query(filters.text)
    except HeishiError as exc:
        why = _("The search %(query)s cannot be run: %(why)s.") % {
            "query": filters.text,
            "why": str(exc),
        }
        return replace(filters, ids=[0]), [], why
    return replace(filters, match=parsed.expression), parsed.highlights, None


def queue_of_form(ctx: Context) -> QueueView:
    """The queue an alert's form was posted from (its hidden `queue` field)."""
    return queue_view(dict(parse_qsl(ctx.field("queue")[:2000])))


def listing_key(alert: dict[str, Any]) -> int:
    """The queue row an alert belongs to: its listing's (minus its own id without one)."""
    return alert["listing_id"] or -alert["id"]


def neighbours(order: list[tuple[int, int]], key: int) -> dict[str, int | None]:
    """The rows before and after the listing `key` in a queue's order (each as its newest
    alert), and its place (1-based; 0 when it is not in the queue, whose first row is then
    "next")."""
    keys = [k for k, _ in order]
    try:
        index = keys.index(key)
    except ValueError:
        return {"previous": None, "next": order[0][1] if order else None, "position": 0}
    return {
        "previous": order[index - 1][1] if index > 0 else None,
        "next": order[index + 1][1] if index + 1 < len(order) else None,
        "position": index + 1,
    }
