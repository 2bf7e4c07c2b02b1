"""What changed: a listing's tracked state, its content hash, field diffs, and how a run ended.

Pure functions: the store applies what they decide (monitor.alerting.ingest ties the two together).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from monitor.store.fields import TRACKED_FIELDS

# Fields shown in a "changed" alert's diff, in the order a reviewer reads them.
DIFF_FIELDS = ("title", "price_text", "volume_text", "seller", "contacts", "categories", "text")

# A run that parses fewer than this share of the listings the last complete run parsed
# (when that was at least SHAPE_MIN_ITEMS) has probably met a page that changed shape.
SHAPE_DROP_RATIO = 0.2
SHAPE_MIN_ITEMS = 5

_PRICE_FIELD = re.compile(
    r"(?P<pre>[¥￥$]|USDT|U\b)?\s*(?P<amount>\d+(?:\.\d+)?)\s*(?P<post>元|块|USDT|U|BTC|刀)?", re.I
)


def as_dict(value: Any) -> Any:
    """A MatchResult (or any dataclass) as plain data; dicts pass through."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def parse_price_field(text: str | None) -> tuple[float | None, str | None]:
    """A price read by a selector (¥800, 800元, 50U) as (amount, currency)."""
    if not text:
        return None, None
    found = _PRICE_FIELD.search(text.replace(",", "").replace("，", ""))
    if not found:
        return None, None
    marker = (found["pre"] or found["post"] or "").upper()
    currency = {"U": "USDT", "USDT": "USDT", "BTC": "BTC", "$": "USD", "刀": "USD"}.get(
        marker, "CNY"
    )
    return float(found["amount"]), currency


def _field(obj: Any, name: str, default: Any = None) -> Any:
    """A field of a matcher result, whether it is a dataclass or plain data."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def listing_state(item: dict[str, Any]) -> dict[str, Any]:
    """The stored state of a listing as seen now, from a spider item with its match.

    On the hot path of every sweep (most listings are unchanged), so it reads the match
    result in place instead of converting it."""
    match = item.get("match") or {}
    extraction = _field(match, "extraction") or {}
    prices = _field(extraction, "prices") or []
    volumes = _field(extraction, "volumes") or []
    price_text = item.get("price_text") or None
    price, currency = parse_price_field(price_text) if price_text else (None, None)
    if price is None and prices:
        price_text = price_text or _field(prices[0], "text")
        price, currency = _field(prices[0], "amount"), _field(prices[0], "currency")
    volume = max(volumes, key=lambda v: _field(v, "count")) if volumes else None
    contacts = sorted(
        {f"{_field(c, 'kind')}:{_field(c, 'value')}" for c in _field(extraction, "contacts") or []}
    )
    categories = sorted(_field(match, "categories") or [])
    state = {
        "url": item.get("url"),
        "title": (item.get("title") or "").strip(),
        "text": (item.get("text") or "").strip(),
        "seller": item.get("seller") or None,
        "price_text": price_text,
        "price": price,
        "currency": currency,
        "volume": _field(volume, "count") if volume else None,
        "volume_text": _field(volume, "text") if volume else None,
        "contacts": json.dumps(contacts, ensure_ascii=False) if contacts else None,
        "categories": json.dumps(categories, ensure_ascii=False) if categories else "[]",
        "score": float(_field(match, "score") or 0.0),
        "matched": 1 if _field(match, "alert") else 0,
        "posted_at": item.get("posted_at") or None,
    }
    state["content_hash"] = content_hash(state)
    # The spider's extra fields (a message's forward, signature, poll: docs/schema.md), kept
    # with the listing but not tracked: they never make a version on their own.
    extra = item.get("extra")
    state["extra"] = json.dumps(extra, ensure_ascii=False, sort_keys=True) if extra else None
    # Where the page as fetched is kept (not tracked: a refetch is not a change).
    evidence = item.get("evidence")
    state["evidence"] = json.dumps(evidence, ensure_ascii=False) if evidence else None
    return state


def content_hash(state: dict[str, Any]) -> str:
    """A hash over the tracked fields only: an unchanged listing hashes the same."""
    payload = "\x1f".join("\x00" if v is None else str(v) for v in map(state.get, TRACKED_FIELDS))
    return hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()


def field_diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for each tracked field whose value changed."""
    diff = {}
    for name in DIFF_FIELDS:
        if old.get(name) != new.get(name):
            diff[name] = [old.get(name), new.get(name)]
    return diff


