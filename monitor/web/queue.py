"""The alert queue: filters, sorting and paging, and the same triage for many alerts at once."""

from __future__ import annotations

import re

from starlette.responses import Response

from monitor.numbers import SQLITE_MAX_INTEGER, number_or
from monitor.store import utc_now
from monitor.store.alerts import ALERT_STATUSES, SEVERITIES
from monitor.store.review import QUEUE_SORTS, QueueFilters
from monitor.web.endpoint import Context, endpoint, safe_next

PAGE_SIZES = (25, 50, 100, 200)
MAX_BULK = 1000  # alerts ticked at once (a page shows at most 200)
# Triage actions and the status each one sets.
ACTIONS = {
    "acknowledge": "acknowledged",
    "confirm": "confirmed",
    "escalate": "escalated",
    "dismiss": "dismissed",
    "resolve": "resolved",
    "reopen": "open",
}
DISMISS_REASONS = {
    "false_positive": "False positive: not an offer of data",
    "news_or_warning": "News, court report or anti-fraud warning",
    "duplicate": "Duplicate of another alert",
    "out_of_scope": "Real, but out of our scope",
    "other": "Other (see the note)",
}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def queue_filters(ctx: Context) -> QueueFilters:
    """The queue's filters from the query string; unknown values are ignored."""
    status = ctx.param("status", "open")
    date = {k: ctx.param(k) for k in ("since", "until")}
    return QueueFilters(
        status=status if status in ALERT_STATUSES else None,
        severity=ctx.param("severity") if ctx.param("severity") in SEVERITIES else None,
        category=ctx.param("category")[:40] or None,
        source=ctx.param("source")[:100] or None,
        kind=ctx.param("kind")[:40] or None,
        brand=ctx.param("brand")[:100] or None,
        assignee=ctx.param("assignee")[:100] or None,
        since=date["since"] if _DATE.match(date["since"]) else None,
        until=date["until"] if _DATE.match(date["until"]) else None,
        text=ctx.param("q")[:200] or None,
    )


@endpoint("viewer")
def queue_page(ctx: Context) -> Response:
    filters = queue_filters(ctx)
    sort = ctx.param("sort", "created")
    sort = sort if sort in QUEUE_SORTS else "created"
    descending = ctx.param("dir", "desc") != "asc"
    per_page = number_or(ctx.param("per"), 50)
    per_page = per_page if per_page in PAGE_SIZES else 50
    # A page past the end shows nothing; one whose offset SQLite cannot bind is clamped.
    page = number_or(ctx.param("page"), 1, maximum=SQLITE_MAX_INTEGER // per_page, clamp=True)
    with ctx.store() as store:
        alerts, total = store.review_queue(
            filters,
            sort=sort,
            descending=descending,
            limit=per_page,
            offset=(page - 1) * per_page,
        )
        choices = store.queue_choices()
        counts = store.alert_status_counts()
        users = [u["name"] for u in store.users() if not u["disabled"]]
    pages = max(1, -(-total // per_page))
    return ctx.render(
        "queue.html",
        alerts=alerts,
        total=total,
        filters=filters,
        status_param=ctx.param("status", "open"),
        sort=sort,
        descending=descending,
        page=page,
        pages=pages,
        per_page=per_page,
        page_sizes=PAGE_SIZES,
        choices=choices,
        counts=counts,
        statuses=ALERT_STATUSES,
        severities=SEVERITIES,
        reasons=DISMISS_REASONS,
        users=users,
        done=_done_message(ctx),
    )


@endpoint("reviewer")
def bulk_triage(ctx: Context) -> Response:
    """One action on every alert ticked in the queue; one audit event per alert changed."""
    ids = sorted({n for n in (number_or(v, 0) for v in ctx.fields("ids")[:MAX_BULK]) if n})
    action = ctx.field("action")
    back = safe_next(ctx.field("back") or "/")
    if not ids:
        return ctx.refuse(400, "No alerts were ticked.")
    note = ctx.field("note")[:2000] or None
    now = utc_now()
    with ctx.store(write=True) as store:
        if action == "assign":
            assignee = _assignee(ctx, store)
            if assignee is False:
                return ctx.refuse(400, "No such user to assign to.")
            changed = store.assign_alerts(ids, assignee, actor=ctx.actor, now=now)
        elif action in ACTIONS:
            reason = ctx.field("reason")
            if action == "dismiss" and reason not in DISMISS_REASONS:
                return ctx.refuse(400, "Dismissing needs a reason.")
            changed = store.triage_alerts(
                ids,
                ACTIONS[action],
                actor=ctx.actor,
                now=now,
                note=note,
                reason=reason if action == "dismiss" else None,
            )
        else:
            return ctx.refuse(400, "Unknown action.")
    separator = "&" if "?" in back else "?"
    return ctx.redirect(f"{back}{separator}done={action}:{changed}")


def _assignee(ctx: Context, store) -> str | None | bool:
    """The user named in the form (`me` is the actor, empty is nobody); False if unknown."""
    name = ctx.field("assignee")
    if name == "me":
        return ctx.actor
    if not name:
        return None
    found = store.user(name)
    return name if found and not found["disabled"] else False


def _done_message(ctx: Context) -> str | None:
    """`done=action:count`, left by a bulk action, as a sentence (never echoed raw)."""
    action, _, count = ctx.param("done").partition(":")
    if action not in (*ACTIONS, "assign") or not count.isascii() or not count.isdigit():
        return None
    verb = "assigned" if action == "assign" else ACTIONS[action]
    return f"{count} alert{'s' if count != '1' else ''} {verb}."
