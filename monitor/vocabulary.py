"""heishi's closed vocabularies, defined once: alert severities, statuses and kinds, the
category ids, the verbs a reviewer triages with and why an alert was dismissed."""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802  (the gettext convention)
    """Marks a label for the web page's message catalogue, which `make translations` also
    reads from this file; the page translates it where shown."""
    return message


SEVERITIES = ("low", "medium", "high", "critical")
ALERT_STATUSES = ("open", "acknowledged", "confirmed", "dismissed", "escalated", "resolved")
ALERT_KINDS = (
    "new",
    "changed",
    "removed",
    "relisted",
    "reposted",
    "retrohunt",
    "actor_seen",
    "source_failing",
    "source_changed_shape",
)
CATEGORIES = (
    "identity",
    "finance",
    "telecom",
    "logistics",
    "travel",
    "vehicle",
    "medical",
    "education_jobs",
    "real_estate",
    "platform",
    "corporate",
    "accounts",
    "traffic",
    "scraping",
)
# What a reviewer may type (`heishi alert set 70 confirm`, the API's `action`), and the status
# each sets; every status is also its own verb.
TRIAGE_VERBS = {
    "acknowledge": "acknowledged",
    "ack": "acknowledged",
    "confirm": "confirmed",
    "dismiss": "dismissed",
    "escalate": "escalated",
    "resolve": "resolved",
    "reopen": "open",
    **{status: status for status in ALERT_STATUSES},
}
# Why a dismissed alert was not a real one (alert_events.reason), with its label; the order
# gives each its number key on the alert page.
DISMISS_REASONS = {
    "false_positive": N_("False positive: not an offer of data"),
    "news_or_warning": N_("News, court report or anti-fraud warning"),
    "duplicate": N_("Duplicate of another alert"),
    "out_of_scope": N_("Real, but out of our scope"),
    "other": N_("Other (see the note)"),
}
# Statuses that record a reviewer's verdict on an alert (the statistics' confirm and dismiss
# rates): confirmed or escalated is a true alert, dismissed a false one.
CONFIRMING_STATUSES = ("confirmed", "escalated")
DISMISSING_STATUSES = ("dismissed",)


def status_of_verb(verb: str) -> str | None:
    """The status a triage verb sets (`confirm` -> `confirmed`), or None."""
    return TRIAGE_VERBS.get(verb.strip().lower())
