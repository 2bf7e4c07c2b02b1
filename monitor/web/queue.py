"""The alert queue: filters, sorting and paging, and the same triage for many alerts at once."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from starlette.responses import Response

from monitor.numbers import SQLITE_MAX_INTEGER, number_or
from monitor.store import utc_now
from monitor.store.alerts import ALERT_STATUSES, SEVERITIES
from monitor.store.review import QUEUE_SORTS, QueueFilters
from monitor.web.endpoint import Context, endpoint, safe_next
from monitor.web.i18n import N_, _, ngettext
from monitor.web.labels import label

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
# Why an alert was dismissed; the order gives each its number key on the alert page.
DISMISS_REASONS = {
    "false_positive": N_("False positive: not an offer of data"),
    "news_or_warning": N_("News, court report or anti-fraud warning"),
    "duplicate": N_("Duplicate of another alert"),
    "out_of_scope": N_("Real, but out of our scope"),
    "other": N_("Other (see the note)"),
}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DIGITS = re.compile(r"^[0-9]{1,19}$")


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
    date = {k: param(k) for k in ("since", "until")}
    filters = QueueFilters(
        status=status if status in ALERT_STATUSES else None,
        severity=param("severity") if param("severity") in SEVERITIES else None,
        category=param("category")[:40] or None,
        source=param("source")[:100] or None,
        kind=param("kind")[:40] or None,
        brand=param("brand")[:100] or None,
        assignee=param("assignee")[:100] or None,
        since=date["since"] if _DATE.match(date["since"]) else None,
        until=date["until"] if _DATE.match(date["until"]) else None,
        text=param("q")[:200] or None,
    )
    sort = param("sort", "created")
    per_page = number_or(param("per"), 50)
    per_page = per_page if per_page in PAGE_SIZES else 50
    # A page past the end shows nothing; one whose offset SQLite cannot bind is clamped.
    page = number_or(param("page"), 1, maximum=SQLITE_MAX_INTEGER // per_page, clamp=True)
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
    )


def queue_of_form(ctx: Context) -> QueueView:
    """The queue an alert's form was posted from (its hidden `queue` field)."""
    return queue_view(dict(parse_qsl(ctx.field("queue")[:2000])))


def listing_key(alert: dict) -> int:
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


def posted_ids(ctx: Context, name: str = "ids") -> list[int]:
    """Alert ids from a form: each field one id, or several joined by commas (a row)."""
    values = [v for field in ctx.fields(name)[:MAX_BULK] for v in field.split(",")[:MAX_BULK]]
    return sorted({n for n in (number_or(v.strip(), 0) for v in values[:MAX_BULK]) if n})


@endpoint("viewer")
def queue_page(ctx: Context) -> Response:
    view = queue_view(ctx.request.query_params)
    filters, per_page, page = view.filters, view.per_page, view.page
    with ctx.store() as store:
        alerts, total = store.desk_queue(
            filters,
            sort=view.sort,
            descending=view.descending,
            limit=per_page,
            offset=(page - 1) * per_page,
            viewer=ctx.actor,
        )
        choices = store.queue_choices()
        counts = store.alert_status_counts()
        everyone = store.users()
    users = [u["name"] for u in everyone if not u["disabled"]]
    pages = max(1, -(-total // per_page))
    return ctx.render(
        "queue.html",
        view=view,
        alerts=alerts,
        total=total,
        filters=filters,
        status_param=view.status_param,
        sort=view.sort,
        descending=view.descending,
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
        names=user_names(everyone),
        done=done_message(ctx),
    )


@endpoint("reviewer")
def bulk_triage(ctx: Context) -> Response:
    """One action on every alert ticked in the queue; one audit event per alert changed."""
    ids = posted_ids(ctx)
    action = ctx.field("action")
    back = safe_next(ctx.field("back") or "/")
    if not ids:
        return ctx.refuse(400, _("No alerts were ticked."))
    note = ctx.field("note")[:2000] or None
    now = utc_now()
    with ctx.store(write=True) as store:
        if action == "assign":
            assignee = assignee_of_form(ctx, store)
            if assignee is False:
                return ctx.refuse(400, _("No such user to assign to."))
            changed = store.assign_alerts(ids, assignee, actor=ctx.actor, now=now)
        elif action in ACTIONS:
            reason = ctx.field("reason")
            if action == "dismiss" and reason not in DISMISS_REASONS:
                return ctx.refuse(400, _("Dismissing needs a reason."))
            changed = store.triage_alerts(
                ids,
                ACTIONS[action],
                actor=ctx.actor,
                now=now,
                note=note,
                reason=reason if action == "dismiss" else None,
            )
        else:
            return ctx.refuse(400, _("Unknown action."))
    separator = "&" if "?" in back else "?"
    return ctx.redirect(f"{back}{separator}done={action}:{changed}")


def assignee_of_form(ctx: Context, store) -> str | None | bool:
    """The user named in the form (`me` is the actor, empty is nobody); False if unknown."""
    name = ctx.field("assignee")
    if name == "me":
        return ctx.actor
    if not name:
        return None
    found = store.user(name)
    return name if found and not found["disabled"] else False


def done_message(ctx: Context) -> str | None:
    """`done=action:count[:alert]`, left by a triage, as a sentence (never echoed raw)."""
    action, _sep, rest = ctx.param("done").partition(":")
    count, _sep, alert = rest.partition(":")
    if action not in (*ACTIONS, "assign") or not _DIGITS.match(count):
        return None
    status = label("assigned" if action == "assign" else ACTIONS[action])
    if _DIGITS.match(alert) and count == "1":
        return _("Alert #%(id)s %(status)s.") % {"id": alert, "status": status}
    if _DIGITS.match(alert) and count == "0":
        return _("Alert #%(id)s was already %(status)s.") % {"id": alert, "status": status}
    number = int(count)
    return ngettext("%(num)d alert %(status)s.", "%(num)d alerts %(status)s.", number) % {
        "num": number,
        "status": status,
    }


def user_names(users: list[dict]) -> dict[str, str]:
    """Each user's name as the page shows it: their display name where they have one."""
    return {u["name"]: u.get("display_name") or u["name"] for u in users}
