"""How the page names the values of heishi's vocabularies (statuses, severities, alert kinds,
categories, roles, fields): the stored value is English and stays so; what a reviewer reads is
its label, translated (`{{ value|label }}` in templates)."""

from __future__ import annotations

from monitor.web.i18n import N_, _

LABELS = {
    # alert statuses
    "open": N_("open"),
    "acknowledged": N_("acknowledged"),
    "confirmed": N_("confirmed"),
    "dismissed": N_("dismissed"),
    "escalated": N_("escalated"),
    "resolved": N_("resolved"),
    "all": N_("all"),
    "assigned": N_("assigned"),
    # severities
    "low": N_("low"),
    "medium": N_("medium"),
    "high": N_("high"),
    "critical": N_("critical"),
    # alert kinds
    "new": N_("new"),
    "changed": N_("changed"),
    "removed": N_("removed"),
    "relisted": N_("relisted"),
    "reposted": N_("reposted"),
    "retrohunt": N_("retrohunt"),
    "actor_seen": N_("actor seen"),
    "source_failing": N_("source failing"),
    "source_changed_shape": N_("source changed shape"),
    # categories (MISSION.md)
    "identity": N_("identity"),
    "finance": N_("finance"),
    "telecom": N_("telecom"),
    "logistics": N_("logistics"),
    "travel": N_("travel"),
    "vehicle": N_("vehicle"),
    "medical": N_("medical"),
    "education_jobs": N_("education and jobs"),
    "real_estate": N_("real estate"),
    "platform": N_("platform"),
    "corporate": N_("corporate"),
    "accounts": N_("accounts"),
    "traffic": N_("traffic"),
    "scraping": N_("scraping"),
    # roles of users and of keyword terms
    "viewer": N_("viewer"),
    "reviewer": N_("reviewer"),
    "admin": N_("admin"),
    "data": N_("data"),
    "sale": N_("sale"),
    "context": N_("context"),
    "exclusion": N_("exclusion"),
    "brand": N_("brand"),
    "field": N_("data field"),
    "contact": N_("contact"),
    "sample": N_("sample"),
    "fresh": N_("freshness"),
    "generic": N_("generic"),
    "strong": N_("strong"),
    "subject": N_("subject"),
    # counters of a listing
    "views": N_("views"),
    "replies": N_("replies"),
    # listing fields compared between versions
    "title": N_("title"),
    "text": N_("text"),
    "price_text": N_("price"),
    "volume_text": N_("volume"),
    "seller": N_("seller"),
    "contacts": N_("contacts"),
    "categories": N_("categories"),
    # audit trail actions
    "created": N_("raised"),
    "status": N_("status"),
    "assign": N_("assignment"),
    "note": N_("note"),
    # listing and source states
    "live": N_("live"),
    "ok": N_("ok"),
    "degraded": N_("degraded"),
    "failing": N_("failing"),
    "unknown": N_("unknown"),
    "partial": N_("partial"),
    "failed": N_("failed"),
    "crashed": N_("crashed"),
    "running": N_("running"),
    "forum": N_("forum"),
    "market": N_("market"),
    "channel": N_("channel"),
    # what the statistics break alerts down by ("status" is above), and their chart series
    "severity": N_("severity"),
    "source": N_("source"),
    "category": N_("category"),
    "other": N_("other"),
    "actions": N_("actions"),
    "partial or other": N_("partial or other"),
    # kinds of personal number (the number look-up)
    "phone": N_("mobile number"),
    "id_number": N_("ID number"),
    "bank_card": N_("bank card number"),
}


def label(value: object) -> str:
    """The translated label of a vocabulary value; anything else as it is."""
    if value is None:
        return ""
    text = str(value)
    known = LABELS.get(text)
    return _(known) if known else text.replace("_", " ")
