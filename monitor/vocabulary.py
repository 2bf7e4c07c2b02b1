"""heishi's closed vocabularies, defined once: alert severities, statuses and kinds, the
category ids, and the verbs a reviewer triages with."""

from __future__ import annotations

SEVERITIES = ("low", "medium", "high", "critical")
ALERT_STATUSES = ("open", "acknowledged", "confirmed", "dismissed", "escalated", "resolved")
ALERT_KINDS = (
    "new",
    "changed",
    "removed",
    "relisted",
    "reposted",
    "retrohunt",
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
# Why a dismissed alert was not a real one (alert_events.reason); the web page labels each.
DISMISS_REASONS = ("false_positive", "news_or_warning", "duplicate", "out_of_scope", "other")
# Statuses that record a reviewer's verdict on an alert (the statistics' confirm and dismiss
# rates): confirmed or escalated is a true alert, dismissed a false one.
CONFIRMING_STATUSES = ("confirmed", "escalated")
DISMISSING_STATUSES = ("dismissed",)


def status_of_verb(verb: str) -> str | None:
    """The status a triage verb sets (`confirm` -> `confirmed`), or None."""
    return TRIAGE_VERBS.get(verb.strip().lower())
