"""Triage from the alert page: a status (with a dismissal reason), an assignee, a note.

A triage posted from an alert opened in a queue opens the next alert of that queue, as it
stood before the change, so a reviewer works through a filtered queue without going back to
it; an alert opened on its own (a notification's link) stays open, showing its trail.
"""

from __future__ import annotations

from starlette.responses import Response

from monitor.store import utc_now
from monitor.vocabulary import DISMISS_REASONS
from monitor.web.endpoint import Context, endpoint, path_id
from monitor.web.i18n import _
from monitor.web.queue import ACTIONS, assignee_of_form, posted_ids
from monitor.web.queue_view import QueueView, listing_key, neighbours, queue_of_form


@endpoint("reviewer")
def triage(ctx: Context) -> Response:
    alert_id = path_id(ctx, "alert_id")
    action = ctx.field("action")
    note = ctx.field("note")[:2000] or None
    reason = ctx.field("reason")
    if action not in ACTIONS:
        return ctx.refuse(400, _("Unknown action."))
    if action == "dismiss" and reason not in DISMISS_REASONS:
        return ctx.refuse(400, _("Dismissing needs a reason."))
    view = queue_of_form(ctx) if ctx.field("queue") else None
    with ctx.store(write=True) as store:
        alert = store.review.alert(alert_id)
        if alert is None:
            return ctx.refuse(404, _("There is no alert %(id)s.") % {"id": alert_id})
        # The listing's other alerts the page showed in its row: decided together.
        group = [alert_id, *store.desk.alerts_of_same_listing(alert_id, posted_ids(ctx, "group"))]
        following = None
        if view is not None:
            order = store.desk.queue_order(view.filters, sort=view.sort, descending=view.descending)
            following = neighbours(order, listing_key(alert))["next"]
        changed = store.review.triage_alerts(
            sorted(set(group)),
            ACTIONS[action],
            actor=ctx.actor,
            now=utc_now(),
            note=note,
            reason=reason if action == "dismiss" else None,
        )
        if note and not changed:  # already in that status: keep the note all the same
            store.review.add_alert_note(alert_id, note, actor=ctx.actor, now=utc_now())
    if len(set(group)) > 1:
        return _after(ctx, view, alert_id, following, f"{action}:{changed}")
    return _after(ctx, view, alert_id, following, f"{action}:{changed}:{alert_id}")


def _after(
    ctx: Context, view: QueueView | None, alert_id: int, following: int | None, done: str
) -> Response:
    """Where a decision leads: the queue's next alert, else the queue, else the alert."""
    if view is None:
        return ctx.redirect(f"/alerts/{alert_id}#trail")
    if following is not None and following != alert_id:
        return ctx.redirect(view.url(f"/alerts/{following}", done=done))
    return ctx.redirect(view.url("/", done=done))


@endpoint("reviewer")
def assign(ctx: Context) -> Response:
    alert_id = path_id(ctx, "alert_id")
    with ctx.store(write=True) as store:
        if store.review.alert(alert_id) is None:
            return ctx.refuse(404, _("There is no alert %(id)s.") % {"id": alert_id})
        assignee = assignee_of_form(ctx, store)
        if assignee is False:
            return ctx.refuse(400, _("No such user to assign to."))
        group = [alert_id, *store.desk.alerts_of_same_listing(alert_id, posted_ids(ctx, "group"))]
        store.review.assign_alerts(sorted(set(group)), assignee, actor=ctx.actor, now=utc_now())
    return ctx.redirect(_back_to(ctx, alert_id))


@endpoint("reviewer")
def add_note(ctx: Context) -> Response:
    alert_id = path_id(ctx, "alert_id")
    note = ctx.field("note")[:4000]
    if not note:
        return ctx.redirect(_back_to(ctx, alert_id, anchor=""))
    with ctx.store(write=True) as store:
        if store.review.alert(alert_id) is None:
            return ctx.refuse(404, _("There is no alert %(id)s.") % {"id": alert_id})
        store.review.add_alert_note(alert_id, note, actor=ctx.actor, now=utc_now())
    return ctx.redirect(_back_to(ctx, alert_id))


def _back_to(ctx: Context, alert_id: int, anchor: str = "#trail") -> str:
    """The alert's page again, in the queue it was opened from."""
    path = f"/alerts/{alert_id}"
    if ctx.field("queue"):
        path = queue_of_form(ctx).url(path)
    return path + anchor
