"""The alert queue: filters, sorting and paging, and the same triage for many alerts at once."""

from __future__ import annotations

import re
from typing import Any, Literal

from starlette.responses import Response

from monitor.numbers import number_or
from monitor.store import utc_now
from monitor.vocabulary import ALERT_STATUSES, DISMISS_REASONS, SEVERITIES, TRIAGE_ACTIONS
from monitor.web import text
from monitor.web.endpoint import Context, endpoint, safe_next
from monitor.web.i18n import _, ngettext
from monitor.web.labels import label
from monitor.web.queue_view import PAGE_SIZES, queue_view

MAX_BULK = 1000  # alerts ticked at once (a page shows at most 200)
# Triage actions and the status each one sets.
ACTIONS = TRIAGE_ACTIONS
_DIGITS = re.compile(r"^[0-9]{1,19}$")


def posted_ids(ctx: Context, name: str = "ids") -> list[int]:
    """Alert ids from a form: each field one id, or several joined by commas (a row)."""
    values = [v for field in ctx.fields(name)[:MAX_BULK] for v in field.split(",")[:MAX_BULK]]
    return sorted({n for n in (number_or(v.strip(), 0) for v in values[:MAX_BULK]) if n})


@endpoint("viewer")
def queue_page(ctx: Context) -> Response:
    view = queue_view(ctx.request.query_params)
    filters, per_page, page = view.filters, view.per_page, view.page
    with ctx.store() as store:
        alerts, total = store.desk.queue(
            filters,
            sort=view.sort,
            descending=view.descending,
            limit=per_page,
            offset=(page - 1) * per_page,
            viewer=ctx.actor,
            with_text=bool(view.highlights),
        )
        choices = store.review.queue_choices()
        counts = store.review.alert_status_counts()
        everyone = store.review.users()
    users = [u["name"] for u in everyone if not u["disabled"]]
    if view.highlights:
        _mark_hits(alerts, view.highlights)
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
        search_error=view.search_error,
        since_error=view.since_error,
    )


def _mark_hits(alerts: list[dict[str, Any]], highlights: list[str]) -> None:
    """The searched words highlighted in each row's title, and where the text has them."""
    from monitor.analysis.search_results import hit_spans, make_snippet

    for row in alerts:
        row["title_marked"] = text.marked(row["title"], hit_spans(row["title"] or "", highlights))
        snippet = make_snippet(row.pop("listing_text", None), highlights, width=90)
        if snippet.spans:
            row["text_snippet"] = text.marked(snippet.text, snippet.spans)


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
            changed = store.review.assign_alerts(ids, assignee, actor=ctx.actor, now=now)
        elif action in ACTIONS:
            reason = ctx.field("reason")
            if action == "dismiss" and reason not in DISMISS_REASONS:
                return ctx.refuse(400, _("Dismissing needs a reason."))
            changed = store.review.triage_alerts(
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


def assignee_of_form(ctx: Context, store) -> str | None | Literal[False]:
    """The user named in the form (`me` is the actor, empty is nobody); False if unknown."""
    name = ctx.field("assignee")
    if name == "me":
        return ctx.actor
    if not name:
        return None
    found = store.review.user(name)
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


def user_names(users: list[dict[str, Any]]) -> dict[str, str]:
    """Each user's name as the page shows it: their display name where they have one."""
    return {u["name"]: u.get("display_name") or u["name"] for u in users}
