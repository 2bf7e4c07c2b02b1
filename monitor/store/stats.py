"""The review desk's statistics as SQL: alerts per day by category, source, severity and
status; confirm and dismiss counts per source and per keyword; dismissal reasons; reviewer
actions per day; time to first triage; source health per day.

Each query is a constant with named parameters, shared word for word by `heishi stats`, the
web page's /stats and Datasette's canned queries (monitor/datasette/metadata.json; a test
checks they are the same text):
- `:since` keeps rows at or after that store time (ISO 8601 UTC); empty keeps every row;
- `:utc_offset_minutes` shifts times before they are cut into days (480: Beijing); empty is 0.

An alert's verdict: `confirmed` when a reviewer confirmed or escalated it (it may have been
resolved since), `dismissed` when it is dismissed now, none while it waits.
"""

from __future__ import annotations

from typing import Any

from monitor.store import rows
from monitor.store.base import QueryGroup
from monitor.store.ranks import sql_list
from monitor.vocabulary import CONFIRMING_STATUSES, SOURCE_ALERT_KINDS

_SINCE = "coalesce(:since, '')"
_SHIFT = "printf('%+d minutes', coalesce(nullif(:utc_offset_minutes, ''), 0))"
_VERDICT = (
    f"CASE WHEN a.status IN {sql_list(CONFIRMING_STATUSES)} THEN 'confirmed' "
    "WHEN a.status = 'dismissed' THEN 'dismissed' "
    "WHEN a.status = 'resolved' AND EXISTS (SELECT 1 FROM alert_events e WHERE "
    f"e.alert_id = a.id AND e.new_status IN {sql_list(CONFIRMING_STATUSES)}) THEN 'confirmed' END"
)
_VERDICT_TOTALS = (
    "count(*) AS alerts, sum(verdict = 'confirmed') AS confirmed, "
    "sum(verdict = 'dismissed') AS dismissed, "
    "round(1.0 * sum(verdict = 'dismissed') / nullif(sum(verdict IS NOT NULL), 0), 3) "
    "AS dismiss_rate"
)
# Kinds about a source's health, not a listing: no reviewer's verdict or triage time.
_LISTING_ALERTS = f"a.kind NOT IN {sql_list(SOURCE_ALERT_KINDS)}"

