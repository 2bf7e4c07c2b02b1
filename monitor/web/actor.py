"""Actors in the review page: the list (`/actors`), one actor (`/actors/ID`: aliases,
contacts masked, the link graph, what it offers, activity, listings and alerts with their
triage state), and watching an actor or a contact (reviewers)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from monitor.actors.profile import load_actor
from monitor.store import utc_now
from monitor.web.actor_graph import link_graph
from monitor.web.chart import price_chart, stacked_bars
from monitor.web.endpoint import Context, endpoint, path_id
from monitor.web.i18n import _

SORTS = ("alerts", "listings", "recent", "sources")


@endpoint("viewer")
def actors_page(ctx: Context) -> Response:
    sort = ctx.param("sort")
    sort = sort if sort in SORTS else "alerts"
    source = ctx.param("source")[:200] or None
    with ctx.store() as store:
        actors = store.actor_reads.actors(source=source, sort=sort, limit=200)
        watches = store.actor_reads.watches()
    return ctx.render("actors.html", actors=actors, sort=sort, source=source, watches=watches)


@endpoint("viewer")
def actor_page(ctx: Context) -> Response:
    actor_id = path_id(ctx, "actor_id")
    with ctx.store() as store:
        profile = load_actor(store, actor_id)
    if profile is None:
        return ctx.refuse(404, _("There is no actor %(id)s.") % {"id": actor_id})
    if profile.actor_id != actor_id:  # merged into a larger actor since the link was made
        return ctx.redirect(f"/actors/{profile.actor_id}")
    return ctx.render(
        "actor.html",
        actor=profile,
        graph=link_graph(profile.aliases, profile.links),
        prices=price_chart(profile.prices),
        weeks=_week_chart(profile.weeks),
    )


@endpoint("reviewer")
def watch_actor(ctx: Context) -> Response:
    actor_id = path_id(ctx, "actor_id")
    with ctx.store(write=True) as store:
        resolved = store.actor_reads.resolve_actor(actor_id)
        if resolved is None:
            return ctx.refuse(404, _("There is no actor %(id)s.") % {"id": actor_id})
        with store.transaction():
            store.actors.add_watch(
                seller_id=resolved,
                by=ctx.actor,
                now=utc_now(),
                note=ctx.field("note")[:500] or None,
            )
    return ctx.redirect(f"/actors/{resolved}#watches")


@endpoint("reviewer")
def watch_contact(ctx: Context) -> Response:
    contact_id = path_id(ctx, "contact_id")
    back = path_id(ctx, "actor_id")
    with ctx.store(write=True) as store:
        if store.actor_reads.contact(contact_id) is None:
            return ctx.refuse(404, _("There is no contact %(id)s.") % {"id": contact_id})
        with store.transaction():
            store.actors.add_watch(
                contact_id=contact_id,
                by=ctx.actor,
                now=utc_now(),
                note=ctx.field("note")[:500] or None,
            )
    return ctx.redirect(f"/actors/{back}#watches")


@endpoint("reviewer")
def end_watch(ctx: Context) -> Response:
    watch_id = path_id(ctx, "watch_id")
    back = path_id(ctx, "actor_id")
    with ctx.store(write=True) as store, store.transaction():
        if not store.actors.end_watch(watch_id, by=ctx.actor, now=utc_now()):
            return ctx.refuse(404, _("There is no open watch %(id)s.") % {"id": watch_id})
    return ctx.redirect(f"/actors/{back}#watches")


def _week_chart(weeks: list[dict[str, Any]]) -> object:
    """Versions seen (new or changed listings) and alerts, per week, as stacked bars."""
    if not weeks:
        return None
    days = [w["week"] for w in weeks]
    series = [
        ("versions", {w["week"]: w["versions"] for w in weeks}),
        ("alerts", {w["week"]: w["alerts"] for w in weeks}),
    ]
    return stacked_bars(days, series, label=_("Activity per week"), width=340, height=130)
