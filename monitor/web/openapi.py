"""The OpenAPI 3.1 description of the JSON API (served at /api/openapi.json). Each response
names its schema; tests/test_api.py calls every operation described here and checks the
answer against it, and checks that every /api/ route is described."""

from __future__ import annotations

from typing import Any

from monitor import __version__
from monitor.store.review import QUEUE_SORTS
from monitor.vocabulary import (
    ALERT_KINDS,
    ALERT_STATUSES,
    CATEGORIES,
    DISMISS_REASONS,
    SEVERITIES,
    TRIAGE_VERBS,
)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _query(
    name: str, description: str, schema: dict[str, Any], example: Any = None
) -> dict[str, Any]:
    parameter = {"name": name, "in": "query", "required": False, "description": description}
    parameter["schema"] = schema
    if example is not None:
        parameter["example"] = example
    return parameter


def _path(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "integer", "minimum": 1},
    }


def _answer(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


ERRORS = {
    "400": _answer("a parameter or the body is not valid (the error says which)", "Error"),
    "401": _answer("no API token, or one that is unknown, revoked or its user's disabled", "Error"),
    "429": _answer("too many failed tokens from this address: wait Retry-After seconds", "Error"),
}
TEXT = {"type": "string"}
TEXT_OR_NULL = {"type": ["string", "null"]}
INTEGER = {"type": "integer"}
INTEGER_OR_NULL = {"type": ["integer", "null"]}
NUMBER_OR_NULL = {"type": ["number", "null"]}
TEXTS = {"type": "array", "items": TEXT}
OBJECT = {"type": "object"}
OBJECTS = {"type": "array", "items": OBJECT}

QUEUE_FILTERS = [
    _query("status", "review status", {"type": "string", "enum": list(ALERT_STATUSES)}, "open"),
    _query("severity", "severity", {"type": "string", "enum": list(SEVERITIES)}),
    _query("category", "category id", {"type": "string", "enum": list(CATEGORIES)}),
    _query("kind", "alert kind", {"type": "string", "enum": list(ALERT_KINDS)}),
    _query("source", "a source's name", TEXT),
    _query("brand", "a watched brand named, or * for any", TEXT),
    _query("assignee", "a user's name, or - for nobody", TEXT),
    _query("since", "raised since: a duration back from now (7d, 24h) or a date or time", TEXT, "30d"),
    _query("until", "raised on or before this day (YYYY-MM-DD)", {"type": "string", "format": "date"}),
    _query("q", "words in the title or the listing's text", TEXT),
]  # fmt: skip

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": TEXT},
    },
    "Alert": {
        "type": "object",
        "description": "An alert and its listing's current price, volume, seller and state.",
        "required": ["id", "kind", "severity", "status", "source", "created_at", "page"],
        "properties": {
            "id": INTEGER,
            "kind": {"type": "string"},
            "severity": {"type": "string", "enum": list(SEVERITIES)},
            "status": {"type": "string", "enum": list(ALERT_STATUSES)},
            "assignee": TEXT_OR_NULL,
            "source": TEXT_OR_NULL,
            "listing_id": INTEGER_OR_NULL,
            "version_id": INTEGER_OR_NULL,
            "created_at": TEXT,
            "updated_at": TEXT_OR_NULL,
            "title": TEXT_OR_NULL,
            "summary": TEXT_OR_NULL,
            "categories": {"type": ["array", "null"], "items": TEXT},
            "brands": {"type": ["array", "null"], "items": TEXT},
            "seller": TEXT_OR_NULL,
            "price": NUMBER_OR_NULL,
            "price_text": TEXT_OR_NULL,
            "volume": INTEGER_OR_NULL,
            "volume_text": TEXT_OR_NULL,
            "url": TEXT_OR_NULL,
            "page": {"type": "string", "description": "the alert's page, from the site's root"},
            "link": {
                "type": ["string", "null"],
                "description": "the page's full address when HEISHI_BASE_URL is set",
            },
        },
    },
    "AlertGroup": {
        "type": "object",
        "description": "A listing's alerts matching the filters, in one entry.",
        "required": ["latest_id", "alert_count", "severity", "alert_ids", "kinds", "alerts"],
        "properties": {
            "listing_id": INTEGER_OR_NULL,
            "latest_id": INTEGER,
            "alert_count": INTEGER,
            "severity": {"type": "string", "enum": list(SEVERITIES)},
            "first_at": TEXT,
            "last_at": TEXT,
            "source": TEXT_OR_NULL,
            "title": TEXT_OR_NULL,
            "seller": TEXT_OR_NULL,
            "alert_ids": {"type": "array", "items": INTEGER},
            "kinds": TEXTS,
            "categories": TEXTS,
            "alerts": OBJECTS,
            "page": TEXT,
            "link": TEXT_OR_NULL,
        },
    },
    "AlertList": {
        "type": "object",
        "required": ["total", "limit", "offset"],
        "properties": {
            "total": INTEGER,
            "limit": INTEGER,
            "offset": INTEGER,
            "alerts": {"type": "array", "items": _ref("Alert")},
            "groups": {"type": "array", "items": _ref("AlertGroup")},
        },
    },
    "Event": {
        "type": "object",
        "required": ["id", "alert_id", "at", "action"],
        "properties": {
            "id": INTEGER,
            "alert_id": INTEGER,
            "at": TEXT,
            "actor": TEXT_OR_NULL,
            "action": TEXT,
            "old_status": TEXT_OR_NULL,
            "new_status": TEXT_OR_NULL,
            "note": TEXT_OR_NULL,
            "reason": TEXT_OR_NULL,
        },
    },
    "AlertDetail": {
        "type": "object",
        "required": ["alert", "listing", "matches", "personal_data", "events", "listing_alerts"],
        "properties": {
            "alert": _ref("Alert"),
            "listing": {"type": ["object", "null"]},
            "matches": OBJECTS,
            "personal_data": {
                "type": "array",
                "description": "numbers quoted in the version alerted on, masked",
                "items": {
                    "type": "object",
                    "required": ["kind", "masked"],
                    "properties": {"kind": TEXT, "masked": TEXT},
                },
            },
            "events": {"type": "array", "items": _ref("Event")},
            "listing_alerts": OBJECTS,
        },
    },
    "TriageRequest": {
        "type": "object",
        "required": ["action"],
        "properties": {
            "action": {"type": "string", "enum": list(TRIAGE_VERBS)},
            "note": {"type": "string", "maxLength": 2000},
            "reason": {
                "type": "string",
                "enum": list(DISMISS_REASONS),
                "description": "why a dismissed alert is not a real one (needed to dismiss)",
            },
            "group": {
                "type": "boolean",
                "description": "also the listing's other open alerts",
            },
        },
    },
    "TriageResult": {
        "type": "object",
        "required": ["changed", "alerts"],
        "properties": {
            "changed": INTEGER,
            "alerts": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "status"],
                    "properties": {
                        "id": INTEGER,
                        "status": {"type": "string", "enum": list(ALERT_STATUSES)},
                    },
                },
            },
        },
    },
    "ListingHistory": {
        "type": "object",
        "required": ["listing", "versions", "observations", "alerts"],
        "properties": {
            "listing": OBJECT,
            "versions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["version", "seen_at"],
                    "properties": {
                        "version": INTEGER,
                        "seen_at": TEXT_OR_NULL,
                        "diff": {"type": ["object", "null"]},
                        "categories": {"type": ["array", "null"]},
                        "contacts": {"type": ["array", "null"]},
                    },
                },
            },
            "observations": OBJECTS,
            "alerts": OBJECTS,
        },
    },
    "SearchResults": {
        "type": "object",
        "required": ["query", "sort", "results"],
        "properties": {
            "query": TEXT,
            "sort": TEXT,
            "since": TEXT_OR_NULL,
            "results": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["listing_id", "source", "site_id", "title", "current"],
                    "properties": {
                        "listing_id": INTEGER,
                        "source": TEXT,
                        "site_id": TEXT,
                        "title": TEXT,
                        "current": {"type": "boolean"},
                        "categories": TEXTS,
                    },
                },
            },
        },
    },
    "Stats": {
        "type": "object",
        "description": "The figures of `heishi stats --json`.",
        "required": [
            "since",
            "timezone",
            "total",
            "per_day",
            "by_day",
            "totals",
            "verdicts_by_source",
            "verdicts_by_keyword",
            "reviewers",
            "first_triage",
            "source_health",
        ],
        "properties": {
            "since": TEXT,
            "timezone": TEXT,
            "utc_offset_minutes": INTEGER,
            "days": TEXTS,
            "total": INTEGER,
            "per_day": OBJECT,
            "by_day": OBJECT,
            "totals": OBJECT,
            "verdicts_by_source": OBJECTS,
            "verdicts_by_keyword": OBJECTS,
            "dismiss_reasons": OBJECT,
            "reviewers": OBJECTS,
            "first_triage": OBJECT,
            "source_health": OBJECTS,
        },
    },
}