ALERTS_PER_DAY = (
    "WITH a AS (SELECT severity, status, source, categories, "
    f"date(created_at, {_SHIFT}) AS day FROM alerts WHERE created_at >= {_SINCE}) "
    "SELECT day, 'severity' AS dimension, severity AS value, count(*) AS alerts "
    "FROM a GROUP BY day, severity "
    "UNION ALL SELECT day, 'status', status, count(*) FROM a GROUP BY day, status "
    "UNION ALL SELECT day, 'source', coalesce(source, ''), count(*) FROM a GROUP BY day, source "
    "UNION ALL SELECT a.day, 'category', c.value, count(*) FROM a, json_each(CASE WHEN "
    "json_valid(a.categories) THEN a.categories ELSE '[]' END) c GROUP BY a.day, c.value "
    "ORDER BY day, dimension, value"
)
VERDICTS_BY_SOURCE = (
    f"WITH v AS (SELECT a.source, {_VERDICT} AS verdict FROM alerts a "
    f"WHERE a.created_at >= {_SINCE} AND {_LISTING_ALERTS}) "
    f"SELECT source, {_VERDICT_TOTALS} FROM v GROUP BY source "
    "ORDER BY dismissed DESC, alerts DESC, source"
)
VERDICTS_BY_KEYWORD = (
    f"WITH v AS (SELECT a.id, a.version_id, {_VERDICT} AS verdict FROM alerts a "
    f"WHERE a.created_at >= {_SINCE} AND {_LISTING_ALERTS}), "
    "t AS (SELECT DISTINCT v.id, m.term, v.verdict FROM v JOIN matches m "
    "ON m.version_id = v.version_id) "
    f"SELECT term, {_VERDICT_TOTALS} FROM t GROUP BY term "
    "ORDER BY dismissed DESC, alerts DESC, term"
)
DISMISS_REASONS = (
    "SELECT coalesce((SELECT e.reason FROM alert_events e WHERE e.alert_id = a.id AND "
    "e.new_status = 'dismissed' ORDER BY e.id DESC LIMIT 1), '') AS reason, count(*) AS alerts "
    f"FROM alerts a WHERE a.status = 'dismissed' AND a.created_at >= {_SINCE} "
    "GROUP BY reason ORDER BY alerts DESC, reason"
)
REVIEWER_ACTIONS = (
    f"SELECT date(e.at, {_SHIFT}) AS day, e.actor AS reviewer, e.new_status AS status, "
    "count(*) AS actions FROM alert_events e WHERE e.action = 'status' "
    f"AND coalesce(e.actor, '') NOT IN ('heishi', '') AND e.at >= {_SINCE} "
    "GROUP BY day, reviewer, status ORDER BY day, reviewer, status"
)
FIRST_TRIAGE = (
    "WITH f AS (SELECT a.id AS alert_id, a.kind, a.severity, a.source, a.created_at, "
    "(SELECT e.id FROM alert_events e WHERE e.alert_id = a.id AND e.action = 'status' "
    "AND coalesce(e.actor, '') NOT IN ('heishi', '') ORDER BY e.at, e.id LIMIT 1) AS event_id "
    f"FROM alerts a WHERE a.created_at >= {_SINCE} AND {_LISTING_ALERTS}) "
    "SELECT f.alert_id, f.kind, f.severity, f.source, f.created_at, e.at AS first_triage_at, "
    "e.actor AS reviewer, e.new_status AS status, "
    "CAST(round((julianday(e.at) - julianday(f.created_at)) * 86400) AS INTEGER) AS seconds "
    "FROM f LEFT JOIN alert_events e ON e.id = f.event_id ORDER BY f.alert_id"
)
SOURCE_HEALTH = (
    f"SELECT r.source, date(r.started_at, {_SHIFT}) AS day, count(*) AS runs, "
    "sum(r.status = 'ok') AS ok, sum(r.status IN ('failed', 'crashed')) AS failed, "
    "sum(coalesce(r.items, 0)) AS items, sum(coalesce(r.errors, 0)) AS errors "
    f"FROM runs r WHERE r.started_at >= {_SINCE} GROUP BY r.source, day ORDER BY r.source, day"
)

# The same queries for Datasette: name -> (title, description, sql).
CANNED_QUERIES = {
    "stats_alerts_per_day": (
        "Alerts per day",
        "Alerts raised per day by severity, status, source and category (one row per day, "
        "dimension and value). since: a store time such as 2026-11-01 (empty: all); "
        "utc_offset_minutes: 480 for Beijing days (empty: UTC).",
        ALERTS_PER_DAY,
    ),
    "stats_verdicts_by_source": (
        "Confirmed and dismissed alerts per source",
        "Per source: alerts, confirmed (or escalated), dismissed, and the share dismissed of "
        "those decided. Which sources bring noise.",
        VERDICTS_BY_SOURCE,
    ),
    "stats_verdicts_by_keyword": (
        "Confirmed and dismissed alerts per keyword",
        "Per matched keyword: alerts whose version matched it, confirmed, dismissed, and the "
        "share dismissed. Which rules produce dismissed alerts.",
        VERDICTS_BY_KEYWORD,
    ),
    "stats_dismiss_reasons": (
        "Why alerts were dismissed",
        "Dismissed alerts by the reason given (false_positive, news_or_warning, ...).",
        DISMISS_REASONS,
    ),
    "stats_reviewer_actions": (
        "Reviewer throughput",
        "Triage actions per day, reviewer and status set (heishi's own actions left out).",
        REVIEWER_ACTIONS,
    ),
    "stats_first_triage": (
        "Time to first triage",
        "Each listing alert, when a reviewer first changed its status, who, and the seconds "
        "it waited (empty: not triaged yet).",
        FIRST_TRIAGE,
    ),
    "stats_source_health": (
        "Source health per day",
        "Runs per source and day: completed (ok), failed or crashed, listings read, errors.",
        SOURCE_HEALTH,
    ),
}


class StatsQueries(QueryGroup):
    """`store.stats`: the queries for the statistics."""

    def rows(
        self, sql: str, *, since: str | None = None, utc_offset_minutes: int = 0
    ) -> list[dict[str, Any]]:
        """The rows of one of the statistics queries above."""
        return rows.many(
            self.conn, sql, {"since": since or "", "utc_offset_minutes": int(utc_offset_minutes)}
        )
