"""Notifications: alerts queued in the outbox (with their alert, atomically) and sent through
Apprise with retries and backoff, one message each or as a digest per route.

Every title and body is made inert just before it is sent (monitor.alerting.notify_text.neutralise: no
live link, mention, markup or control character from a listing) and handed to Apprise as
plain text, so channels that render HTML or Markdown escape it for themselves."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from monitor import settings
from monitor.alerting.notify_config import DEFAULT_TIMEOUT, NotifyConfig, Route, load_notify_config
from monitor.alerting.notify_text import neutralise
from monitor.store import Store, open_store, utc_now
from monitor.store.outbox import later
from monitor.vocabulary import severity_rank

log = logging.getLogger(__name__)

LEASE_SECONDS = 300
KIND_WORDS = {
    "new": "new listing",
    "changed": "listing changed",
    "removed": "listing removed",
    "relisted": "listing relisted",
    "reposted": "offer reposted",
    "retrohunt": "found by retro-hunt",
    "actor_seen": "watched actor seen",
    "source_failing": "source failing",
    "source_changed_shape": "source changed shape",
    "store_full": "store's disk full",
}
# Apprise's message types, by severity.
NOTIFY_TYPE = {"low": "info", "medium": "info", "high": "warning", "critical": "failure"}
# Schemes that take extra HTTP headers (`+Header=value`): the idempotency key travels along.
HEADER_SCHEMES = ("json", "jsons", "xml", "xmls", "form", "forms")
# Length caps (characters): a listing's fields, one message, a digest of many.
TITLE_CHARS = 250
FIELD_CHARS = 200
BODY_CHARS = 4000
DIGEST_CHARS = 16000


def base_url(given: settings.Settings | None = None) -> str | None:
    """$HEISHI_BASE_URL, the address people open the review web page at (e.g.
    https://heishi.example.com or .../heishi), or None when unset or not an http(s) address
    (a warning then says so: messages go out without their link)."""
    value = (given or settings.current()).base_url
    if not value:
        return None
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or parts.query
        or parts.fragment
        or any(c.isspace() or not c.isprintable() for c in value)
    ):
        log.warning("HEISHI_BASE_URL %r is not an http(s) address: messages carry no link", value)
        return None
    return value.rstrip("/")


def alert_link(alert_id: int, base: str | None = None) -> str | None:
    """The alert's page in the review web page, when HEISHI_BASE_URL says where that is."""
    base = base if base is not None else base_url()
    return f"{base}/alerts/{int(alert_id)}" if base else None


def alert_message(alert: dict[str, Any], listing: dict[str, Any] | None) -> dict[str, Any]:
    """Title and body of the message for one alert, as text a person reads anywhere, and
    the link to its page (sent as it is, after the text is made inert)."""
    listing = listing or {}
    severity = alert.get("severity") or "medium"
    what = KIND_WORDS.get(alert["kind"], alert["kind"])
    title = f"[{severity.upper()}] {what}: {alert.get('title') or alert.get('source')}"
    lines = [f"{what} on {alert.get('source')}"]
    categories = alert.get("categories")
    if isinstance(categories, str):
        categories = json.loads(categories or "[]")
    facts = []
    if categories:
        facts.append("categories: " + ", ".join(categories))
    for label, key in (("price", "price_text"), ("volume", "volume_text"), ("seller", "seller")):
        if listing.get(key):
            facts.append(f"{label}: {str(listing[key])[:FIELD_CHARS]}")
    if facts:
        lines.append(" · ".join(facts))
    diff = alert.get("diff")
    if isinstance(diff, str):
        diff = json.loads(diff)
    for name, (old, new) in (diff or {}).items():
        if name not in ("text",):
            lines.append(f"{name}: {str(old)[:FIELD_CHARS]} → {str(new)[:FIELD_CHARS]}")
    if alert.get("summary"):
        lines.append(str(alert["summary"])[:400])
    if listing.get("url"):
        lines.append(str(listing["url"])[:FIELD_CHARS])
    message = {
        "title": title[:TITLE_CHARS],
        "body": "\n".join(lines)[:BODY_CHARS],
        "severity": severity,
        "kind": alert["kind"],
        "source": alert.get("source"),
    }
    link = alert_link(alert["id"]) if alert.get("id") is not None else None
    if link:
        message["link"] = link
    return message


def enqueue_alert(
    store: Store,
    config: NotifyConfig,
    alert_id: int,
    alert: dict[str, Any],
    listing: dict[str, Any] | None,
    now: str,
) -> int:
    """Queue the messages of a new alert for every route that wants it (call inside the
    alert's transaction). Returns how many were queued."""
    if not config.routes:
        return 0
    categories = alert.get("categories") or []
    if isinstance(categories, str):
        categories = json.loads(categories or "[]")
    brands = alert.get("brands") or []
    if isinstance(brands, str):
        brands = json.loads(brands or "[]")
    queued = 0
    message = None
    for route in config.routes:
        if not route.wants(alert, categories, brands):
            continue
        message = message or alert_message({**alert, "id": alert_id}, listing)
        for index in range(len(route.urls)):
            # The store's id makes the key unique across stores and installs: a receiver
            # that drops repeated keys never drops another store's alert.
            key = f"heishi:{store.outbox.store_id()}:alert:{alert_id}:{route.name}:{index}"
            payload = {**message, "alert_id": alert_id, "url_index": index, "key": key}
            queued += store.outbox.enqueue(alert_id, route.name, key, payload, now)
    return queued


@dataclass
class DrainResult:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    waiting: int = 0  # digest rows held until their digest is due
    deferred: int = 0  # not tried: their receiver failed earlier in this drain
    errors: list[str] = field(default_factory=list)


def _with_params(url: str, key: str, timeout: float) -> str:
    """The URL as sent: the idempotency key as a header (webhook schemes), and the route's
    timeout for connecting and for the answer (Apprise's `cto`/`rto`, unless the URL sets
    them; its own default of 4 s makes a slow receiver get every message again)."""
    params = []
    scheme = url.split("://", 1)[0].lower()
    if scheme in HEADER_SCHEMES:
        params.append("+X-Heishi-Idempotency-Key=" + quote(key))
    query = url.split("?", 1)[1] if "?" in url else ""
    given = {part.split("=", 1)[0] for part in query.split("&") if part}
    if "rto" not in given:
        params.append(f"rto={timeout:g}")
    if "cto" not in given:
        params.append(f"cto={min(timeout, 30):g}")
    return url + ("&" if "?" in url else "?") + "&".join(params)


def _send(
    url: str,
    key: str,
    title: str,
    body: str,
    severity: str,
    limit: int = BODY_CHARS,
    timeout: float = DEFAULT_TIMEOUT,
    link: str | None = None,
    inert: bool = True,
) -> str | None:
    """Send one message through Apprise, made inert, as plain text, waiting `timeout` for
    the receiver; None when it went, else why not. `link` (the alert's page, from our own
    setting) is added after the text is made inert, so it stays a working address; a body
    already made inert part by part (a digest) is sent with `inert` False."""
    import apprise
    from apprise import NotifyFormat

    url = _with_params(url, key, timeout)
    sender = apprise.Apprise()
    if not sender.add(url):
        return "not a valid Apprise URL"
    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
        text = neutralise(body, limit) if inert else body
        if link:
            text = f"{text}\n{link}"
        ok = sender.notify(
            title=neutralise(title, TITLE_CHARS),
            body=text,
            body_format=NotifyFormat.TEXT,
            notify_type=NOTIFY_TYPE.get(severity, "info"),
        )
        problems = captured.getvalue().strip()
    if ok:
        return None
    return problems.splitlines()[-1] if problems else "the receiver did not accept it"


def _retry_at(config: NotifyConfig, attempts: int, now: str, retry_since: str | None) -> str | None:
    """When to try again after a failed attempt (the `attempts`-th before it): the backoff
    doubles up to `backoff_max` and stays there, so a receiver that is down for days gets
    the message when it is back; None (dead) after `give_up_after` of failures, or after
    `max_attempts` when set. `heishi notify retry --dead` sends dead ones again."""
    if config.max_attempts is not None and attempts + 1 >= config.max_attempts:
        return None
    if retry_since and later(retry_since, config.give_up_after) <= now:
        return None  # failing since `retry_since`: for longer than give_up_after
    delay = min(config.backoff * (2 ** min(attempts, 30)), config.backoff_max)
    return later(now, delay)


def drain_outbox(
    db: str | Path,
    config: NotifyConfig | None = None,
    *,
    now: str | None = None,
    limit: int = 200,
) -> DrainResult:
    """Send what is due in the outbox at `db`; failures are retried later with backoff.
    A receiver that fails is not tried again in this drain: its other messages wait for
    the same retry (no attempt counted), so an outage costs one timeout per drain."""
    config = config if config is not None else load_notify_config()
    now = now or utc_now()
    result = DrainResult()
    with open_store(db) as store:
        with store.transaction():
            claimed = store.outbox.claim(now, limit, LEASE_SECONDS)
        singles: list[dict[str, Any]] = []
        digests: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
        for row in claimed:
            row["payload"] = json.loads(row["payload"] or "{}")
            route = config.route(row["route"])
            if route is None:
                with store.transaction():
                    store.outbox.mark_failed(
                        [row["id"]], f"route {row['route']!r} is no longer configured", None
                    )
                result.dead += 1
                continue
            if route.digest_seconds:
                digests[(route.name, row["payload"].get("url_index", 0))].append(row)
            else:
                singles.append(row)
        down: dict[tuple[str, int], str] = {}  # receivers that failed in this drain: retry at
        held = [r["id"] for r in singles]
        for row in singles:
            route = config.route(row["route"])
            assert route is not None
            payload = row["payload"]
            index = min(payload.get("url_index", 0), len(route.urls) - 1)
            held.remove(row["id"])
            if (route.name, index) in down:
                with store.transaction():
                    store.outbox.release([row["id"]], down[(route.name, index)])
                result.deferred += 1
                continue
            if held:  # this drain keeps the rest while it waits for a slow receiver
                store.outbox.extend_claims(held, later(max(now, utc_now()), LEASE_SECONDS))
            error = _send(
                route.urls[index],
                row["idempotency_key"],
                payload["title"],
                payload["body"],
                payload.get("severity", "medium"),
                timeout=route.timeout,
                link=_checked_link(payload),
            )
            retry_at = _record([row], error, config, store, now, result)
            if error is not None:
                down[(route.name, index)] = retry_at or later(now, config.backoff)
        for (name, index), group in digests.items():
            route = config.route(name)
            assert route is not None
            due_at = later(min(r["created_at"] for r in group), route.digest_seconds or 0)
            if due_at > now and not any(r["attempts"] for r in group):
                with store.transaction():
                    store.outbox.release([r["id"] for r in group], due_at)
                result.waiting += len(group)
                continue
            title, body = _digest(group)
            key = f"heishi:{store.outbox.store_id()}:digest:{name}:{index}:{group[0]['id']}-{group[-1]['id']}"
            error = _send(
                route.urls[index],
                key,
                title,
                body,
                max((r["payload"].get("severity", "low") for r in group), key=severity_rank),
                DIGEST_CHARS,
                timeout=route.timeout,
                inert=False,
            )
            _record(group, error, config, store, now, result)
    return result


def send_now(
    *,
    kind: str,
    title: str,
    body: str,
    severity: str,
    key: str,
    config: NotifyConfig | None = None,
) -> list[str]:
    """Send one message straight to every route that wants an alert of `kind` and
    `severity`, without the outbox: for what stops the outbox itself (the store's disk is
    full). Returns the errors; nothing is retried."""
    from monitor.errors import ConfigError

    try:
        config = config if config is not None else load_notify_config()
    except ConfigError as exc:
        return [str(exc)]
    errors = []
    for route in config.routes:
        if not route.wants({"kind": kind, "severity": severity}, [], []):
            continue
        for index, url in enumerate(route.urls):
            error = _send(
                url, f"{key}:{route.name}:{index}", title, body, severity, timeout=route.timeout
            )
            if error:
                errors.append(f"route {route.name}: {error}")
    return errors


def _checked_link(payload: dict[str, Any]) -> str | None:
    """The payload's link, if it is one heishi made (an http(s) address of one alert's page):
    a row written by hand into the outbox does not get a live link out."""
    link = payload.get("link")
    if not isinstance(link, str) or len(link) > 2000:
        return None
    parts = urlsplit(link)
    if parts.scheme not in ("http", "https") or not parts.path.rsplit("/alerts/", 1)[-1].isdigit():
        return None
    if any(c.isspace() or not c.isprintable() for c in link):
        return None
    return link


def _digest(group: list[dict[str, Any]]) -> tuple[str, str]:
    """One message for a group of alerts: as many as fit in DIGEST_CHARS, then how many more."""
    title = f"heishi: {len(group)} alert(s)"
    parts: list[str] = []
    size = 0
    for shown, row in enumerate(group):
        part = neutralise(f"{row['payload']['title']}\n{row['payload']['body']}", BODY_CHARS)
        link = _checked_link(row["payload"])
        if link:
            part = f"{part}\n{link}"
        if parts and size + len(part) + 2 > DIGEST_CHARS - 100:
            parts.append(
                neutralise(f"… and {len(group) - shown} more alert(s): see `heishi alerts`")
            )
            break
        parts.append(part)
        size += len(part) + 2
    return title, "\n\n".join(parts)


def _record(
    group: list[dict[str, Any]],
    error: str | None,
    config: NotifyConfig,
    store: Store,
    now: str,
    result: DrainResult,
) -> str | None:
    """Record an attempt at sending `group`; returns when it is tried again (None: sent,
    or given up)."""
    ids = [r["id"] for r in group]
    with store.transaction():
        if error is None:
            store.outbox.mark_sent(ids, now)
            result.sent += len(ids)
            return None
        since = min((r.get("retry_since") or now) for r in group)  # failing since
        retry_at = _retry_at(config, max(r["attempts"] for r in group), now, since)
        store.outbox.mark_failed(ids, error, retry_at, now)
    log.warning("notification %s failed: %s", ids, error)
    result.errors.append(error)
    if retry_at is None:
        result.dead += len(ids)
    else:
        result.failed += len(ids)
    return retry_at


__all__ = ["DrainResult", "Route", "alert_message", "drain_outbox", "enqueue_alert"]