def openapi_document() -> dict[str, Any]:
    """The description, built from the vocabularies the API checks against."""
    secured: list[dict[str, list[str]]] = [{"token": []}]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "heishi review desk API",
            "version": __version__,
            "description": "Alerts on listings that sell personal data: read the queue, one "
            "alert, a listing's history, search and statistics; triage with a note. Every "
            "call but this description needs a user's API token (heishi users token NAME) "
            "as `Authorization: Bearer TOKEN`; session cookies are not accepted. Personal "
            "numbers are masked in everything returned.",
        },
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
        "paths": {
            "/api/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This description",
                    "security": [],
                    "responses": {"200": {"description": "the OpenAPI document"}},
                }
            },
            "/api/alerts": {
                "get": {
                    "operationId": "listAlerts",
                    "summary": "The alert queue, with the web queue's filters and grouping",
                    "security": secured,
                    "parameters": [
                        *QUEUE_FILTERS,
                        _query(
                            "group",
                            "1: one entry per listing",
                            {"type": "string", "enum": ["0", "1", "true", "false"]},
                            "1",
                        ),
                        _query(
                            "sort",
                            "order by",
                            {"type": "string", "enum": list(QUEUE_SORTS)},
                            "severity",
                        ),
                        _query("dir", "direction", {"type": "string", "enum": ["asc", "desc"]}),
                        _query(
                            "limit",
                            "alerts (or groups) per page",
                            {"type": "integer", "minimum": 1, "maximum": 500},
                            50,
                        ),
                        _query("offset", "skip this many", {"type": "integer", "minimum": 0}, 0),
                    ],  # fmt: skip
                    "responses": {
                        "200": _answer("a page of alerts or groups", "AlertList"),
                        **ERRORS,
                    },
                }
            },
            "/api/alerts/{alert_id}": {
                "get": {
                    "operationId": "getAlert",
                    "summary": "One alert, its listing, matches, masked numbers and audit trail",
                    "security": secured,
                    "parameters": [_path("alert_id", "the alert's id")],
                    "responses": {
                        "200": _answer("the alert", "AlertDetail"),
                        "404": _answer("no such alert", "Error"),
                        **ERRORS,
                    },
                }
            },
            "/api/alerts/{alert_id}/triage": {
                "post": {
                    "operationId": "triageAlert",
                    "summary": "Set an alert's status, with a note (reviewers and admins)",
                    "security": secured,
                    "parameters": [_path("alert_id", "the alert's id")],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("TriageRequest")}},
                    },
                    "responses": {
                        "200": _answer("the statuses after the change", "TriageResult"),
                        "403": _answer("the token's user is a viewer", "Error"),
                        "404": _answer("no such alert", "Error"),
                        **ERRORS,
                    },
                }
            },
            "/api/listings/{listing_id}/history": {
                "get": {
                    "operationId": "getListingHistory",
                    "summary": "A listing's versions with their diffs, counters and alerts",
                    "security": secured,
                    "parameters": [_path("listing_id", "the listing's id")],
                    "responses": {
                        "200": _answer("the listing's history", "ListingHistory"),
                        "404": _answer("no such listing", "Error"),
                        **ERRORS,
                    },
                }
            },
            "/api/search": {
                "get": {
                    "operationId": "search",
                    "summary": "Full-text search of listings, current and earlier text",
                    "security": secured,
                    "parameters": [
                        {
                            **_query("q", 'words; "a phrase"; OR; -word', TEXT, "身份证"),
                            "required": True,
                        },
                        _query("source", "only this source", TEXT),
                        _query(
                            "category",
                            "only this category",
                            {"type": "string", "enum": list(CATEGORIES)},
                        ),
                        _query("since", "last seen since (7d, a date)", TEXT),
                        _query(
                            "limit",
                            "results",
                            {"type": "integer", "minimum": 1, "maximum": 100},
                            20,
                        ),
                        _query(
                            "sort", "order", {"type": "string", "enum": ["relevance", "recent"]}
                        ),
                    ],  # fmt: skip
                    "responses": {"200": _answer("the listings found", "SearchResults"), **ERRORS},
                }
            },
            "/api/stats": {
                "get": {
                    "operationId": "getStats",
                    "summary": "Alerts per day, confirm and dismiss rates, throughput, health",
                    "security": secured,
                    "parameters": [
                        _query("since", "since (default 30d)", TEXT, "30d"),
                        _query(
                            "tz", "time zone days are cut in (default Asia/Shanghai)", TEXT, "UTC"
                        ),
                    ],  # fmt: skip
                    "responses": {"200": _answer("the figures", "Stats"), **ERRORS},
                }
            },
        },
    }