@dataclass(frozen=True)
class ListCoverage:
    """How much of a source's list a sweep read: list pages that answered, and those of them
    that held no listing. A sweep that read less than the last complete one may not judge
    removals: what it did not read, it did not see."""

    pages: int | None  # None: not counted (a run recorded before heishi counted them)
    empty_pages: int

    @classmethod
    def of_stats(cls, stats: dict[str, Any]) -> ListCoverage:
        pages = stats.get("heishi/list_pages")
        return cls(
            int(pages) if pages is not None else None, int(stats.get("heishi/empty_list_pages", 0))
        )

    @classmethod
    def of_run(cls, run: dict[str, Any]) -> ListCoverage:
        """From a stored run: its columns, else (an older run) its stats."""
        if run.get("list_pages") is not None:
            return cls(int(run["list_pages"]), int(run.get("empty_list_pages") or 0))
        try:
            stats = json.loads(run.get("stats") or "{}")
        except ValueError:
            stats = {}
        return cls.of_stats(stats if isinstance(stats, dict) else {})

    def columns(self) -> dict[str, int | None]:
        return {"list_pages": self.pages, "empty_list_pages": self.empty_pages}

    def shortfall(self, last: ListCoverage) -> str | None:
        """Why this coverage is less than `last`'s, or None when it is not."""
        problems = []
        if self.empty_pages > last.empty_pages:
            problems.append(
                f"{self.empty_pages} list page(s) had no listings where the last complete "
                f"sweep had {last.empty_pages} such"
            )
        if self.pages is not None and last.pages is not None and self.pages < last.pages:
            problems.append(
                f"read {self.pages} list page(s) where the last complete sweep read {last.pages}"
            )
        if not problems:
            return None
        return (
            "; ".join(problems) + ": part of the list may be missing (if the site's list really "
            "got shorter, set list_may_shrink = true in its site file)"
        )


@dataclass(frozen=True)
class RunVerdict:
    status: str  # ok | partial | failed | interrupted (stopped: neither success nor failure)
    error: str | None
    shape_changed: bool = False


def judge_run(
    stats: dict[str, Any],
    finish_reason: str | None,
    recorded: int,
    last_good_items: int | None,
    last_good_coverage: ListCoverage | None = None,
    *,
    list_may_shrink: bool = False,
) -> RunVerdict:
    """How a sweep ended. Only `ok` allows listings it did not see to be marked removed, and
    only a sweep that read as much of the list as the last complete one is `ok`."""
    problems = []
    list_errors = int(stats.get("heishi/list_page_errors", 0))
    detail_errors = int(stats.get("heishi/detail_page_errors", 0))
    blocked = int(stats.get("heishi/blocked_pages", 0))
    gave_up = int(stats.get("retry/max_reached", 0))
    ignored = sum(
        int(v)
        for k, v in stats.items()
        if k.startswith("httperror/response_ignored_status_count/")
        and k.rsplit("/", 1)[1] not in ("404", "410")
    )
    exceptions = sum(int(v) for k, v in stats.items() if k.startswith("spider_exceptions/"))
    logged_errors = int(stats.get("log_count/ERROR", 0))
    if finish_reason == "shutdown":
        # SIGTERM or SIGINT (a monitor stopping, Ctrl-C): the sweep is incomplete, which
        # says nothing about the source. A timeout is told apart by the runner (monitor.running.sweep).
        return RunVerdict("interrupted", "crawl stopped (SIGTERM or SIGINT) before it finished")
    if finish_reason not in (None, "finished"):
        problems.append(f"crawl ended early ({finish_reason})")
    if list_errors:
        problems.append(f"{list_errors} list page(s) failed")
    if detail_errors:
        # A listing whose page failed was not seen: without this it would look removed.
        problems.append(f"{detail_errors} listing page(s) failed")
    if blocked:
        problems.append(f"{blocked} page(s) were a log-in or captcha wall")
    if gave_up:
        problems.append(f"gave up on {gave_up} request(s) after retries")
    if ignored:
        problems.append(f"{ignored} error response(s)")
    if exceptions:
        problems.append(f"{exceptions} spider exception(s)")
    if logged_errors and not problems:
        problems.append(f"{logged_errors} error(s) logged")
    if problems:
        if stats.get("heishi/first_error"):
            problems.append(f"first: {stats['heishi/first_error']}")
        status = "failed" if recorded == 0 else "partial"
        return RunVerdict(status, "; ".join(problems))
    if (
        last_good_items is not None
        and last_good_items >= SHAPE_MIN_ITEMS
        and recorded < last_good_items * SHAPE_DROP_RATIO
    ):
        return RunVerdict(
            "failed",
            f"parsed {recorded} listing(s) where the last complete sweep parsed "
            f"{last_good_items}: the pages may have changed shape",
            shape_changed=True,
        )
    if last_good_coverage is not None and not list_may_shrink:
        shortfall = ListCoverage.of_stats(stats).shortfall(last_good_coverage)
        if shortfall:
            return RunVerdict("partial" if recorded else "failed", shortfall, shape_changed=True)
    return RunVerdict("ok", None)
