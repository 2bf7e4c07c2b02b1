"""heishi's closed vocabularies, defined once: alert severities, statuses and kinds, the
category ids, the verbs a reviewer triages with and why an alert was dismissed."""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802  (the gettext convention)
    """Marks a label for the web page's message catalogue, which `make translations` also
    reads from this file; the page translates it where shown."""
    return message


SEVERITIES = ("low", "medium", "high", "critical")  # least urgent first
ALERT_STATUSES = ("open", "acknowledged", "confirmed", "dismissed", "escalated", "resolved")
# The order the review queue sorts statuses by: what still waits for a reviewer first.
STATUS_QUEUE_ORDER = ("open", "escalated", "acknowledged", "confirmed", "resolved", "dismissed")
# Alerts no reviewer has decided yet (a dismissed twin may still be pointed out on them).
UNDECIDED_STATUSES = ("open", "acknowledged")
# Alerts that still ask for action (an actor's open alerts).
ACTIVE_STATUSES = ("open", "escalated")
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
# Kinds about a source's health, not a listing: no reviewer's verdict or triage time.
SOURCE_ALERT_KINDS = ("source_failing", "source_changed_shape")
# Spider kinds a site file may name (monitor.sites.presets.KINDS says what each needs).
SITE_KINDS = ("forum", "marketplace", "channel", "paste")
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
# The triage actions (the web page's buttons and forms) and the status each sets.
TRIAGE_ACTIONS = {
    "acknowledge": "acknowledged",
    "confirm": "confirmed",
    "dismiss": "dismissed",
    "escalate": "escalated",
    "resolve": "resolved",
    "reopen": "open",
}
# What a reviewer may type (`heishi alert set 70 confirm`, the API's `action`): an action,
# `ack`, or a status word (every status is also its own verb).
TRIAGE_VERBS = {
    "acknowledge": "acknowledged",
    "ack": "acknowledged",
    **TRIAGE_ACTIONS,
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


def severity_rank(severity: str | None) -> int:
    """How urgent a severity is: 1 (low) to 4 (critical); 0 for none or an unknown word."""
    return SEVERITIES.index(severity) + 1 if severity in SEVERITIES else 0


def status_of_verb(verb: str) -> str | None:
    """The status a triage verb sets (`confirm` -> `confirmed`), or None."""
    return TRIAGE_VERBS.get(verb.strip().lower())
